"""A fingerprint of the registry's content, independent of database ids, to prove the demo is deterministic.

It covers places (by their chain of names), residents with their decrypted ID numbers and phones, tags,
occupancies, emergency contacts, facilities, grids and accounts. Ids, timestamps and ciphertexts (random nonces)
are left out: two databases seeded alike give the same digest even when their id sequences differ.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from django.contrib.auth import get_user_model

from linli.accounts.models import RoleAssignment
from linli.people.models import EmergencyContact, Occupancy, Resident, ResidentTag
from linli.places.models import Facility, Grid, Place


class _Chains:
    def __init__(self) -> None:
        self.names = dict(Place.objects.values_list("pk", "name"))
        self.paths = dict(Place.objects.values_list("pk", "path"))

    def of_path(self, path: str) -> str:
        return "/".join(self.names[int(x)] for x in path.strip("/").split("/") if x)

    def of(self, pk: int | None) -> str:
        return self.of_path(self.paths[pk]) if pk else ""


def _place_lines(chains: _Chains) -> list[str]:
    return [
        "P|" + "|".join(str(v) for v in (
            p.kind, chains.of_path(p.path), p.status, chains.of(p.merged_into_id), p.code, p.longitude, p.latitude,
            json.dumps(p.boundary, sort_keys=True), p.address, p.year_built, p.floors, p.dwelling_count, p.area_m2,
        ))
        for p in Place.objects.all()
    ]


def _resident_lines(chains: _Chains) -> list[str]:
    tags: dict[int, list[str]] = defaultdict(list)
    for rt in ResidentTag.objects.select_related("tag"):
        tags[rt.resident_id].append(f"{rt.tag.code}:{rt.grade}:{rt.since}:{rt.until}")
    homes: dict[int, list[str]] = defaultdict(list)
    for o in Occupancy.objects.all():
        homes[o.resident_id].append(f"{chains.of_path(o.place_path)}:{o.relation}:{o.since}:{o.until}")
    id_numbers = dict(Resident.objects.values_list("pk", "id_number"))
    contacts: dict[int, list[str]] = defaultdict(list)
    for c in EmergencyContact.objects.all():
        contacts[c.resident_id].append(
            f"{c.name}:{c.relation}:{c.phone}:{c.priority}:{id_numbers.get(c.contact_resident_id, '')}")
    return [
        "R|" + "|".join(str(v) for v in (
            chains.of_path(r.place_path), r.name, r.sex, r.birth_date, r.id_number, r.phone, r.ethnicity, r.notes,
            r.status, r.has_smartphone, r.source, sorted(tags[r.pk]), sorted(homes[r.pk]), sorted(contacts[r.pk]),
        ))
        for r in Resident.objects.all()
    ]


def _other_lines(chains: _Chains) -> list[str]:
    lines = [
        "F|" + "|".join(str(v) for v in (
            chains.of_path(f.place_path), f.kind, f.name, f.longitude, f.latitude, f.capacity, f.floor_area_m2,
            f.land_area_m2, f.opening_hours, f.operator, json.dumps(f.attrs, sort_keys=True, ensure_ascii=False),
        ))
        for f in Facility.objects.all()
    ]
    for g in Grid.objects.prefetch_related("buildings", "workers"):
        lines.append("G|" + "|".join(str(v) for v in (
            chains.of_path(g.place_path), g.name, g.code, sorted(chains.of_path(b.path) for b in g.buildings.all()),
            sorted(u.get_username() for u in g.workers.all()),
        )))
    roles: dict[int, list[str]] = defaultdict(list)
    for ra in RoleAssignment.objects.all():
        roles[ra.user_id].append(f"{ra.role}:{chains.of_path(ra.place_path)}:{ra.active}")
    for u in get_user_model().objects.all():
        lines.append(f"U|{u.get_username()}|{u.get_full_name()}|{u.is_superuser}|{u.has_usable_password()}|"
                     f"{sorted(roles[u.pk])}")
    return lines


def registry_digest() -> str:
    chains = _Chains()
    lines = sorted(_place_lines(chains) + _resident_lines(chains) + _other_lines(chains))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
