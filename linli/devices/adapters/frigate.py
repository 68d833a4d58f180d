"""Frigate NVR over MQTT: `<prefix>/events` (tracked objects: new, update, end), `<prefix>/reviews` (the
de-duplicated items a person should look at) and `<prefix>/available` (online / offline). The prefix is `frigate`
unless Frigate's topic_prefix was changed.

Kinds come from the object's label and zones: a label table first (smoke, fire), then (label, zone) pairs with
"*" as a wildcard (a car in `fire_lane` -> camera.fire_lane, a person in any zone -> camera.intrusion), else
camera.object. Whether the object is stationary, and for how long it has been tracked, go into attrs for the
rules to judge ("stationary for at least N seconds").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .base import (
    DEFAULT_LIMITS,
    AttrValue,
    EventKind,
    Limits,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reason,
    State,
    SubjectKind,
    SubjectRefType,
    clip,
    kind_table,
)
from .common import check_body, compact_attrs
from .documents import load_json
from .fields import Obj
from .values import (
    canonical_json,
    decode_utf8,
    digest,
    ensure_aware,
    from_epoch,
    normalize_device_ref,
    normalize_plate,
    normalize_score,
    raw_text,
)

VENDOR = "frigate"
ANY = "*"
VEHICLES = ("car", "truck", "motorcycle", "bus")

FRIGATE_LABEL_KINDS: dict[str, EventKind | None] = {
    "fire": EventKind.CAMERA_SMOKE_FIRE,
    "smoke": EventKind.CAMERA_SMOKE_FIRE,
}
FRIGATE_ZONE_KINDS: dict[tuple[str, str], EventKind | None] = {
    **{(vehicle, "fire_lane"): EventKind.CAMERA_FIRE_LANE for vehicle in VEHICLES},
    **{(vehicle, "no_parking"): EventKind.CAMERA_ILLEGAL_PARKING for vehicle in VEHICLES},
    ("person", ANY): EventKind.CAMERA_INTRUSION,
}
EVENT_TYPES = {"new": State.START, "update": State.UPDATE, "end": State.END}
AVAILABILITY = {"online": EventKind.DEVICE_ONLINE, "offline": EventKind.DEVICE_OFFLINE}


def parse_frigate(
    topic: str,
    payload: bytes,
    *,
    label_kinds: Mapping[str, EventKind | str | None] | None = None,
    zone_kinds: Mapping[tuple[str, str], EventKind | str | None] | None = None,
    received_at: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParseResult:
    """One MQTT message. received_at is the time of `available` messages, which carry none. Raises Quarantine."""
    prefix, _, leaf = topic.rpartition("/")
    if not prefix or leaf not in ("events", "reviews", "available") or any(c in topic for c in "+#\x00"):
        raise Quarantine.of(Reason.UNKNOWN_TOPIC, detail=clip(topic))
    check_body(payload, limits)
    text = decode_utf8(payload)
    raw = raw_text(text, limits)
    if leaf == "available":
        return ParseResult([_availability(prefix, text, raw, received_at)], [])
    message = Obj.of(load_json(text, limits), "")
    state = message.choice("type", EVENT_TYPES)
    if state is None:
        raise Quarantine.of(Reason.MISSING_FIELD, "type")
    after = message.child("after")
    if leaf == "reviews":
        return ParseResult([_review(after, state, raw)], [])
    labels = kind_table(FRIGATE_LABEL_KINDS, label_kinds)
    zones = kind_table(FRIGATE_ZONE_KINDS, zone_kinds)
    event = _tracked_object(after, state, raw, labels, zones)
    return ParseResult([] if event is None else [event], [])


def _availability(prefix: str, text: str, raw: str, received_at: datetime | None) -> NormalizedEvent:
    kind = AVAILABILITY.get(text.strip().lower())
    if kind is None:
        raise Quarantine.of(Reason.BAD_VALUE, "available", f"{clip(text)} is not online or offline")
    device = normalize_device_ref(prefix, "topic")
    at = ensure_aware(received_at or datetime.now(UTC))
    return NormalizedEvent(
        vendor=VENDOR,
        kind=kind,
        device_ref=device,
        occurred_at=at,
        occurred_at_raw="received",
        external_id=f"{VENDOR}:{device}:available:{digest(kind.value, at.isoformat())}",
        raw=raw,
    )


def _time(obj: Obj, key: str) -> tuple[datetime, str] | None:
    seconds = obj.number(key)
    return None if seconds is None else (from_epoch(seconds, obj.path(key)), repr(obj.data[key]))


def _required_time(obj: Obj, key: str) -> tuple[datetime, str]:
    found = _time(obj, key)
    if found is None:
        raise Quarantine.of(Reason.MISSING_FIELD, obj.path(key))
    return found


def _occurred(after: Obj, state: State) -> tuple[datetime, str]:
    """new: when tracking started; update: the frame that changed it (else the start); end: when it ended."""
    if state is State.END:
        return _required_time(after, "end_time")
    if state is State.UPDATE:
        return _time(after, "frame_time") or _required_time(after, "start_time")
    return _required_time(after, "start_time")


def _key(item_id: str, state: State, after: Obj) -> str:
    """new and end happen once per object; updates are many, each keyed by its content."""
    if state is State.UPDATE:
        return f"{item_id}:update:{digest(canonical_json(after.data))}"
    return f"{item_id}:{'new' if state is State.START else 'end'}"


def _kind(
    label: str, zones: list[str], labels: dict[str, EventKind | None], table: dict[tuple[str, str], EventKind | None]
) -> EventKind | None:
    if label in labels:
        return labels[label]
    for zone in zones:
        for key in ((label, zone), (ANY, zone)):
            if key in table:
                return table[key]
    if zones and (label, ANY) in table:
        return table[(label, ANY)]
    return EventKind.CAMERA_OBJECT


def _sub_label(after: Obj) -> tuple[str | None, float | None]:
    """sub_label is [name, score] in recent Frigate, a plain name in older releases."""
    value = after.data.get("sub_label")
    if isinstance(value, list) and value:
        pair = Obj({"name": value[0], "score": value[1] if len(value) > 1 else None}, after.path("sub_label"))
        return pair.text("name", max_len=64), pair.number("score")
    if value is None or isinstance(value, str):
        return after.text("sub_label", max_len=64), None
    raise Quarantine.of(Reason.WRONG_TYPE, after.path("sub_label"), "a name or [name, score] expected")


def _tracked_object(
    after: Obj,
    state: State,
    raw: str,
    labels: dict[str, EventKind | None],
    zones: dict[tuple[str, str], EventKind | None],
) -> NormalizedEvent | None:
    item_id = after.text("id", required=True, max_len=64) or ""
    camera = normalize_device_ref(after.text("camera", required=True, max_len=64) or "", "after.camera")
    label = after.text("label", required=True, max_len=64) or ""
    current = after.strings("current_zones")
    entered = after.strings("entered_zones")
    kind = _kind(label, current or entered, labels, zones)
    if kind is None:
        return None
    occurred_at, occurred_raw = _occurred(after, state)
    started = _required_time(after, "start_time")[0]
    top_score = after.number("top_score")
    score = top_score if top_score is not None else after.number("score")
    plate_text = after.text("recognized_license_plate", max_len=64)
    plate = normalize_plate(plate_text) if plate_text else None
    name, name_score = _sub_label(after)
    subject: dict[str, Any] = {}
    if plate:
        subject = {"subject_kind": SubjectKind.PLATE, "subject_ref": plate, "subject_ref_type": SubjectRefType.PLATE}
    elif name and label == "person":
        subject = {
            "subject_kind": SubjectKind.RESIDENT,
            "subject_ref": name,
            "subject_ref_type": SubjectRefType.FACE_ID,
        }
    plate_score = after.number("recognized_license_plate_score")
    attrs: dict[str, AttrValue] = {
        "label": label,
        "frigate_id": item_id,
        "zones": current,
        "entered_zones": entered,
        "stationary": after.boolean("stationary"),
        "motionless_count": after.integer("motionless_count", lo=0),
        "duration_s": round((occurred_at - started).total_seconds(), 1),
        "false_positive": after.boolean("false_positive"),
        "has_snapshot": after.boolean("has_snapshot"),
        "has_clip": after.boolean("has_clip"),
        "sub_label": None if subject.get("subject_ref_type") is SubjectRefType.FACE_ID else name,
        "sub_label_score": None if name_score is None else normalize_score(name_score, after.path("sub_label")),
        "plate_text": plate_text if plate_text and not plate else None,
        "plate_score": None if plate_score is None else normalize_score(plate_score, "recognized_license_plate_score"),
    }
    return NormalizedEvent(
        vendor=VENDOR,
        kind=kind,
        device_ref=camera,
        occurred_at=occurred_at,
        occurred_at_raw=occurred_raw,
        external_id=f"{VENDOR}:{camera}:{_key(item_id, state, after)}",
        score=None if score is None else normalize_score(score, after.path("top_score")),
        zone=(current or entered or [""])[0],
        state=state,
        attrs=compact_attrs(attrs),
        raw=raw,
        **subject,
    )


def _review(after: Obj, state: State, raw: str) -> NormalizedEvent:
    item_id = after.text("id", required=True, max_len=64) or ""
    camera = normalize_device_ref(after.text("camera", required=True, max_len=64) or "", "after.camera")
    occurred_at, occurred_raw = _occurred(after, state)
    severity = after.choice("severity", {"alert": "alert", "detection": "detection"})
    data = after.obj("data") or Obj({}, after.path("data"))
    zones = data.strings("zones")
    attrs: dict[str, AttrValue] = {
        "severity": severity,
        "review_id": item_id,
        "detections": data.strings("detections", max_items=64),
        "objects": data.strings("objects"),
        "sub_labels": [label for label in data.items("sub_labels") if isinstance(label, str)][:16],
        "zones": zones,
    }
    return NormalizedEvent(
        vendor=VENDOR,
        kind=EventKind.REVIEW,
        device_ref=camera,
        occurred_at=occurred_at,
        occurred_at_raw=occurred_raw,
        external_id=f"{VENDOR}:{camera}:review:{_key(item_id, state, after)}",
        zone=(zones or [""])[0],
        state=state,
        attrs=compact_attrs(attrs),
        raw=raw,
    )
