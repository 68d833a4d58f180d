"""Linli's own generic JSON event format (docs/devices/generic-event-format.md), over HTTP and MQTT.

One event object, or {"device": ..., "events": [...]} with 1 to 1,000 events. In a batch every event is checked
on its own: a bad one becomes a Reject with its index and reason, the others go through.
Pictures come as further parts of a multipart/form-data body and are named by an event's "media" list.
"""

from __future__ import annotations

from typing import Any

from .base import (
    DEFAULT_LIMITS,
    AttrValue,
    Direction,
    EventKind,
    Limits,
    Media,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reason,
    Reject,
    State,
    SubjectKind,
    SubjectRefType,
    clip,
)
from .common import check_body, load_json_fast, split_upload
from .fields import Obj
from .values import (
    canonical_json,
    decode_utf8,
    digest,
    normalize_device_ref,
    normalize_plate,
    normalize_score,
    parse_iso_time,
    raw_text,
)

VENDOR = "generic"
EVENT_FIELDS = frozenset(
    {
        "device",
        "kind",
        "time",
        "id",
        "subject",
        "score",
        "value",
        "unit",
        "zone",
        "direction",
        "state",
        "attrs",
        "media",
    }
)
BATCH_FIELDS = frozenset({"device", "events"})
SUBJECT_FIELDS = frozenset({"kind", "ref", "ref_type"})
MAX_ATTRS = 32

# Allowed units per kind; the first is the default when the event gives none.
UNITS: dict[EventKind, tuple[str, ...]] = {
    EventKind.WRISTBAND_HEART_RATE: ("bpm",),
    EventKind.WRISTBAND_SPO2: ("%",),
    EventKind.SENSOR_GAS: ("ppm", "%LEL"),
    EventKind.SENSOR_SMOKE: ("%/m", "dB/m"),
    EventKind.DEVICE_LOW_BATTERY: ("%",),
}
VALUE_REQUIRED = frozenset({EventKind.WRISTBAND_HEART_RATE, EventKind.WRISTBAND_SPO2})
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "bpm": (0, 300),
    "%": (0, 100),
    "ppm": (0, 1_000_000),
    "%LEL": (0, 100),
    "%/m": (0, 100),
    "dB/m": (0, 100),
}
SUBJECT_KINDS = {"resident": SubjectKind.RESIDENT, "visitor": SubjectKind.VISITOR, "plate": SubjectKind.PLATE}
DEFAULT_REF_TYPES = {
    SubjectKind.RESIDENT: SubjectRefType.EMPLOYEE_NO,
    SubjectKind.VISITOR: SubjectRefType.VISITOR_PASS,
    SubjectKind.PLATE: SubjectRefType.PLATE,
}
REF_TYPES = {t.value: t for t in SubjectRefType if t is not SubjectRefType.NONE}
DIRECTIONS = {d.value: d for d in Direction}
STATES = {s.value: s for s in State}


