"""API schemas of devices, events and passages, the quarantine list, credentials, vehicles and visitor passes.

A device's secret appears only in the answer that created or rotated it. Names of wearers appear only for roles
that may see residents there; payload bytes of quarantined payloads only for roles that may read passages there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from linli.places.schemas import Id

from .choices import CredentialType, DeviceKind, DeviceStatus, Vendor
from .media import media_links

DeviceKindName = Literal[tuple(DeviceKind.values)]  # type: ignore[valid-type]
VendorName = Literal[tuple(Vendor.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(DeviceStatus.values)]  # type: ignore[valid-type]
CredentialTypeName = Literal[tuple(CredentialType.values)]  # type: ignore[valid-type]
DirectionName = Literal["in", "out", "unknown"]
AttrValue = str | int | float | bool | None


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


class Ref(Schema):
    id: int
    name: str


class PlaceRef(Schema):
    id: int
    kind: str
    name: str


# ------------------------------------------------------------------------------------------------ devices

class DeviceOut(Schema):
    id: int
    kind: str
    kind_label: str
    vendor: str
    serial: str
    name: str
    place: PlaceRef
    place_path: str
    longitude: float | None
    latitude: float | None
    attrs: dict[str, Any]
    gateway_id: int | None
    wearer_id: int | None
    wearer_name: str | None = Field(None, description="null unless your role may see residents there")
    status: str
    offline_after: int = Field(description="minutes without any sign of life before the device counts as offline")
    last_seen_at: dt.datetime | None
    last_event_at: dt.datetime | None
    enabled: bool
    retired_at: dt.datetime | None
    secret_rotated_at: dt.datetime

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return _label(DeviceKind, obj.kind)


class DeviceWithSecret(DeviceOut):
    secret: str = Field(description="shown this once: configure it on the device, Linli keeps only its digest")


class DevicePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[DeviceOut]


class DeviceFields(Schema):
    """The fields of a device that a change may send (only those sent change; null clears wearer and gateway)."""

    kind: DeviceKindName | None = None
    vendor: VendorName | None = None
    serial: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=100)
    place_id: Id | None = None
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    attrs: dict[str, AttrValue] | None = None
    wearer_id: Id | None = Field(None, description="the resident wearing a wristband")
    gateway_id: Id | None = Field(None, description="the sensor gateway or NVR this device reports through")
    offline_after: int | None = Field(None, ge=1, le=10080)
    enabled: bool | None = None


class DeviceCreate(Schema):
    place_id: Id
    kind: DeviceKindName
    vendor: VendorName
    serial: str = Field(min_length=1, max_length=64, description="as the device names itself (a Hikvision MAC, ...)")
    name: str = Field(min_length=1, max_length=100)
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    attrs: dict[str, AttrValue] = Field(default_factory=dict)
    wearer_id: Id | None = None
    gateway_id: Id | None = None
    offline_after: int = Field(10, ge=1, le=10080)
    enabled: bool = True


class ImportedDevice(Schema):
    id: int
    serial: str
    name: str
    secret: str


class ImportResult(Schema):
    count: int
    devices: list[ImportedDevice]


# ------------------------------------------------------------------------------------------------ events

class MediaOut(Schema):
    name: str
    type: str
    size: int
    error: str = Field(description="invalid_image when the picture could not be decoded (it is kept as received)")
    url: str
    thumb_url: str | None


class EventOut(Schema):
    id: int
    device: Ref
    place_path: str
    place_name: str
    kind: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    external_id: str
    subject_kind: str
    subject_ref: str
    subject_ref_type: str
    resident: Ref | None
    vehicle_id: int | None
    visitor: Ref | None
    score: float | None
    value: float | None
    unit: str
    zone: str
    direction: str
    state: str
    attrs: dict[str, Any]
    media: list[MediaOut]

    @staticmethod
    def resolve_place_name(obj: Any) -> str:
        return obj.device.place.name

    @staticmethod
    def resolve_media(obj: Any) -> list[dict[str, Any]]:
        return media_links(obj)


class EventDetail(EventOut):
    occurred_at_raw: str
    raw: str


class EventPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[EventOut]


class LastSeenOut(Schema):
    resident: Ref
    last_seen_at: dt.datetime | None = Field(description="the resident's latest door or gate passage; null: never")
    device: Ref | None
    place_path: str
    kind: str


# ------------------------------------------------------------------------------------------------ quarantine

class QuarantineOut(Schema):
    id: int
    device: Ref | None
    place_path: str
    received_at: dt.datetime
    source: str
    device_ref: str
    reason_code: str
    message_zh: str
    message_en: str
    content_type: str
    size: int
    truncated: bool
    status: str
    attempts: int
    reprocessed_at: dt.datetime | None
    events_stored: int


class QuarantineDetail(QuarantineOut):
    payload_text: str | None = Field(None, description="the payload as text (UTF-8, damaged bytes replaced); null "
                                                       "unless your role may read passages there")


class QuarantinePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[QuarantineOut]


# ------------------------------------------------------------------------------------------------ credentials, vehicles, passes

class CredentialIn(Schema):
    resident_id: Id
    ref_type: CredentialTypeName
    ref: str = Field(min_length=1, max_length=64)
    device_id: Id | None = Field(None, description="one device; or place_id for every device under a place")
    place_id: Id | None = None
    note: str = Field("", max_length=200)


class CredentialOut(Schema):
    id: int
    ref_type: str
    ref: str
    device: Ref | None
    place: PlaceRef
    resident: Ref
    note: str


class CredentialPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[CredentialOut]


class VehicleIn(Schema):
    place_id: Id
    plate: str = Field(min_length=2, max_length=20)
    owner_id: Id | None = None
    plate_color: str = Field("", max_length=16)
    note: str = Field("", max_length=200)


class VehicleOut(Schema):
    id: int
    plate: str
    place: PlaceRef
    owner: Ref | None
    plate_color: str
    note: str
    active: bool


class VehiclePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[VehicleOut]


class VisitorPassIn(Schema):
    place_id: Id
    name: str = Field(min_length=1, max_length=60)
    host_id: Id | None = None
    plate: str = Field("", max_length=20)
    valid_from: dt.datetime | None = Field(None, description="default: now")
    valid_until: dt.datetime | None = Field(None, description="default: a day after valid_from; at most 90 days")


class VisitorPassOut(Schema):
    id: int
    name: str
    code: str
    plate: str
    place: PlaceRef
    host: Ref | None
    valid_from: dt.datetime
    valid_until: dt.datetime
    revoked_at: dt.datetime | None


class VisitorPassPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[VisitorPassOut]
