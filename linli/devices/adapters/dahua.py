"""Dahua: HTTP upload JSON ({"Time": ..., "Events": [{"Code", "Index", "Data"}]}) and the event builder shared with
the eventManager attach stream (dahua_stream.py).

Time: Dahua's `UTC` field is the device's local wall clock written as epoch seconds; `RealUTC` is true UTC. Both
are read here: RealUTC first, else UTC as local time in the site time zone (Asia/Shanghai unless told otherwise),
else a local time string, else the time the payload was received.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from .base import (
    DEFAULT_LIMITS,
    AttrValue,
    Direction,
    EventKind,
    Limits,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reason,
    Reject,
    State,
    SubjectKind,
    SubjectRefType,
    clip,
    kind_table,
    lower_keys,
)
from .common import check_body, compact_attrs, document_format, media_type
from .documents import load_json
from .fields import Obj
from .values import (
    SITE_TZ,
    canonical_json,
    decode_utf8,
    digest,
    ensure_aware,
    from_epoch,
    from_local_epoch,
    normalize_device_ref,
    normalize_plate,
    normalize_score,
    parse_iso_time,
    raw_text,
)

VENDOR = "dahua"
MAX_CODE = 48

# Event codes (matched case-insensitively). AccessControl is decided by Status and Method below.
DAHUA_CODE_KINDS: dict[str, EventKind | None] = {
    "heartbeat": EventKind.DEVICE_HEARTBEAT,
    "trafficjunction": EventKind.PASSAGE_PLATE,
    "crossregiondetection": EventKind.CAMERA_INTRUSION,
    "crosslinedetection": EventKind.CAMERA_LINE_CROSSING,
    "wanderdetection": EventKind.CAMERA_LOITERING,
    "parkingdetection": EventKind.CAMERA_ILLEGAL_PARKING,
    "trafficparking": EventKind.CAMERA_ILLEGAL_PARKING,
    "leftdetection": EventKind.CAMERA_UNATTENDED_OBJECT,
    "facerecognition": EventKind.CAMERA_FACE,
    "facedetection": EventKind.CAMERA_FACE,
    "smartmotionhuman": EventKind.CAMERA_OBJECT,
    "smartmotionvehicle": EventKind.CAMERA_OBJECT,
    "videomotion": EventKind.CAMERA_MOTION,
    "videoloss": EventKind.CAMERA_VIDEO_LOSS,
    "videoblind": EventKind.CAMERA_TAMPER,
    "alarmlocal": EventKind.SENSOR_ALARM_INPUT,
    "firewarning": EventKind.CAMERA_SMOKE_FIRE,
    "doorstatus": None,  # door open/closed: not an event
    "newfile": None,  # a snapshot was written to storage: not an event
}
ACCESS_CONTROL = "accesscontrol"
# AccessControl Method: how the door was opened (15 = face).
DAHUA_METHOD_KINDS: dict[int, EventKind | None] = {
    0: EventKind.PASSAGE_PASSWORD,
    1: EventKind.PASSAGE_CARD,
    4: EventKind.PASSAGE_REMOTE,
    6: EventKind.PASSAGE_FINGERPRINT,
    15: EventKind.PASSAGE_FACE,
}
ACTIONS = {"start": State.START, "stop": State.STOP, "pulse": State.PULSE}
ENTRY_EXIT = {"entry": Direction.IN, "exit": Direction.OUT}
REGION_DIRECTIONS = {"enter": Direction.IN, "leave": Direction.OUT, "approach": Direction.IN}
DRIVING_DIRECTIONS = {"approach": Direction.IN, "leave": Direction.OUT}


@dataclass(frozen=True, slots=True)
class DahuaConfig:
    """What the builder needs besides the event itself."""

    device: str
    code_kinds: dict[str, EventKind | None]
    method_kinds: dict[int, EventKind | None]
    site_tz: tzinfo
    limits: Limits

    @classmethod
    def make(
        cls,
        device: str,
        code_kinds: Mapping[str, EventKind | str | None] | None,
        method_kinds: Mapping[int, EventKind | str | None] | None,
        site_tz: tzinfo,
        limits: Limits,
    ) -> DahuaConfig:
        return cls(
            device=device,
            code_kinds=kind_table(DAHUA_CODE_KINDS, lower_keys(code_kinds)),
            method_kinds=kind_table(DAHUA_METHOD_KINDS, method_kinds),
            site_tz=site_tz,
            limits=limits,
        )


def parse_dahua_upload(
    body: bytes,
    content_type: str = "application/json",
    *,
    device_ref: str | None = None,
    code_kinds: Mapping[str, EventKind | str | None] | None = None,
    method_kinds: Mapping[int, EventKind | str | None] | None = None,
    site_tz: tzinfo = SITE_TZ,
    received_at: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParseResult:
    """One HTTP upload. Dahua payloads rarely name the device: pass device_ref (the authenticated device);
    otherwise the payload's SerialNo, DeviceID or ip is used. Each bad entry of Events is a Reject."""
    check_body(body, limits)
    declared = media_type(content_type)
    if document_format(body, declared) != "json":
        raise Quarantine.of(Reason.UNSUPPORTED_CONTENT_TYPE, detail=clip(declared or "none"))
    top = Obj.of(load_json(decode_utf8(body), limits), "")
    config = DahuaConfig.make(_upload_device(top, device_ref), code_kinds, method_kinds, site_tz, limits)
    items = top.items("Events")
    if not items:
        raise Quarantine.of(Reason.EMPTY_BATCH, "Events")
    if len(items) > limits.max_events:
        raise Quarantine.of(Reason.TOO_MANY_EVENTS, "Events", f"{len(items)} > {limits.max_events}")
    fallback = TimeFallback(top.text("Time", max_len=64), ensure_aware(received_at or datetime.now(UTC)), site_tz)
    result = ParseResult([], [])
    for index, item in enumerate(items):
        raw = raw_text(canonical_json(item), limits)
        try:
            entry = Obj.of(item, f"Events[{index}]")
            code = entry.text("Code", required=True, max_len=MAX_CODE) or ""
            action = entry.choice("Action", ACTIONS, default=State.PULSE)
            channel = entry.integer("Index", lo=0, hi=65535) or 0
            event = build_event(config, code, action, channel, entry.obj("Data"), fallback, raw)
        except Quarantine as exc:
            result.rejects.append(Reject.from_quarantine(index, exc, raw))
            continue
        if event is not None:
            result.events.append(event)
    return result


