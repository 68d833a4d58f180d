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
from .common import check_body, split_upload
from .documents import load_json
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
    document, media = _split_body(body, content_type, limits)
    text = decode_utf8(document)
    value = load_json(text, limits)
    top = Obj.of(value, "", lenient=False)
    if "events" not in top.data:
        event = _parse_event(top.data, "", default_device, media, attach_all=True, raw=raw_text(text, limits))
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
    key = own_id or digest(canonical_json({**event.data, "device": device}))
    return NormalizedEvent(
        vendor=VENDOR,
        kind=kind,
        device_ref=device,
        occurred_at=occurred_at,
        occurred_at_raw=time_text,
        external_id=f"{VENDOR}:{device}:{key}",
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
