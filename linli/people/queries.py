"""Scoped reads of residents: lists with filters, one resident, households."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.errors import NotFound
from linli.core.identity import IdNumberError, clean_text, normalize_id_number, normalize_mobile
from linli.core.permissions import Perm

from .choices import ResidentStatus
from .models import CareTag, EmergencyContact, ImportJob, Occupancy, Resident, ResidentTag


@dataclass
class ResidentFilter:
    place_id: int | None = None
    tag: str | None = None  # tag code; includes the tag's children
    age_min: int | None = None
    age_max: int | None = None
    q: str | None = None  # name fragment, or a full ID number / mobile number (found by keyed hash)
    status: str | None = ResidentStatus.ACTIVE
    sex: str | None = None


def visible_residents(actor: Actor) -> QuerySet[Resident]:
    return Resident.objects.filter(actor.scope_q(Perm.RESIDENT_VIEW))


def tag_and_descendants(code: str) -> list[int]:
    tags = list(CareTag.objects.values_list("pk", "parent_id", "code"))
    root = [pk for pk, _, c in tags if c == code]
    found = set(root)
    changed = True
    while changed:
        changed = False
        for pk, parent, _ in tags:
            if parent in found and pk not in found:
                found.add(pk)
                changed = True
    return sorted(found)


def birth_bounds(age_min: int | None, age_max: int | None, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """Birth-date range for people aged age_min..age_max (inclusive) on ``today``."""
    latest = earliest = None
    if age_min is not None:
        latest = _years_before(today, age_min)
    if age_max is not None:
        earliest = _years_before(today, age_max + 1) + dt.timedelta(days=1)
    return earliest, latest


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def search_residents(actor: Actor, f: ResidentFilter, *, today: dt.date | None = None) -> QuerySet[Resident]:
    from linli.places.queries import access_place

    qs = visible_residents(actor)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.place_id:
        place = access_place(actor, f.place_id)
        qs = qs.filter(place_path__startswith=place.path)
    if f.tag:
        ids = tag_and_descendants(f.tag)
        # IN (not a correlated EXISTS): the database starts from the tag index instead of probing every resident.
        qs = qs.filter(pk__in=ResidentTag.objects.filter(tag_id__in=ids, until__isnull=True).values("resident_id"))
    if f.sex:
        qs = qs.filter(sex=f.sex)
    if f.age_min is not None or f.age_max is not None:
        earliest, latest = birth_bounds(f.age_min, f.age_max, today or timezone.localdate())
        if latest:
            qs = qs.filter(birth_date__lte=latest)
        if earliest:
            qs = qs.filter(birth_date__gte=earliest)
    if f.q:
        text = clean_text(f.q)
        try:
            qs = qs.filter(id_hash=lookup_hash("id", normalize_id_number(text)))
        except IdNumberError:
            try:
                qs = qs.filter(phone_hash=lookup_hash("phone", normalize_mobile(text)))
            except IdNumberError:
                qs = qs.filter(name__contains=text)
    return qs


def with_list_relations(qs: QuerySet[Resident]) -> QuerySet[Resident]:
    """What a list row shows (home place, open tags), fetched in a constant number of queries."""
    return qs.select_related("place").prefetch_related(
        Prefetch("tags", queryset=ResidentTag.objects.filter(until__isnull=True).select_related("tag"), to_attr="open_tags")
    )


def access_resident(actor: Actor, pk: int | str) -> Resident:
    try:
        return with_list_relations(visible_residents(actor)).get(pk=int(pk))
    except (Resident.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("resident") from exc


def resident_occupancies(resident: Resident) -> QuerySet[Occupancy]:
    return Occupancy.objects.filter(resident=resident).select_related("place").order_by("until", "-since")


def resident_contacts(resident: Resident) -> QuerySet[EmergencyContact]:
    return EmergencyContact.objects.filter(resident=resident)


def household(actor: Actor, dwelling_id: int) -> QuerySet[Occupancy]:
    """The current occupants of a dwelling (the household), within the actor's scope."""
    return Occupancy.objects.filter(actor.scope_q(Perm.RESIDENT_VIEW), place_id=dwelling_id, until__isnull=True).select_related("resident")


def access_occupancy(actor: Actor, pk: int | str) -> Occupancy:
    try:
        return Occupancy.objects.filter(actor.scope_q(Perm.RESIDENT_VIEW)).select_related("resident").get(pk=int(pk))
    except (Occupancy.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("occupancy") from exc


def access_contact(actor: Actor, pk: int | str) -> EmergencyContact:
    try:
        return EmergencyContact.objects.filter(actor.scope_q(Perm.RESIDENT_VIEW, "resident__place_path")).select_related(
            "resident").get(pk=int(pk))
    except (EmergencyContact.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("emergency contact") from exc


def care_tags() -> QuerySet[CareTag]:
    return CareTag.objects.filter(active=True)


def visible_import_jobs(actor: Actor) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(actor.scope_q(Perm.RESIDENT_IMPORT))


def access_import_job(actor: Actor, pk: int | str) -> ImportJob:
    try:
        return visible_import_jobs(actor).get(pk=int(pk))
    except (ImportJob.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("import job") from exc
