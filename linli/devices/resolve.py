"""Who or what an event is about: subjects resolved to residents, vehicles and visitor passes for a whole batch in
at most three queries, before the batch is written.

- A person's ref (employee number, card, face id) is looked up in DeviceCredential: a credential enrolled on the
  device itself wins, otherwise the one on the nearest place above the device.
- A plate is looked up among the active vehicles registered at a place above or below the device (the gate of an
  estate knows the cars registered in the estate or at a home in it); the vehicle's owner is the resident.
  A plate without a vehicle may be a visitor's car: a visitor pass with that plate, valid at the time.
- A visitor's ref is a visitor pass code, valid at the time, issued at a place above or below the device.
- A wristband's events belong to its wearer.

Records of another community never match: the place relation keeps one community's data out of another's events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import Q

from .adapters import SubjectKind
from .choices import CredentialType
from .models import DeviceCredential, Vehicle, VisitorPass
from .storage import EventRow, any_of, pg_array, where_in

CREDENTIAL_TYPES = frozenset(CredentialType.values)


class _Credential(NamedTuple):
    device_id: int | None
    place_path: str
    resident_id: int


class _Pass(NamedTuple):
    pk: int
    place_path: str
    code: str
    plate: str
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment <= self.valid_until and (self.revoked_at is None or moment < self.revoked_at)


def related(a: str, b: str) -> bool:
    """Two place paths on one branch of the tree: one is the other or lies below it."""
    return a.startswith(b) or b.startswith(a)


def resolve_subjects(rows: Sequence[EventRow], wearers: dict[int, int]) -> None:
    """Fill resident_id, vehicle_id and visitor_id of the rows in place. ``wearers``: device id -> resident id."""
    _resolve_people(rows)
    unresolved_plates = _resolve_vehicles(rows)
    _resolve_visitors(rows, unresolved_plates)
    for row in rows:
        if row.resident_id is None and row.subject_kind == SubjectKind.NONE and row.device_id in wearers:
            row.resident_id = wearers[row.device_id]


def _resolve_people(rows: Sequence[EventRow]) -> None:
    wanted = [r for r in rows if r.subject_kind == SubjectKind.RESIDENT and r.subject_ref_type in CREDENTIAL_TYPES]
    if not wanted:
        return
    found: dict[tuple[str, str], list[_Credential]] = defaultdict(list)
    query = where_in(DeviceCredential.objects.all(), "ref", {r.subject_ref for r in wanted})
    for device_id, place_path, ref_type, ref, resident_id in query.values_list(
            "device_id", "place_path", "ref_type", "ref", "resident_id"):
        found[(ref_type, ref)].append(_Credential(device_id, place_path, resident_id))
    for row in wanted:
        candidates = found.get((row.subject_ref_type, row.subject_ref), ())
        if len(candidates) == 1:  # the usual case: one credential, on the device or on a place
            only = candidates[0]
            if only.device_id == row.device_id or only.device_id is None and row.place_path.startswith(
                    only.place_path):
                row.resident_id = only.resident_id
            continue
        on_device = [c for c in candidates if c.device_id == row.device_id]
        on_place = [c for c in candidates if c.device_id is None and row.place_path.startswith(c.place_path)]
        best = on_device or sorted(on_place, key=lambda c: len(c.place_path), reverse=True)
        if best:
            row.resident_id = best[0].resident_id


def _resolve_vehicles(rows: Sequence[EventRow]) -> list[EventRow]:
    """Resolve plates to vehicles (and owners); the rows whose plate matched no vehicle."""
    wanted = [r for r in rows if r.subject_kind == SubjectKind.PLATE and r.subject_ref]
    if not wanted:
        return []
    by_plate: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
    query = where_in(Vehicle.objects.filter(active=True), "plate", {r.subject_ref for r in wanted})
    for pk, plate, place_path, owner_id in query.values_list("pk", "plate", "place_path", "owner_id"):
        by_plate[plate].append((pk, place_path, owner_id))
    missing = []
    for row in wanted:
        matches = [v for v in by_plate.get(row.subject_ref, []) if related(v[1], row.place_path)]
        if not matches:
            missing.append(row)
            continue
        pk, _path, owner_id = max(matches, key=lambda v: len(v[1]))
        row.vehicle_id, row.resident_id = pk, owner_id
    return missing


def _resolve_visitors(rows: Sequence[EventRow], plates: list[EventRow]) -> None:
    by_code = [r for r in rows if r.subject_kind == SubjectKind.VISITOR and r.subject_ref]
    if not by_code and not plates:
        return
    moments = [r.occurred_at for r in (*by_code, *plates)]
    codes, plate_refs = {r.subject_ref for r in by_code}, {r.subject_ref for r in plates}
    query = VisitorPass.objects.filter(valid_from__lte=max(moments), valid_until__gte=min(moments))
    if connection.vendor == "postgresql":  # one array each: see storage.where_in
        query = query.extra(where=[f"({any_of(VisitorPass, 'code')} OR {any_of(VisitorPass, 'plate')})"],
                            params=[pg_array(codes), pg_array(plate_refs)])
    else:
        query = query.filter(Q(code__in=codes) | Q(plate__in=plate_refs))
    passes = [_Pass(*values) for values in query.values_list(
        "pk", "place_path", "code", "plate", "valid_from", "valid_until", "revoked_at")]
    for row, field in [*((r, "code") for r in by_code), *((r, "plate") for r in plates)]:
        matches = [p for p in passes if getattr(p, field) == row.subject_ref and p.valid_at(row.occurred_at)
                   and related(p.place_path, row.place_path)]
        if matches:
            row.visitor_id = max(matches, key=lambda p: p.valid_from).pk
