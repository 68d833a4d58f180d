"""Linli's own generic JSON event format (docs/devices/generic-event-format.md), over HTTP and MQTT.

One event object, or {"device": ..., "events": [...]} with 1 to 1,000 events. In a batch every event is checked
on its own: a bad one becomes a Reject with its index and reason, the others go through.
Pictures come as further parts of a multipart/form-data body and are named by an event's "media" list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
import orjson

from .base import (
    DEFAULT_LIMITS,
    LIVENESS_KINDS,
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
    # strictly decoded text holds no surrogate: short and without NUL, raw_text would return it unchanged
    raw = text if len(text) <= limits.max_raw and "\x00" not in text else raw_text(text, limits)
    if not media and default_device:
        try:
            event = _fast_event(text, default_device, raw, limits)
        except Quarantine:
            event = None  # the full reading below gives the error, with its field path
        if event is not None:
            return ParseResult([event], [])
    value = load_json_fast(text, limits)
    top = Obj.of(value, "", lenient=False)
    if "events" not in top.data:
        return ParseResult([_parse_event(top.data, "", default_device, media, attach_all=True, raw=raw)], [])
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
        external_id=_external_id(device, own_id, kind, time_text, lambda: event.data),
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
class _FastSubject(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    ref: str


class _FastEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The common shape of one event, typed: msgspec checks the keys and the JSON types in C while it decodes.
    UNSET: the key is absent (null and absent read the same below, as in the full reading)."""

    kind: str
    time: str
    id: str | None | msgspec.UnsetType = msgspec.UNSET
    subject: _FastSubject | None | msgspec.UnsetType = msgspec.UNSET
    score: float | None | msgspec.UnsetType = msgspec.UNSET  # a JSON integer too (made a float), not a boolean
    value: float | None | msgspec.UnsetType = msgspec.UNSET
    zone: str | None | msgspec.UnsetType = msgspec.UNSET
    direction: str | None | msgspec.UnsetType = msgspec.UNSET
    state: str | None | msgspec.UnsetType = msgspec.UNSET
    attrs: dict[str, str | int | float | bool | None] | None | msgspec.UnsetType = msgspec.UNSET


_decode_fast = msgspec.json.Decoder(_FastEvent).decode
# linli.devices.adapters.common.KEY_END, capturing a LONG_NUMBER right after the colon
_KEY_END_NUMBER = re.compile(r'"[ \t\n\r]*:([ \t\n\r]*[-+.0-9eE]{19})?')
_FAST_FIELDS = len(_FastEvent.__struct_fields__)
_FAST_MAX_NODES = 1 + _FAST_FIELDS + len(_FastSubject.__struct_fields__) + MAX_ATTRS  # the largest such tree
_device_refs: dict[str, str] = {}
_plates: dict[str, str] = {}
_times: dict[str, Any] = {}  # time text -> the moment it reads as (parse_iso_time is pure): a busy site sends the
# same second, often the same millisecond, in many events at once
TIMES_MAX = 50_000


def _cached(cache: dict[str, str], key: str, make: Any) -> Any:
    value = cache.get(key)
    if value is None:
        value = make(key)
        if value is not None:
            if len(cache) >= 50_000:
                cache.clear()
            cache[key] = value
    return value


