"""Scoped reads of devices, events, passages, the quarantine list, credentials, vehicles and visitor passes.

The registry and quarantine metadata need DEVICE_VIEW; what devices reported (events, passages, payload bytes,
credentials, vehicles, visitor passes) is personal data and needs PASSAGE_VIEW in the row's area.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.identity import clean_text
from linli.core.permissions import Perm
from linli.people.models import Resident
from linli.people.queries import visible_residents
from linli.places.queries import access_place

from .adapters import PASSAGE_KINDS, normalize_plate
from .models import Device, DeviceCredential, DeviceEvent, PersonPresence, QuarantinedPayload, Vehicle, VisitorPass

PASSAGES = sorted(k.value for k in PASSAGE_KINDS)
FULL_PLATE = 7  # a province character, a letter and five characters at least


def _get(qs: QuerySet, pk: int | str, what: str):
    try:
        return qs.get(pk=int(pk))
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(what) from exc


def _under_place(actor: Actor, qs: QuerySet, place_id: int | None) -> QuerySet:
    if place_id:
        qs = qs.filter(place_path__startswith=access_place(actor, place_id).path)
    return qs


def _between(qs: QuerySet, since: dt.datetime | None, until: dt.datetime | None, field: str) -> QuerySet:
    if since:
        qs = qs.filter(**{f"{field}__gte": since})
    if until:
        qs = qs.filter(**{f"{field}__lt": until})
    return qs


# ------------------------------------------------------------------------------------------------ devices

@dataclass
class DeviceFilter:
    place_id: int | None = None
    kind: str | None = None
    vendor: str | None = None
    status: str | None = None
    q: str | None = None  # part of the name or the serial
    retired: bool = False


def visible_devices(actor: Actor) -> QuerySet[Device]:
    return Device.objects.filter(actor.scope_q(Perm.DEVICE_VIEW))


def search_devices(actor: Actor, f: DeviceFilter) -> QuerySet[Device]:
    qs = _under_place(actor, visible_devices(actor), f.place_id).filter(retired_at__isnull=not f.retired)
    for field in ("kind", "vendor", "status"):
        if getattr(f, field):
            qs = qs.filter(**{field: getattr(f, field)})
    if f.q:
        text = clean_text(f.q)
        qs = qs.filter(Q(name__contains=text) | Q(serial__contains=text))
    return qs.select_related("place", "gateway")


def access_device(actor: Actor, pk: int | str) -> Device:
    return _get(visible_devices(actor).select_related("place", "gateway", "wearer"), pk, "device")


def with_wearer_names(actor: Actor, devices: Iterable[Device]) -> list[Device]:
    """Each device's ``wearer_name``, for roles that may see the wearer (None for the others). The wearer must
    have been fetched with the device (select_related), so a list costs no extra query."""
    devices = list(devices)
    for device in devices:
        wearer = device.wearer if device.wearer_id else None
        device.wearer_name = wearer.name if wearer and actor.can(Perm.RESIDENT_VIEW, wearer.place_path) else None
    return devices


# ------------------------------------------------------------------------------------------------ events

@dataclass
class EventFilter:
    place_id: int | None = None
    device_id: int | None = None
    kind: str | None = None  # a kind, or a family such as "passage." or "camera."
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def visible_events(actor: Actor) -> QuerySet[DeviceEvent]:
    return DeviceEvent.objects.filter(actor.scope_q(Perm.PASSAGE_VIEW))


def search_events(actor: Actor, f: EventFilter) -> QuerySet[DeviceEvent]:
    qs = _between(_under_place(actor, visible_events(actor), f.place_id), f.since, f.until, "occurred_at")
    if f.device_id:
        qs = qs.filter(device_id=f.device_id)
    if f.kind:
        qs = qs.filter(kind__startswith=f.kind) if f.kind.endswith(".") else qs.filter(kind=f.kind)
    return qs.order_by("-occurred_at", "-id")


def with_event_relations(qs: QuerySet[DeviceEvent]) -> QuerySet[DeviceEvent]:
    """What a row shows (device and its place, the resident, vehicle or visitor), fetched in the same query."""
    return qs.select_related("device__place", "resident", "vehicle", "visitor").defer("raw")


def access_event(actor: Actor, pk: int | str) -> DeviceEvent:
    return _get(visible_events(actor).select_related("device__place", "resident", "vehicle", "visitor"), pk, "event")


# ------------------------------------------------------------------------------------------------ passages

@dataclass
class PassageFilter:
    resident_id: int | None = None
    person: str | None = None  # part of a resident's name
    plate: str | None = None  # a full plate, or part of one
    place_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    direction: str | None = None


def search_passages(actor: Actor, f: PassageFilter) -> QuerySet[DeviceEvent]:
    """Door and gate passages in the actor's area, newest first."""
    qs = visible_events(actor).filter(kind__in=PASSAGES)
    qs = _between(_under_place(actor, qs, f.place_id), f.since, f.until, "occurred_at")
    if f.resident_id:
        resident = _get(visible_residents(actor), f.resident_id, "resident")
        qs = qs.filter(resident=resident)
    if f.person:
        qs = qs.filter(resident__in=visible_residents(actor).filter(name__contains=clean_text(f.person)))
    if f.plate:
        plate = normalize_plate(f.plate) or clean_text(f.plate).upper().replace(" ", "")
        if len(plate) >= FULL_PLATE and not plate[0].isascii():  # a whole plate (鄂L12345): the index finds it
            qs = qs.filter(subject_kind="plate", subject_ref=plate)
        else:
            qs = qs.filter(subject_kind="plate", subject_ref__contains=plate)
    if f.direction:
        qs = qs.filter(direction=f.direction)
    return qs.order_by("-occurred_at", "-id")


