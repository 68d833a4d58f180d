"""Hikvision ISAPI event notifications: access-controller JSON (multipart with the face picture), ANPR plate XML
(multipart with plate and scene pictures, any of the three ISAPI namespaces), and smart-camera events in JSON or
XML. Minor codes and event types map to kinds through the tables below, which a deployment can override.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
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
    State,
    SubjectKind,
    SubjectRefType,
    clip,
    kind_table,
    lower_keys,
)
from .common import check_body, compact_attrs, load_document, split_upload
from .documents import as_utf8
from .fields import Obj
from .values import (
    SITE_TZ,
    canonical_json,
    digest,
    normalize_device_ref,
    normalize_plate,
    normalize_score,
    parse_iso_time,
    raw_text,
)

VENDOR = "hikvision"
ROOT = "EventNotificationAlert"

# Access-controller minor codes (subEventType) under major types 5 (event) and 3 (operation: remote open).
# None: known, deliberately not an event (door locked / unlocked).
HIKVISION_MINOR_KINDS: dict[int, EventKind | None] = {
    0x01: EventKind.PASSAGE_CARD,
    0x06: EventKind.PASSAGE_DENIED,  # card without permission
    0x15: None,  # door locked
    0x16: None,  # door unlocked
    0x26: EventKind.PASSAGE_FINGERPRINT,
    0x27: EventKind.PASSAGE_DENIED,  # fingerprint did not match
    0x4B: EventKind.PASSAGE_FACE,  # face verified
    0x4C: EventKind.PASSAGE_DENIED,  # face verification failed
    0x4D: EventKind.PASSAGE_FACE,  # employee number and face
    0x4E: EventKind.PASSAGE_DENIED,  # employee number and face failed
    0x50: EventKind.PASSAGE_DENIED,  # face recognition failed
    0x9C: EventKind.PASSAGE_QR,
    0xB5: EventKind.PASSAGE_PASSWORD,
    0x400: EventKind.PASSAGE_REMOTE,
}
ACCESS_MAJOR_TYPES = frozenset({3, 5})
# How a denied passage was attempted, for attrs["method"].
DENIED_METHODS = {0x06: "card", 0x27: "fingerprint", 0x4C: "face", 0x4E: "employee_no_face", 0x50: "face"}

# Smart-camera eventType (matched case-insensitively). Smoke and fire, objects thrown from height and bin overflow
# are product-specific names: add them with event_kinds={...}.
HIKVISION_EVENT_KINDS: dict[str, EventKind | None] = {
    "fielddetection": EventKind.CAMERA_INTRUSION,
    "linedetection": EventKind.CAMERA_LINE_CROSSING,
    "regionentrance": EventKind.CAMERA_REGION_ENTRANCE,
    "regionexiting": EventKind.CAMERA_REGION_EXIT,
    "loitering": EventKind.CAMERA_LOITERING,
    "parking": EventKind.CAMERA_ILLEGAL_PARKING,
    "unattendedbaggage": EventKind.CAMERA_UNATTENDED_OBJECT,
    "peopledetection": EventKind.CAMERA_OBJECT,
    "vehicledetection": EventKind.CAMERA_OBJECT,
    "facedetection": EventKind.CAMERA_FACE,
    "shelteralarm": EventKind.CAMERA_TAMPER,
    "tamperdetection": EventKind.CAMERA_TAMPER,
    "defocus": EventKind.CAMERA_TAMPER,
    "videoloss": EventKind.CAMERA_VIDEO_LOSS,
    "vmd": EventKind.CAMERA_MOTION,
    "pir": EventKind.CAMERA_MOTION,
    "io": EventKind.SENSOR_ALARM_INPUT,
    "firedetection": EventKind.CAMERA_SMOKE_FIRE,
}
ANPR_DIRECTIONS = {"forward": Direction.IN, "reverse": Direction.OUT, "unknown": Direction.UNKNOWN}
EVENT_STATES = {"active": State.START, "inactive": State.STOP}
VISITOR_USER_TYPES = {"visitor"}


def parse_hikvision(
    body: bytes,
    content_type: str,
    *,
    minor_kinds: Mapping[int, EventKind | str | None] | None = None,
    event_kinds: Mapping[str, EventKind | str | None] | None = None,
    site_tz: tzinfo = SITE_TZ,
    limits: Limits = DEFAULT_LIMITS,
) -> ParseResult:
    """One ISAPI notification: multipart/form-data (JSON or XML part plus pictures), or a bare JSON/XML body.

    A door locked/unlocked notification (or any code mapped to None) gives no event. Raises Quarantine.
    """
    check_body(body, limits)
    document, fmt, media, bad_media = split_upload(body, content_type, limits)
    root, value = load_document(document, fmt, limits)
    if root and root != ROOT:
        raise Quarantine.of(Reason.UNKNOWN_EVENT, detail=f"XML root {clip(root)}")
    if isinstance(value, dict) and set(value) == {ROOT}:
        value = value[ROOT]
    alert = Obj.of(value, "")
    reader = _Alert(alert, site_tz, raw_text(as_utf8(document) if root else document, limits), tuple(media), bad_media)
    event_type = (alert.text("eventType", required=True, max_len=64) or "").lower()
    if event_type == "accesscontrollerevent":
        event = reader.access(kind_table(HIKVISION_MINOR_KINDS, minor_kinds))
    elif event_type == "anpr":
        event = reader.anpr()
    else:
        event = reader.camera(event_type, kind_table(HIKVISION_EVENT_KINDS, lower_keys(event_kinds)))
    return ParseResult([] if event is None else [event], [])


class _Alert:
    """Reads one EventNotificationAlert envelope (JSON or XML-as-dict alike)."""

    def __init__(self, alert: Obj, site_tz: tzinfo, raw: str, media: tuple[Media, ...], bad_media: list[str]):
        self.alert = alert
        self.raw = raw
        self.media = media
        self.bad_media = bad_media
        self.device = self._device()
        self.time_raw = alert.text("dateTime", required=True, max_len=64) or ""
        self.occurred_at = parse_iso_time(self.time_raw, "dateTime", naive_tz=site_tz)
        self.active = alert.choice("eventState", EVENT_STATES, default=State.START) is State.START
        self.key = digest(canonical_json(alert.data))

    def _device(self) -> str:
        for key in ("macAddress", "deviceID", "ipAddress"):
            value = self.alert.text(key, max_len=64)
            if value:
                return normalize_device_ref(value, key)
        raise Quarantine.of(Reason.MISSING_DEVICE, "macAddress")

    def _envelope_attrs(self) -> dict[str, AttrValue]:
        return {
            "channel": self.alert.integer("channelID"),
            "channel_name": self.alert.text("channelName", max_len=128),
            "event_type": self.alert.text("eventType"),
            "media_rejected": self.bad_media,
        }

    def _event(self, kind: EventKind, key: str, attrs: dict[str, AttrValue], **fields: Any) -> NormalizedEvent:
        return NormalizedEvent(
            vendor=VENDOR,
            kind=kind,
            device_ref=self.device,
            occurred_at=self.occurred_at,
            occurred_at_raw=self.time_raw,
            external_id=f"{VENDOR}:{self.device}:{key}",
            attrs=compact_attrs({**self._envelope_attrs(), **attrs}),
            media=self.media,
            raw=self.raw,
            **fields,
        )

    def access(self, minor_kinds: dict[int, EventKind | None]) -> NormalizedEvent | None:
        inner = self.alert.child("AccessControllerEvent")
        major = inner.integer("majorEventType", required=True, lo=0, hi=0xFFFF) or 0
        minor = inner.integer("subEventType", required=True, lo=0, hi=0xFFFF) or 0
        kind: EventKind | None = EventKind.OTHER
        if major in ACCESS_MAJOR_TYPES:
            kind = minor_kinds.get(minor, EventKind.OTHER)
        if kind is None:
            return None
        employee = inner.text("employeeNoString", max_len=64) or inner.text("employeeNo", max_len=64)
        card = inner.text("cardNo", max_len=64)
        visitor = (inner.text("userType", max_len=32) or "").lower() in VISITOR_USER_TYPES
        subject_kind, ref, ref_type = SubjectKind.NONE, "", SubjectRefType.NONE
        if employee:
            ref, ref_type = employee, SubjectRefType.EMPLOYEE_NO
        elif card:
            ref, ref_type = card, SubjectRefType.CARD_NO
        if ref:
            subject_kind = SubjectKind.VISITOR if visitor else SubjectKind.RESIDENT
        serial = inner.integer("serialNo", lo=0)
        attrs: dict[str, AttrValue] = {
            "major": major,
            "minor": minor,
            "method": DENIED_METHODS.get(minor) if kind is EventKind.PASSAGE_DENIED else None,
            "verify_mode": inner.text("currentVerifyMode", max_len=64),
            "card_no": card if employee else None,
            "card_reader": inner.integer("cardReaderNo"),
            "door": inner.integer("doorNo"),
            "device_name": inner.text("deviceName", max_len=128),
            "attendance": inner.text("attendanceStatus", max_len=64),
            "mask": inner.text("mask", max_len=16),
        }
        return self._event(
            kind,
            f"serial:{serial}" if serial is not None else self.key,
            attrs,
            subject_kind=subject_kind,
            subject_ref=ref,
            subject_ref_type=ref_type,
        )

    def anpr(self) -> NormalizedEvent:
        anpr = self.alert.child("ANPR")
        text = anpr.text("licensePlate", required=True, max_len=64) or ""
        plate = normalize_plate(text)
        confidence = anpr.number("confidenceLevel")
        uuid = self.alert.text("UUID", max_len=64)
        attrs: dict[str, AttrValue] = {
            "plate_text": None if plate else text,
            "plate_color": anpr.text("plateColor", max_len=32),
            "vehicle_type": anpr.text("vehicleType", max_len=32),
            "list_name": anpr.text("vehicleListName", max_len=64),
            "lane": anpr.integer("line"),
        }
        return self._event(
            EventKind.PASSAGE_PLATE,
            f"uuid:{uuid}" if uuid else self.key,
            attrs,
            subject_kind=SubjectKind.PLATE if plate else SubjectKind.NONE,
            subject_ref=plate or "",
            subject_ref_type=SubjectRefType.PLATE if plate else SubjectRefType.NONE,
            score=None if confidence is None else normalize_score(confidence, "ANPR.confidenceLevel"),
            direction=anpr.choice("direction", ANPR_DIRECTIONS, default=Direction.UNKNOWN),
        )

    def camera(self, event_type: str, event_kinds: dict[str, EventKind | None]) -> NormalizedEvent | None:
        if event_type == "videoloss" and not self.active:
            return self._event(EventKind.DEVICE_HEARTBEAT, self.key, {})
        kind = event_kinds.get(event_type, EventKind.OTHER)
        if kind is None:
            return None
        region = self._region()
        region_id = None if region is None else region.integer("regionID")
        target = None if region is None else region.text("detectionTarget", max_len=32)
        return self._event(
            kind,
            self.key,
            {"target": target, "region_id": region_id},
            zone="" if region_id is None else str(region_id),
            state=State.START if self.active else State.STOP,
        )

    def _region(self) -> Obj | None:
        """The first detection region, from <DetectionRegionList><DetectionRegionEntry> or a JSON list."""
        regions = self.alert.items("DetectionRegionList")
        if len(regions) == 1 and isinstance(regions[0], dict) and "DetectionRegionEntry" in regions[0]:
            regions = Obj(regions[0], "DetectionRegionList").items("DetectionRegionEntry")
        if not regions:
            return None
        return Obj.of(regions[0], "DetectionRegionList[0]")
