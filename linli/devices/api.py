"""/api/v1/: the device registry and its xlsx import, device events and passages, the quarantine list, device
credentials, vehicles and visitor passes. (Devices themselves push to /api/v1/ingest/, see linli.devices.endpoints.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from linli.api import Paging, actor_of, paginate
from linli.core.actor import Actor
from linli.core.errors import invalid
from linli.core.permissions import Perm
from linli.people.queries import access_resident
from linli.places.queries import access_place
from linli.places.schemas import Id

from . import actions, queries
from .imports import import_devices, template_workbook
from .models import Device, QuarantinedPayload
from .schemas import (
    CredentialIn,
    CredentialOut,
    CredentialPage,
    DeviceCreate,
    DeviceFields,
    DeviceKindName,
    DeviceOut,
    DevicePage,
    DeviceWithSecret,
    DirectionName,
    EventDetail,
    EventPage,
    ImportResult,
    LastSeenOut,
    QuarantineDetail,
    QuarantinePage,
    StatusName,
    VehicleIn,
    VehicleOut,
    VehiclePage,
    VendorName,
    VisitorPassIn,
    VisitorPassOut,
    VisitorPassPage,
)

router = Router(tags=["devices"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_RESPONSE = {"responses": {200: {"description": "an xlsx workbook",
                                     "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}}
PAYLOAD_PREVIEW = 64 * 1024


def _device_out(actor: Actor, device: Device, secret: str | None = None) -> Device:
    device = queries.with_wearer_names(actor, [queries.access_device(actor, device.pk)])[0]
    if secret is not None:
        device.secret = secret
    return device


def _relations(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """place_id, wearer_id and gateway_id of a body as rows the actor may see (404 otherwise)."""
    out: dict[str, Any] = {}
    if data.get("place_id") is not None:
        out["place"] = access_place(actor, data["place_id"])
    if "wearer_id" in data:
        if data["wearer_id"] is None:
            out["clear_wearer"] = True
        else:
            out["wearer"] = access_resident(actor, data["wearer_id"])
    if "gateway_id" in data:
        if data["gateway_id"] is None:
            out["clear_gateway"] = True
        else:
            out["gateway"] = queries.access_device(actor, data["gateway_id"])
    return out


# ---------------------------------------------------------------- devices

class DeviceQuery(Schema):
    place: Id | None = Field(None, description="devices installed at this place or below")
    kind: DeviceKindName | None = None
    vendor: VendorName | None = None
    status: StatusName | None = None
    q: str | None = Field(None, max_length=64, description="part of the name or the serial")
    retired: bool = Field(False, description="retired devices instead of those in service")


@router.get("/devices", response=DevicePage, summary="Devices in my area, filtered")
def list_devices(request, filters: Query[DeviceQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.DEVICE_VIEW)
    qs = queries.search_devices(actor, queries.DeviceFilter(place_id=filters.place, kind=filters.kind,
                                                            vendor=filters.vendor, status=filters.status,
                                                            q=filters.q, retired=filters.retired))
    page = paginate(qs.select_related("wearer"), paging)
    page["items"] = queries.with_wearer_names(actor, page["items"])
    return page


@router.post("/devices", response={201: DeviceWithSecret},
             summary="Register a device; the answer carries its secret, shown this once")
def register_device(request, payload: DeviceCreate):
    actor = actor_of(request)
    data = payload.model_dump()
    given = {k: v for k in ("place_id", "wearer_id", "gateway_id") if (v := data.pop(k)) is not None}
    related = _relations(actor, given)
    device, secret = actions.register_device(actor=actor, **related, **data)
    return Status(201, _device_out(actor, device, secret))


@router.get("/devices/import-template", summary="The devices sheet template (xlsx)", openapi_extra=XLSX_RESPONSE)
def import_template(request):
    actor_of(request).require(Perm.DEVICE_MANAGE)
    response = HttpResponse(template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="devices-template.xlsx"'
    return response


@router.post("/devices/import", response={201: ImportResult},
             summary="Register the devices of a sheet, all or none; errors name row, column and reason")
def import_sheet(request, place_id: Form[Id], file: File[UploadedFile]):
    actor = actor_of(request)
    place = access_place(actor, place_id)
    actor.require(Perm.DEVICE_MANAGE, place.path)
    created = import_devices(actor=actor, place=place, data=file.read())
    return Status(201, {"count": len(created), "devices": [
        {"id": d.pk, "serial": d.serial, "name": d.name, "secret": secret} for d, secret in created]})


@router.get("/devices/{id:device_id}", response=DeviceOut, summary="One device: state, last seen, last event")
def get_device(request, device_id: int):
    actor = actor_of(request)
    return queries.with_wearer_names(actor, [queries.access_device(actor, device_id)])[0]


@router.patch("/devices/{id:device_id}", response=DeviceOut, summary="Change a device (only the fields sent)")
def update_device(request, device_id: int, payload: DeviceFields):
    actor = actor_of(request)
    device = queries.access_device(actor, device_id)
    data = payload.model_dump(exclude_unset=True)
    related = _relations(actor, {k: data.pop(k) for k in ("place_id", "wearer_id", "gateway_id") if k in data})
    actions.update_device(actor=actor, device=device, **related, **data)
    return _device_out(actor, device)


@router.post("/devices/{id:device_id}/rotate-secret", response=DeviceWithSecret,
             summary="A new secret for the device (shown this once); the old one stops working at once")
def rotate_secret(request, device_id: int):
    actor = actor_of(request)
    device, secret = actions.rotate_device_secret(actor=actor, device=queries.access_device(actor, device_id))
    return _device_out(actor, device, secret)


@router.post("/devices/{id:device_id}/retire", response=DeviceOut,
             summary="Take a device out of service (its history stays; its serial is free again)")
def retire_device(request, device_id: int):
    actor = actor_of(request)
    device = actions.retire_device(actor=actor, device=queries.access_device(actor, device_id))
    return _device_out(actor, device)


# ---------------------------------------------------------------- events and passages

class EventQuery(Schema):
    place: Id | None = Field(None, description="events of devices at this place or below")
    device: Id | None = None
    kind: str | None = Field(None, max_length=32, description="a kind, or a family ending in a dot: camera.")
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@router.get("/device-events", response=EventPage, summary="Device events in my area, newest first")
def list_events(request, filters: Query[EventQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PASSAGE_VIEW)
    qs = queries.search_events(actor, queries.EventFilter(place_id=filters.place, device_id=filters.device,
                                                          kind=filters.kind, since=filters.since, until=filters.until))
    return paginate(queries.with_event_relations(qs), paging)


@router.get("/device-events/{id:event_id}", response=EventDetail, summary="One device event with its raw payload")
def get_event(request, event_id: int):
    return queries.access_event(actor_of(request), event_id)


class PassageQuery(Schema):
    resident: Id | None = Field(None, description="passages of this resident")
    person: str | None = Field(None, max_length=60, description="part of a resident's name")
    plate: str | None = Field(None, max_length=20, description="a plate (鄂L12345) or part of one")
    place: Id | None = Field(None, description="doors and gates at this place or below")
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    direction: DirectionName | None = None


@router.get("/passages", response=EventPage,
            summary="Door and gate passages in my area by person, plate, place and time, newest first")
def list_passages(request, filters: Query[PassageQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PASSAGE_VIEW)
    if filters.since and filters.until and filters.since >= filters.until:
        raise invalid("until", "range", "结束时间须晚于开始时间", "until must be after since")
    qs = queries.search_passages(actor, queries.PassageFilter(
        resident_id=filters.resident, person=filters.person, plate=filters.plate, place_id=filters.place,
        since=filters.since, until=filters.until, direction=filters.direction))
    return paginate(queries.with_event_relations(qs), paging)


@router.get("/passages/last-seen/{id:resident_id}", response=LastSeenOut,
            summary="When and where a resident last passed a door or gate")
def last_seen(request, resident_id: int):
    actor = actor_of(request)
    resident = access_resident(actor, resident_id)
    actor.require(Perm.PASSAGE_VIEW, resident.place_path)
    presence = queries.presence_of(resident)
    return {"resident": resident, "last_seen_at": presence and presence.last_seen_at,
            "device": presence and presence.last_device, "place_path": presence.last_place_path if presence else "",
            "kind": presence.last_kind if presence else ""}


# ---------------------------------------------------------------- quarantine

class QuarantineQuery(Schema):
    place: Id | None = None
    device: Id | None = None
    reason: str | None = Field(None, max_length=40, description="a reason code such as invalid_json")
    status: str | None = Field(None, max_length=12, description="open or reprocessed")
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _quarantine_detail(actor: Actor, item: QuarantinedPayload) -> QuarantinedPayload:
    item.payload_text = (bytes(item.payload[:PAYLOAD_PREVIEW]).decode("utf-8", "replace")
                         if queries.payload_visible(actor, item) else None)
    return item


@router.get("/quarantine", response=QuarantinePage, summary="Payloads that could not become events, newest first")
def list_quarantine(request, filters: Query[QuarantineQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.DEVICE_VIEW)
    qs = queries.search_quarantine(actor, queries.QuarantineFilter(
        place_id=filters.place, device_id=filters.device, reason=filters.reason, status=filters.status,
        since=filters.since, until=filters.until))
    return paginate(qs, paging)


@router.get("/quarantine/{id:item_id}", response=QuarantineDetail, summary="One quarantined payload and its reason")
def get_quarantined(request, item_id: int):
    actor = actor_of(request)
    return _quarantine_detail(actor, queries.access_quarantined(actor, item_id))


@router.post("/quarantine/{id:item_id}/reprocess", response=QuarantineDetail,
             summary="Parse a quarantined payload again (after an adapter fix); stores its events if it now parses")
def reprocess(request, item_id: int):
    actor = actor_of(request)
    item = actions.reprocess_quarantined(actor=actor, item=queries.access_quarantined(actor, item_id))
    return _quarantine_detail(actor, item)


# ---------------------------------------------------------------- credentials

class CredentialQuery(Schema):
    place: Id | None = None
    resident: Id | None = None
    device: Id | None = None


@router.get("/device-credentials", response=CredentialPage,
            summary="Who the devices' employee numbers, cards and face ids are")
def list_credentials(request, filters: Query[CredentialQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PASSAGE_VIEW)
    qs = queries.visible_credentials(actor)
    if filters.place:
        qs = qs.filter(place_path__startswith=access_place(actor, filters.place).path)
    if filters.resident:
        qs = qs.filter(resident_id=filters.resident)
    if filters.device:
        qs = qs.filter(device_id=filters.device)
    return paginate(qs.order_by("place_path", "ref_type", "ref", "id"), paging)


@router.post("/device-credentials", response={201: CredentialOut},
             summary="Map a device's employee number, card or face id to a resident (one device, or a place)")
def add_credential(request, payload: CredentialIn):
    actor = actor_of(request)
    resident = access_resident(actor, payload.resident_id)
    device = queries.access_device(actor, payload.device_id) if payload.device_id else None
    place = access_place(actor, payload.place_id) if payload.place_id and device is None else None
    credential = actions.add_credential(actor=actor, resident=resident, ref_type=payload.ref_type, ref=payload.ref,
                                        device=device, place=place, note=payload.note)
    return Status(201, queries.access_credential(actor, credential.pk))


@router.delete("/device-credentials/{id:credential_id}", response={204: None}, summary="Remove a credential")
def remove_credential(request, credential_id: int):
    actor = actor_of(request)
    actions.remove_credential(actor=actor, credential=queries.access_credential(actor, credential_id))
    return Status(204, None)


# ---------------------------------------------------------------- vehicles

class VehicleQuery(Schema):
    place: Id | None = None
    plate: str | None = Field(None, max_length=20, description="part of a plate")


@router.get("/vehicles", response=VehiclePage, summary="Registered vehicles in my area")
def list_vehicles(request, filters: Query[VehicleQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PASSAGE_VIEW)
    qs = queries.visible_vehicles(actor).filter(active=True)
    if filters.place:
        qs = qs.filter(place_path__startswith=access_place(actor, filters.place).path)
    if filters.plate:
        qs = qs.filter(plate__contains=filters.plate.strip().upper())
    return paginate(qs.order_by("plate", "id"), paging)


@router.post("/vehicles", response={201: VehicleOut}, summary="Register a vehicle (its plate resolves gate passages)")
def register_vehicle(request, payload: VehicleIn):
    actor = actor_of(request)
    place = access_place(actor, payload.place_id)
    owner = access_resident(actor, payload.owner_id) if payload.owner_id else None
    vehicle = actions.register_vehicle(actor=actor, place=place, plate=payload.plate, owner=owner,
                                       plate_color=payload.plate_color, note=payload.note)
    return Status(201, queries.access_vehicle(actor, vehicle.pk))


@router.delete("/vehicles/{id:vehicle_id}", response={204: None}, summary="Remove a vehicle from the register")
def retire_vehicle(request, vehicle_id: int):
    actor = actor_of(request)
    actions.retire_vehicle(actor=actor, vehicle=queries.access_vehicle(actor, vehicle_id))
    return Status(204, None)


# ---------------------------------------------------------------- visitor passes

class VisitorPassQuery(Schema):
    place: Id | None = None
    current: bool = Field(False, description="only passes valid now")


@router.get("/visitor-passes", response=VisitorPassPage, summary="Visitor passes in my area, newest first")
def list_visitor_passes(request, filters: Query[VisitorPassQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PASSAGE_VIEW)
    qs = queries.visible_visitor_passes(actor)
    if filters.place:
        qs = qs.filter(place_path__startswith=access_place(actor, filters.place).path)
    if filters.current:
        now = timezone.now()
        qs = qs.filter(valid_from__lte=now, valid_until__gt=now, revoked_at__isnull=True)
    return paginate(qs.order_by("-valid_from", "-id"), paging)


@router.post("/visitor-passes", response={201: VisitorPassOut}, summary="Issue a visitor pass (code and/or plate)")
def issue_visitor_pass(request, payload: VisitorPassIn):
    actor = actor_of(request)
    place = access_place(actor, payload.place_id)
    host = access_resident(actor, payload.host_id) if payload.host_id else None
    visitor_pass = actions.issue_visitor_pass(actor=actor, place=place, name=payload.name, host=host,
                                              plate=payload.plate, valid_from=payload.valid_from,
                                              valid_until=payload.valid_until)
    return Status(201, queries.access_visitor_pass(actor, visitor_pass.pk))


@router.post("/visitor-passes/{id:pass_id}/revoke", response=VisitorPassOut, summary="Revoke a visitor pass")
def revoke_visitor_pass(request, pass_id: int):
    actor = actor_of(request)
    visitor_pass = actions.revoke_visitor_pass(actor=actor, visitor_pass=queries.access_visitor_pass(actor, pass_id))
    return queries.access_visitor_pass(actor, visitor_pass.pk)
