"""/api/v1/: residents, occupancies, care tags, emergency contacts, households, spreadsheet import and export."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from linli.api import Paging, actor_of, paginate, paginate_by_key
from linli.core.actor import Actor
from linli.core.errors import invalid
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind
from linli.places.models import Place
from linli.places.queries import access_place
from linli.places.schemas import Id

from . import actions, queries
from .choices import ResidentStatus
from .models import Occupancy, Resident
from .schemas import (
    CareTagOut,
    ContactIn,
    ContactOut,
    HouseholdOut,
    ImportCommitIn,
    ImportJobOut,
    ImportJobPage,
    ImportRowErrorPage,
    OccupancyEndIn,
    OccupancyIn,
    OccupancyOut,
    ResidentCreate,
    ResidentDetail,
    ResidentFields,
    ResidentPage,
    ResidentTagOut,
    RevealIn,
    RevealOut,
    SexCode,
    StatusName,
    TagsIn,
)

router = Router(tags=["people"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADDRESS_KINDS = (PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.DWELLING)


def address_labels(places: Iterable[Place]) -> dict[int, str]:
    """"祥和苑 1栋 1单元 101" for each place: the names from the estate down, in one query for any number of places.

    Only ancestors of places the actor already sees are read, and those are visible too (the tree is drawn down to
    every place in scope)."""
    places = list(places)
    ids = {pk for p in places for pk in p.ancestor_ids}
    names = {pk: (kind, name) for pk, kind, name in Place.objects.filter(pk__in=ids).values_list("pk", "kind", "name")}
    labels = {}
    for p in places:
        parts = [names[pk][1] for pk in p.ancestor_ids if pk in names and names[pk][0] in ADDRESS_KINDS]
        labels[p.pk] = " ".join(parts) or p.name
    return labels


def _with_addresses(residents: list[Resident]) -> list[Resident]:
    labels = address_labels(r.place for r in residents)
    for r in residents:
        r.address = labels[r.place_id]
    return residents


def _occupancies_with_addresses(rows: Iterable[Occupancy]) -> list[Occupancy]:
    rows = list(rows)
    labels = address_labels(o.place for o in rows)
    for o in rows:
        o.address = labels[o.place_id]
    return rows


def _list_rows(actor: Actor, keys: list[int]):
    """The rows of one list page; the encrypted columns stay encrypted (rows show masks only)."""
    return queries.with_list_relations(queries.visible_residents(actor).filter(pk__in=keys).defer("id_number", "phone"))


def _detail(actor: Actor, pk: int) -> Resident:
    resident = queries.access_resident(actor, pk)
    _with_addresses([resident])
    resident.occupancies_out = _occupancies_with_addresses(queries.resident_occupancies(resident))
    resident.contacts_out = list(queries.resident_contacts(resident))
    resident.can_edit = actor.can(Perm.RESIDENT_EDIT, resident.place_path)
    resident.can_reveal = actor.can(Perm.RESIDENT_REVEAL, resident.place_path)
    return resident


# ---------------------------------------------------------------- care tags

@router.get("/care-tags", response=list[CareTagOut], summary="The tree of care tags (特殊人群)")
def list_care_tags(request):
    return list(queries.care_tags())


# ---------------------------------------------------------------- residents

class ResidentQuery(Schema):
    place: Id | None = Field(None, description="residents living inside this place")
    tag: str | None = Field(None, description="care tag code; includes its sub-tags")
    age_min: int | None = Field(None, ge=0, le=150)
    age_max: int | None = Field(None, ge=0, le=150)
    q: str | None = Field(None, max_length=60, description="part of the name, or a full ID number or mobile number")
    status: StatusName | None = Field(ResidentStatus.ACTIVE.value, description="default: active residents")
    sex: SexCode | None = None

    def to_filter(self) -> queries.ResidentFilter:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise invalid("age_max", "range", "最大年龄不能小于最小年龄", "age_max is below age_min")
        return queries.ResidentFilter(place_id=self.place, tag=self.tag, age_min=self.age_min, age_max=self.age_max,
                                      q=self.q, status=self.status, sex=self.sex)


@router.get("/residents", response=ResidentPage, summary="Residents I can see, filtered; ID numbers and phones masked")
def list_residents(request, filters: Query[ResidentQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.RESIDENT_VIEW)
    page = paginate_by_key(queries.search_residents(actor, filters.to_filter()), paging,
                           lambda keys: _list_rows(actor, keys))
    page["items"] = _with_addresses(page["items"])
    return page


XLSX_RESPONSE = {"responses": {200: {"description": "an xlsx workbook",
                                     "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("/residents/export", summary="The filtered list as an xlsx sheet (masked unless your role may reveal)",
            openapi_extra=XLSX_RESPONSE)
def export_residents(request, filters: Query[ResidentQuery]):
    from .imports.actions import export_residents as export

    content, count = export(actor=actor_of(request), filters=filters.to_filter())
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="residents.xlsx"'
    response["X-Row-Count"] = str(count)
    return response


@router.get("/residents/{id:resident_id}", response=ResidentDetail, summary="One resident: masked fields, homes, tags, contacts")
def get_resident(request, resident_id: int):
    return _detail(actor_of(request), resident_id)


@router.post("/residents", response={201: ResidentDetail}, summary="Register a resident (an ID number already known is 409)")
def register_resident(request, payload: ResidentCreate):
    actor = actor_of(request)
    place = access_place(actor, payload.place_id)
    data = payload.model_dump(exclude_unset=True, exclude={"place_id", "relation", "since", "tags"})
    resident = actions.register_resident(actor=actor, place=place, relation=payload.relation or "",
                                         since=payload.since, tags=payload.tags, source="api", **data)
    return Status(201, _detail(actor, resident.pk))


@router.patch("/residents/{id:resident_id}", response=ResidentDetail, summary="Change a resident (only the fields sent)")
def update_resident(request, resident_id: int, payload: ResidentFields):
    actor = actor_of(request)
    resident = queries.access_resident(actor, resident_id)
    actions.update_resident(actor=actor, resident=resident, **payload.model_dump(exclude_unset=True))
    return _detail(actor, resident.pk)


@router.post("/residents/{id:resident_id}/reveal", response=RevealOut,
             summary="The full ID number or phone, with a reason (audited)")
def reveal(request, resident_id: int, payload: RevealIn):
    actor = actor_of(request)
    resident = queries.access_resident(actor, resident_id)
    value = actions.reveal_sensitive(actor=actor, resident=resident, field=payload.field, reason=payload.reason)
    return {"field": payload.field, "value": value}


@router.post("/residents/{id:resident_id}/occupancies", response={201: OccupancyOut},
             summary="The resident lives in (or owns, or rents) a dwelling from a date")
def add_occupancy(request, resident_id: int, payload: OccupancyIn):
    actor = actor_of(request)
    resident = queries.access_resident(actor, resident_id)
    dwelling = access_place(actor, payload.dwelling_id)
    occupancy = actions.add_occupancy(actor=actor, resident=resident, dwelling=dwelling, relation=payload.relation,
                                      since=payload.since, make_home=payload.make_home, note=payload.note)
    return Status(201, _occupancies_with_addresses([occupancy])[0])


@router.post("/occupancies/{id:occupancy_id}/end", response=OccupancyOut, summary="The resident no longer lives there")
def end_occupancy(request, occupancy_id: int, payload: OccupancyEndIn):
    actor = actor_of(request)
    occupancy = queries.access_occupancy(actor, occupancy_id)
    ended = actions.end_occupancy(actor=actor, occupancy=occupancy, until=payload.until)
    return _occupancies_with_addresses([ended])[0]


@router.put("/residents/{id:resident_id}/tags", response=list[ResidentTagOut], summary="Set the resident's care tags")
def set_tags(request, resident_id: int, payload: TagsIn):
    actor = actor_of(request)
    resident = queries.access_resident(actor, resident_id)
    return actions.set_tags(actor=actor, resident=resident, tags=payload.tags)


@router.post("/residents/{id:resident_id}/emergency-contacts", response={201: ContactOut}, summary="Add an emergency contact")
def add_contact(request, resident_id: int, payload: ContactIn):
    actor = actor_of(request)
    resident = queries.access_resident(actor, resident_id)
    contact = actions.add_emergency_contact(actor=actor, resident=resident, name=payload.name, phone=payload.phone,
                                            relation=payload.relation, priority=payload.priority)
    return Status(201, contact)


@router.delete("/emergency-contacts/{id:contact_id}", response={204: None}, summary="Remove an emergency contact")
def remove_contact(request, contact_id: int):
    actor = actor_of(request)
    actions.remove_emergency_contact(actor=actor, contact=queries.access_contact(actor, contact_id))
    return Status(204, None)


@router.get("/dwellings/{id:dwelling_id}/household", response=HouseholdOut, summary="Who lives in a dwelling now")
def household(request, dwelling_id: int):
    actor = actor_of(request)
    dwelling = access_place(actor, dwelling_id)
    if dwelling.kind != PlaceKind.DWELLING:
        raise invalid("dwelling_id", "wrong_kind", "请选择具体房屋", "choose a dwelling")
    actor.require(Perm.RESIDENT_VIEW, dwelling.path)
    members = queries.household(actor, dwelling.pk).order_by("relation", "since", "pk")
    return {"dwelling_id": dwelling.pk, "address": address_labels([dwelling])[dwelling.pk], "members": list(members)}


# ---------------------------------------------------------------- spreadsheet import

@router.get("/imports/template", summary="The residents sheet template (xlsx)", openapi_extra=XLSX_RESPONSE)
def import_template(request):
    from .imports.template import template_workbook

    actor_of(request).require(Perm.RESIDENT_IMPORT)
    response = HttpResponse(template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="residents-template.xlsx"'
    return response


@router.post("/imports", response={201: ImportJobOut}, summary="Upload a residents sheet; it is checked in the background")
def start_import(request, place_id: Form[Id], file: File[UploadedFile]):
    from .imports.actions import start_import as start

    actor = actor_of(request)
    place = access_place(actor, place_id)
    # A place the actor sees in the tree but may not import into is 403 here, as everywhere in the API.
    actor.require(Perm.RESIDENT_IMPORT, place.path)
    return Status(201, start(actor=actor, place=place, upload=file, filename=file.name or ""))


class ImportQuery(Schema):
    place: Id | None = Field(None, description="imports into this place or below")


@router.get("/imports", response=ImportJobPage, summary="Imports into my area, newest first")
def list_imports(request, filters: Query[ImportQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.RESIDENT_IMPORT)
    qs = queries.visible_import_jobs(actor)
    if filters.place is not None:
        qs = qs.filter(place_path__startswith=access_place(actor, filters.place).path)
    return paginate(qs.order_by("-created_at", "-id"), paging)


@router.get("/imports/{id:job_id}", response=ImportJobOut, summary="One import: status, progress and counters")
def get_import(request, job_id: int):
    return queries.access_import_job(actor_of(request), job_id)


@router.get("/imports/{id:job_id}/errors", response=ImportRowErrorPage,
            summary="Rejected rows: row number, column and reason in zh and en")
def import_errors(request, job_id: int, paging: Query[Paging]):
    job = queries.access_import_job(actor_of(request), job_id)
    return paginate(job.row_errors.order_by("row", "id"), paging)


@router.post("/imports/{id:job_id}/commit", response=ImportJobOut, summary="Keep the valid rows, or nothing")
def commit_import(request, job_id: int, payload: ImportCommitIn):
    from .imports.actions import commit_import as commit

    actor = actor_of(request)
    job = queries.access_import_job(actor, job_id)
    return commit(actor=actor, job=job, keep=payload.keep)