def _upload_device(top: Obj, device_ref: str | None) -> str:
    if device_ref:
        return normalize_device_ref(device_ref, "device_ref")
    for key in ("SerialNo", "DeviceID", "ip"):
        value = top.text(key, max_len=64)
        if value:
            return normalize_device_ref(value, key)
    raise Quarantine.of(Reason.MISSING_DEVICE, detail="pass device_ref for Dahua uploads")


class TimeFallback:
    """The time to use when an event's Data carries none: the upload's local Time, else the received time."""

    def __init__(self, local_text: str | None, received_at: datetime, site_tz: tzinfo):
        self.local_text = local_text
        self.received_at = received_at
        self.site_tz = site_tz

    def resolve(self) -> tuple[datetime, str, bool]:
        """(time, raw, whether it came from the payload)."""
        if self.local_text:
            return parse_iso_time(self.local_text, "Time", naive_tz=self.site_tz), f"Time={self.local_text}", True
        return self.received_at, "received", False


def _event_time(data: Obj | None, config: DahuaConfig, fallback: TimeFallback) -> tuple[datetime, str, bool]:
    if data is not None:
        real = data.number("RealUTC")
        if real is not None:
            return from_epoch(real, data.path("RealUTC")), f"RealUTC={data.data['RealUTC']}", True
        local = data.number("UTC")
        if local is not None:
            return from_local_epoch(local, config.site_tz, data.path("UTC")), f"UTC={data.data['UTC']}", True
        text = data.text("LocaleTime", max_len=64)
        if text:
            return parse_iso_time(text, data.path("LocaleTime"), naive_tz=config.site_tz), f"LocaleTime={text}", True
    return fallback.resolve()


def build_event(
    config: DahuaConfig,
    code: str,
    action: State,
    channel: int,
    data: Obj | None,
    fallback: TimeFallback,
    raw: str,
) -> NormalizedEvent | None:
    """One Dahua event (upload entry or attach-stream record) to a NormalizedEvent; None when its code is ignored."""
    name = code.lower()
    occurred_at, time_raw, from_payload = _event_time(data, config, fallback)
    fields: dict[str, Any]
    if name == ACCESS_CONTROL and name not in config.code_kinds:
        fields = _access_control(data or Obj({}, "Data"), config.method_kinds)
    else:
        kind = config.code_kinds.get(name, EventKind.OTHER)
        if kind is None:
            return None
        fields = _by_code(name, kind, data or Obj({}, "Data"))
    if fields["kind"] is None:
        return None
    attrs: dict[str, AttrValue] = {"code": code, "channel": channel, **fields.pop("attrs")}
    return NormalizedEvent(
        vendor=VENDOR,
        device_ref=config.device,
        occurred_at=occurred_at,
        occurred_at_raw=time_raw,
        external_id=f"{VENDOR}:{config.device}:{code}:{action.value}:{channel}:"
        + _key(code, action, channel, data, occurred_at, from_payload),
        state=action,
        attrs=compact_attrs(attrs),
        raw=raw,
        **fields,
    )