def _fast_event(text: str, default_device: str, raw: str, limits: Limits) -> NormalizedEvent | None:
    """The common shape of one event (the sender from the topic or the login, no device, unit or media, subject
    without ref_type, values already in their canonical spelling) decoded by msgspec into a typed struct and read
    with plain checks: exactly the event ``_parse_event`` makes of the strictly loaded text. None for anything else
    (the caller reads the text the full way); a Quarantine raised here is not the answer either (the full reading
    names the error with its field path).

    What the strict loader checks and a typed decoder does not is settled on the text: no backslash (so no escape
    that could make NUL, a surrogate or a quote inside a string: every quote delimits a string and every ``":``
    ends a key), a tree the limits allow, and, once decoded, no more key ends in the text than keys in the struct (a
    duplicate key, which the decoder would let overwrite) and no long number after any of them (read differently or
    refused by the strict loader; in this shape every number is a member's value)."""
    if "\\" in text or len(text) > limits.max_string or limits.max_depth < 3 or limits.max_nodes < _FAST_MAX_NODES:
        return None
    try:
        event = _decode_fast(text)
    except msgspec.MsgspecError:
        return None
    subject, attrs = event.subject, event.attrs
    keys = _FAST_FIELDS - msgspec.structs.astuple(event).count(msgspec.UNSET)
    keys += (2 if type(subject) is _FastSubject else 0) + (len(attrs) if type(attrs) is dict else 0)
    # one scan for both: every key end, each with the long number that follows it (in this shape a number is always
    # a member's value, so it always follows a key end)
    ends = _KEY_END_NUMBER.findall(text)
    if len(ends) != keys or any(ends):
        return None
    kind = _KINDS.get(event.kind)
    time_text = event.time.strip()
    if kind is None or not time_text or len(time_text) > 64:
        return None
    device = _device_refs.get(default_device) or _cached(_device_refs, default_device,
                                                         lambda ref: normalize_device_ref(ref, "device"))
    occurred_at = _times.get(time_text)
    if occurred_at is None:
        occurred_at = parse_iso_time(time_text, "time")  # a bad time raises: the full reading names it
        if len(_times) >= TIMES_MAX:
            _times.clear()
        _times[time_text] = occurred_at
    if type(subject) is not _FastSubject:
        subject_kind, subject_ref, ref_type = SubjectKind.NONE, "", SubjectRefType.NONE
    else:
        subject_kind = SUBJECT_KINDS.get(subject.kind)
        ref = subject.ref.strip()
        if subject_kind is None or not ref or len(ref) > 64:
            return None
        ref_type = DEFAULT_REF_TYPES[subject_kind]
        if subject_kind is SubjectKind.PLATE:
            ref = _cached(_plates, ref, normalize_plate)
            if ref is None:
                return None
        subject_ref = ref
    score = event.score
    score = None if score is None or score is msgspec.UNSET else normalize_score(score, "score")
    value = event.value
    unit = ""
    if value is None or value is msgspec.UNSET:
        value = None
        if kind in VALUE_REQUIRED:
            return None
    else:
        allowed = UNITS.get(kind)
        unit = allowed[0] if allowed else ""
        low, high = VALUE_RANGES.get(unit, (float("-inf"), float("inf")))
        if not low <= value <= high:
            return None
    own_id = event.id
    if own_id is None or own_id is msgspec.UNSET:
        own_id = None
    else:
        own_id = own_id.strip()
        if len(own_id) > 128:
            return None
    zone = event.zone
    if zone is None or zone is msgspec.UNSET:
        zone = ""
    elif len(zone := zone.strip()) > 64:
        return None
    direction = event.direction
    if direction is None or direction is msgspec.UNSET:
        direction = Direction.UNKNOWN
    elif (direction := DIRECTIONS.get(direction)) is None:
        return None
    state = event.state
    if state is None or state is msgspec.UNSET:
        state = State.PULSE
    elif (state := STATES.get(state)) is None:
        return None
    if attrs is None or attrs is msgspec.UNSET:
        attrs = {}
    else:
        if len(attrs) > MAX_ATTRS:
            return None
        for key, item in attrs.items():
            if len(key) > 64 or (type(item) is str and len(item) > 256):
                return None
    # no id of its own: the key is a digest of the event as the text gives it (orjson reads this text exactly as
    # the strict loader: no escape, no long number, no duplicate key)
    external_id = _external_id(device, own_id, kind, time_text, lambda: orjson.loads(text))
    # positional, in the dataclass's field order: keyword arguments cost three times as much for 18 fields
    return NormalizedEvent(VENDOR, kind, device, occurred_at, time_text, external_id, subject_kind, subject_ref,
                           ref_type, score, value, unit, zone, direction, state, attrs, (), raw)


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


def _external_id(device: str, own_id: str | None, kind: EventKind, time_text: str, data: Callable[[], dict]) -> str:
    """The idempotency key of a generic event, the same on the full and the fast path: the sender's own id, else
    a digest of the event's canonical JSON (``data()``) with its device. A heartbeat or online/offline notice is
    never stored under its key (it moves the device's state; ingest keys the events it writes for that itself):
    its kind and time stand in, without the digest, which cost more than the rest of reading the notice."""
    if own_id:
        return f"{VENDOR}:{device}:{own_id}"
    if kind in LIVENESS_KINDS:
        return f"{VENDOR}:{device}:{kind._value_}@{time_text}"
    return f"{VENDOR}:{device}:{digest(canonical_json({**data(), 'device': device}))}"