def presence_of(resident: Resident) -> PersonPresence | None:
    return PersonPresence.objects.filter(resident=resident).select_related("last_device").first()


# ------------------------------------------------------------------------------------------------ quarantine

@dataclass
class QuarantineFilter:
    place_id: int | None = None
    device_id: int | None = None
    reason: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def visible_quarantine(actor: Actor) -> QuerySet[QuarantinedPayload]:
    return QuarantinedPayload.objects.filter(actor.scope_q(Perm.DEVICE_VIEW))


def search_quarantine(actor: Actor, f: QuarantineFilter) -> QuerySet[QuarantinedPayload]:
    qs = _between(_under_place(actor, visible_quarantine(actor), f.place_id), f.since, f.until, "received_at")
    for field, value in (("device_id", f.device_id), ("reason_code", f.reason), ("status", f.status)):
        if value:
            qs = qs.filter(**{field: value})
    return qs.select_related("device").defer("payload").order_by("-received_at", "-id")


def access_quarantined(actor: Actor, pk: int | str) -> QuarantinedPayload:
    return _get(visible_quarantine(actor).select_related("device"), pk, "quarantined payload")


def payload_visible(actor: Actor, item: QuarantinedPayload) -> bool:
    """Payload bytes can carry names, card numbers and faces: only for those who may read passages there."""
    return bool(item.place_path) and actor.can(Perm.PASSAGE_VIEW, item.place_path)


# ------------------------------------------------------------------------------------------------ credentials, vehicles, passes

def visible_credentials(actor: Actor) -> QuerySet[DeviceCredential]:
    return DeviceCredential.objects.filter(actor.scope_q(Perm.PASSAGE_VIEW)).select_related("device", "resident", "place")


def access_credential(actor: Actor, pk: int | str) -> DeviceCredential:
    return _get(visible_credentials(actor), pk, "credential")


def visible_vehicles(actor: Actor) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(actor.scope_q(Perm.PASSAGE_VIEW)).select_related("owner", "place")


def access_vehicle(actor: Actor, pk: int | str) -> Vehicle:
    return _get(visible_vehicles(actor), pk, "vehicle")


def visible_visitor_passes(actor: Actor) -> QuerySet[VisitorPass]:
    return VisitorPass.objects.filter(actor.scope_q(Perm.PASSAGE_VIEW)).select_related("host", "place")


def access_visitor_pass(actor: Actor, pk: int | str) -> VisitorPass:
    return _get(visible_visitor_passes(actor), pk, "visitor pass")