def _key(code: str, action: State, channel: int, data: Obj | None, at: datetime, from_payload: bool) -> str:
    if data is not None:
        for field, prefix in (("RecNo", "rec"), ("EventID", "event")):
            number = data.integer(field, lo=0)
            if number is not None:
                return f"{prefix}:{number}"
    payload = canonical_json({"code": code, "action": action.value, "index": channel, "data": data and data.data})
    return digest(payload, "" if from_payload else at.isoformat())


def _subject(ref: str | None, kind: SubjectKind, ref_type: SubjectRefType) -> dict[str, Any]:
    if not ref:
        return {}
    return {"subject_kind": kind, "subject_ref": ref, "subject_ref_type": ref_type}


def _access_control(data: Obj, method_kinds: dict[int, EventKind | None]) -> dict[str, Any]:
    method = data.integer("Method", lo=0, hi=0xFFFF)
    status = data.integer("Status", lo=0, hi=1)
    kind: EventKind | None = EventKind.OTHER if method is None else method_kinds.get(method, EventKind.OTHER)
    if status == 0:
        kind = EventKind.PASSAGE_DENIED
    user = data.text("UserID", max_len=64)
    card = data.text("CardNo", max_len=64)
    subject = _subject(user, SubjectKind.RESIDENT, SubjectRefType.EMPLOYEE_NO) or _subject(
        card, SubjectKind.RESIDENT, SubjectRefType.CARD_NO
    )
    return {
        "kind": kind,
        "direction": data.choice("Type", ENTRY_EXIT, default=Direction.UNKNOWN),
        "attrs": {
            "method": method,
            "status": status,
            "error_code": data.integer("ErrorCode"),
            "door": data.integer("Door"),
            "card_no": card if user else None,
        },
        **subject,
    }


def _by_code(name: str, kind: EventKind, data: Obj) -> dict[str, Any]:
    if name == "trafficjunction":
        return _traffic(kind, data)
    if name == "facerecognition":
        return _face(kind, data)
    target = data.obj("Object")
    return {
        "kind": kind,
        "zone": data.text("Name", max_len=64) or "",
        "direction": data.choice("Direction", REGION_DIRECTIONS, default=Direction.UNKNOWN)
        if name == "crossregiondetection"
        else Direction.UNKNOWN,
        "attrs": {
            "target": None if target is None else target.text("ObjectType", max_len=32),
            "region_action": data.text("Action", max_len=32),
            "line_direction": data.text("Direction", max_len=32) if name == "crosslinedetection" else None,
        },
    }


def _traffic(kind: EventKind, data: Obj) -> dict[str, Any]:
    car = data.obj("TrafficCar") or Obj({}, data.path("TrafficCar"))
    text = car.text("PlateNumber", max_len=64)
    plate = normalize_plate(text) if text else None
    confidence = car.number("Confidence")
    driving = data.items("DrivingDirection")
    first = driving[0] if driving and isinstance(driving[0], str) else ""
    return {
        "kind": kind,
        "direction": DRIVING_DIRECTIONS.get(first.lower(), Direction.UNKNOWN),
        "score": None if confidence is None else normalize_score(confidence, car.path("Confidence")),
        "attrs": {
            "plate_text": None if plate else text,
            "plate_color": car.text("PlateColor", max_len=32),
            "vehicle_color": car.text("VehicleColor", max_len=32),
            "vehicle_type": car.text("VehicleType", max_len=32),
            "lane": data.integer("Lane"),
        },
        **_subject(plate, SubjectKind.PLATE, SubjectRefType.PLATE),
    }


def _face(kind: EventKind, data: Obj) -> dict[str, Any]:
    candidates = list(data.objs("Candidates"))
    if not candidates:
        return {"kind": kind, "attrs": {"matched": False}}
    best = candidates[0]
    person = best.obj("Person") or Obj({}, best.path("Person"))
    similarity = best.number("Similarity")
    return {
        "kind": kind,
        "score": None if similarity is None else normalize_score(similarity, best.path("Similarity")),
        "attrs": {"matched": True, "group": person.text("GroupName", max_len=64)},
        **_subject(person.text("ID", max_len=64), SubjectKind.RESIDENT, SubjectRefType.FACE_ID),
    }