def parse_generic(
    body: bytes,
    content_type: str = "application/json",
    *,
    default_device: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParseResult:
    """Parse a generic-format payload. default_device names the device for events that name none (the MQTT
    topic's device, or the authenticated device over HTTP). Raises Quarantine when the payload as a whole is bad."""
    check_body(body, limits)
    if content_type == "application/json":  # what _split_body makes of it, without the header parsing
        document, media = body, {}
    else:
        document, media = _split_body(body, content_type, limits)
    text = decode_utf8(document)
    value = load_json_fast(text, limits)
    top = Obj.of(value, "", lenient=False)
    if "events" not in top.data:
        # strictly decoded text holds no surrogate: short and without NUL, raw_text would return it unchanged
        raw = text if len(text) <= limits.max_raw and "\x00" not in text else raw_text(text, limits)
        event = None
        if not media and default_device:
            try:
                event = _fast_event(top.data, default_device, raw)
            except Quarantine:
                event = None  # the full reading below gives the error, with its field path
        if event is None:
            event = _parse_event(top.data, "", default_device, media, attach_all=True, raw=raw)
        return ParseResult([event], [])
    _only(top, BATCH_FIELDS)
    device = top.text("device", max_len=64) or default_device
    items = top.items("events")
    if not items:
        raise Quarantine.of(Reason.EMPTY_BATCH, "events")
    if len(items) > limits.max_events:
        raise Quarantine.of(Reason.TOO_MANY_EVENTS, "events", f"{len(items)} > {limits.max_events}")
    result = ParseResult([], [])
    for index, item in enumerate(items):
        raw = raw_text(canonical_json(item), limits)
        try:
            result.events.append(_parse_event(item, f"events[{index}]", device, media, attach_all=False, raw=raw))
        except Quarantine as exc:
            result.rejects.append(Reject.from_quarantine(index, exc, raw))
    return result


def _split_body(body: bytes, content_type: str, limits: Limits) -> tuple[bytes, dict[str, Media]]:
    """The JSON document and the pictures by name."""
    document, fmt, good, bad = split_upload(body, content_type, limits)
    if fmt != "json":
        raise Quarantine.of(Reason.UNSUPPORTED_CONTENT_TYPE, detail="the generic format is JSON")
    if bad:
        raise Quarantine.of(Reason.BAD_VALUE, clip(bad[0]), "a part is neither the JSON document nor a JPEG or PNG")
    return document, {picture.name: picture for picture in good}


def _only(obj: Obj, allowed: frozenset[str]) -> None:
    for key in obj.data:
        if key not in allowed:
            raise Quarantine.of(Reason.UNKNOWN_FIELD, obj.path(key))


def _parse_event(
    item: Any, where: str, default_device: str | None, media: dict[str, Media], *, attach_all: bool, raw: str
) -> NormalizedEvent:
    event = Obj.of(item, where, lenient=False)
    _only(event, EVENT_FIELDS)
    device_text = event.text("device", max_len=64) or default_device
    if not device_text:
        raise Quarantine.of(Reason.MISSING_DEVICE, event.path("device"))
    device = normalize_device_ref(device_text, event.path("device"))
    kind_text = event.text("kind", required=True, max_len=64) or ""
    if kind_text not in EventKind._value2member_map_:
        raise Quarantine.of(Reason.UNKNOWN_KIND, event.path("kind"), clip(kind_text))
    kind = EventKind(kind_text)
    time_text = event.text("time", required=True, max_len=64) or ""
    occurred_at = parse_iso_time(time_text, event.path("time"))
    subject_kind, subject_ref, ref_type = _subject(event.obj("subject"))
    score = event.number("score")
    value, unit = _measurement(event, kind)
    own_id = event.text("id", max_len=128)
    return NormalizedEvent(
        vendor=VENDOR,
        kind=kind,
        device_ref=device,
        occurred_at=occurred_at,
        occurred_at_raw=time_text,
        external_id=_external_id(device, own_id, event.data),
        subject_kind=subject_kind,
        subject_ref=subject_ref,
        subject_ref_type=ref_type,
        score=None if score is None else normalize_score(score, event.path("score")),
        value=value,
        unit=unit,
        zone=event.text("zone", max_len=64) or "",
        direction=event.choice("direction", DIRECTIONS, default=Direction.UNKNOWN),
        state=event.choice("state", STATES, default=State.PULSE),
        attrs=_attrs(event.obj("attrs")),
        media=_media(event, media, attach_all),
        raw=raw,
    )


_KINDS: dict[str, EventKind] = {k.value: k for k in EventKind}
_PLAIN_FIELDS = EVENT_FIELDS - {"device", "unit", "media"}  # the fields _fast_event reads itself
_FAST_SUBJECT_FIELDS = frozenset({"kind", "ref"})
_NUMBERS = (int, float)
_ATTR_TYPES = (str, int, float, bool, type(None))
_device_refs: dict[str, str] = {}
_plates: dict[str, str] = {}
_last_time: list = ["", None]


def _cached(cache: dict[str, str], key: str, make: Any) -> Any:
    value = cache.get(key)
    if value is None:
        value = make(key)
        if value is not None:
            if len(cache) >= 50_000:
                cache.clear()
            cache[key] = value
    return value


def _fast_event(data: dict[str, Any], default_device: str, raw: str) -> NormalizedEvent | None:
    """The common shape of one event (the sender from the topic or the login, no unit, no media, subject without
    ref_type, values already in their canonical spelling) read with plain checks: exactly the event
    ``_parse_event`` makes of it. None for anything else; a Quarantine raised here is not the answer either (the
    caller reads the payload again the full way, which names the error)."""
    if not data.keys() <= _PLAIN_FIELDS:
        return None
    device = _cached(_device_refs, default_device, lambda ref: normalize_device_ref(ref, "device"))
    kind_text = data.get("kind")
    if type(kind_text) is not str:
        return None
    kind = _KINDS.get(kind_text)
    time_text = data.get("time")
    if kind is None or type(time_text) is not str:
        return None
    time_text = time_text.strip()
    if not time_text or len(time_text) > 64:
        return None
    if _last_time[0] == time_text:
        occurred_at = _last_time[1]
    else:
        occurred_at = parse_iso_time(time_text, "time")
        _last_time[:] = [time_text, occurred_at]
    subject = data.get("subject")
    if subject is None:
        subject_kind, subject_ref, ref_type = SubjectKind.NONE, "", SubjectRefType.NONE
    else:
        if type(subject) is not dict or not subject.keys() <= _FAST_SUBJECT_FIELDS:
            return None
        subject_text, ref = subject.get("kind"), subject.get("ref")
        if type(subject_text) is not str or type(ref) is not str:
            return None
        subject_kind = SUBJECT_KINDS.get(subject_text)
        ref = ref.strip()
        if subject_kind is None or not ref or len(ref) > 64:
            return None
        ref_type = DEFAULT_REF_TYPES[subject_kind]
        if subject_kind is SubjectKind.PLATE:
            ref = _cached(_plates, ref, normalize_plate)
            if ref is None:
                return None
        subject_ref = ref
    score = data.get("score")
    if score is not None:
        if type(score) not in _NUMBERS:
            return None
        score = normalize_score(float(score), "score")
    value = data.get("value")
    unit = ""
    if value is None:
        if kind in VALUE_REQUIRED:
            return None
    else:
        if type(value) not in _NUMBERS:
            return None
        value = float(value)
        allowed = UNITS.get(kind)
        unit = allowed[0] if allowed else ""
        low, high = VALUE_RANGES.get(unit, (float("-inf"), float("inf")))
        if not low <= value <= high:
            return None
    own_id = data.get("id")
    if own_id is not None:
        if type(own_id) is not str:
            return None
        own_id = own_id.strip()
        if len(own_id) > 128:
            return None
    zone = data.get("zone")
    if zone is None:
        zone = ""
    elif type(zone) is not str or len(zone := zone.strip()) > 64:
        return None
    direction = data.get("direction")
    if direction is None:
        direction = Direction.UNKNOWN
    elif (direction := DIRECTIONS.get(direction) if type(direction) is str else None) is None:
        return None
    state = data.get("state")
    if state is None:
        state = State.PULSE
    elif (state := STATES.get(state) if type(state) is str else None) is None:
        return None
    attrs = data.get("attrs")
    if attrs is None:
        attrs = {}
    else:
        if type(attrs) is not dict or len(attrs) > MAX_ATTRS:
            return None
        for key, item in attrs.items():
            if len(key) > 64 or type(item) not in _ATTR_TYPES or (type(item) is str and len(item) > 256):
                return None
        attrs = dict(attrs)
    return NormalizedEvent(
        vendor=VENDOR,
        kind=kind,
        device_ref=device,
        occurred_at=occurred_at,
        occurred_at_raw=time_text,
        external_id=_external_id(device, own_id, data),
        subject_kind=subject_kind,
        subject_ref=subject_ref,
        subject_ref_type=ref_type,
        score=score,
        value=value,
        unit=unit,
        zone=zone,
        direction=direction,
        state=state,
        attrs=attrs,
        media=(),
        raw=raw,
    )


def _subject(subject: Obj | None) -> tuple[SubjectKind, str, SubjectRefType]:
    if subject is None:
        return SubjectKind.NONE, "", SubjectRefType.NONE
    _only(subject, SUBJECT_FIELDS)
    kind = subject.choice("kind", SUBJECT_KINDS)
    if kind is None:
        raise Quarantine.of(Reason.MISSING_FIELD, subject.path("kind"))
    ref = subject.text("ref", required=True, max_len=64) or ""
    ref_type = subject.choice("ref_type", REF_TYPES, default=DEFAULT_REF_TYPES[kind])
    if kind is SubjectKind.PLATE:
        plate = normalize_plate(ref)
        if plate is None:
            raise Quarantine.of(Reason.BAD_PLATE, subject.path("ref"), clip(ref))
        if ref_type is not SubjectRefType.PLATE:
            raise Quarantine.of(Reason.BAD_VALUE, subject.path("ref_type"), "a plate subject has ref_type plate")
        return kind, plate, ref_type
    if ref_type is SubjectRefType.PLATE:
        raise Quarantine.of(Reason.BAD_VALUE, subject.path("ref_type"), "ref_type plate needs kind plate")
    return kind, ref, ref_type


def _measurement(event: Obj, kind: EventKind) -> tuple[float | None, str]:
    value = event.number("value")
    unit = event.text("unit", max_len=16) or ""
    allowed = UNITS.get(kind)
    if value is None:
        if kind in VALUE_REQUIRED:
            raise Quarantine.of(Reason.MISSING_FIELD, event.path("value"))
        if unit:
            raise Quarantine.of(Reason.BAD_UNIT, event.path("unit"), "a unit needs a value")
        return None, ""
    if allowed:
        unit = unit or allowed[0]
        if unit not in allowed:
            raise Quarantine.of(Reason.BAD_UNIT, event.path("unit"), f"{clip(unit)}; allowed: {', '.join(allowed)}")
    low, high = VALUE_RANGES.get(unit, (float("-inf"), float("inf")))
    if not low <= value <= high:
        raise Quarantine.of(Reason.BAD_VALUE, event.path("value"), f"{value} {unit} is outside {low:g}..{high:g}")
    return value, unit


def _attrs(attrs: Obj | None) -> dict[str, AttrValue]:
    if attrs is None:
        return {}
    if len(attrs.data) > MAX_ATTRS:
        raise Quarantine.of(Reason.BAD_VALUE, attrs.where, f"at most {MAX_ATTRS} attributes")
    result: dict[str, AttrValue] = {}
    for key, value in attrs.data.items():
        if len(key) > 64:
            raise Quarantine.of(Reason.STRING_TOO_LONG, attrs.path(clip(key, 16)))
        if isinstance(value, str) and len(value) > 256:
            raise Quarantine.of(Reason.STRING_TOO_LONG, attrs.path(key))
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise Quarantine.of(Reason.WRONG_TYPE, attrs.path(key), "attributes are strings, numbers or booleans")
        result[key] = value
    return result


def _media(event: Obj, media: dict[str, Media], attach_all: bool) -> tuple[Media, ...]:
    if "media" not in event.data:
        return tuple(media.values()) if attach_all else ()
    chosen: list[Media] = []
    for name in event.strings("media", max_items=16, max_len=128):
        if name not in media:
            raise Quarantine.of(Reason.MEDIA_MISSING, event.path("media"), clip(name))
        chosen.append(media[name])
    return tuple(chosen)


def _external_id(device: str, own_id: str | None, data: dict) -> str:
    """The idempotency key of a generic event, the same on the full and the fast path: the sender's own id, else
    a digest of the event's canonical JSON with its device."""
    return f"{VENDOR}:{device}:{own_id or digest(canonical_json({**data, 'device': device}))}"
