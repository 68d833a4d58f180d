"""/api/v1/tickets: submit and follow tickets, take each step of the status table, photos, ratings, categories,
return visits and KPIs (JSON and xlsx). Thin: parse, fetch through queries.access_*, call one action."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from linli.api import Paging, actor_of, paginate
from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.permissions import Perm
from linli.people.queries import access_resident
from linli.places.queries import access_place

from . import actions, kpis, queries
from .models import Ticket
from .schemas import (
    AssignIn,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    ChannelName,
    GroupName,
    KindName,
    KpiOut,
    NoteIn,
    OptionalReasonIn,
    PhotoOut,
    RatingIn,
    RatingOut,
    ReasonIn,
    ReassignIn,
    ReturnVisitComplete,
    ReturnVisitOut,
    ReturnVisitPage,
    StageName,
    StatusName,
    TicketCreate,
    TicketDetail,
    TicketPage,
    TransferIn,
    VisitStatusName,
)

router = Router(tags=["tickets"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _detail(actor: Actor, ticket_id: int) -> Ticket:
    ticket = queries.ticket_detail(actor, ticket_id)
    ticket.allowed_actions = actions.allowed_actions(actor, ticket)
    return ticket


class TicketQuery(Schema):
    status: StatusName | None = None
    kind: KindName | None = None
    category_id: int | None = None
    place_id: int | None = None
    organisation_id: int | None = None
    assignee_id: int | None = None
    overdue: bool | None = None
    channel: ChannelName | None = None
    q: str | None = None


class TicketPaging(Paging):
    cursor: str | None = Field(None, description="the next_cursor of the previous page: continue after its last "
                               "ticket (offset then counts from there, normally 0)")


@router.get("/tickets", response=TicketPage, summary="Tickets I may see: my own (resident) or the pool of my area")
def list_tickets(request, filters: Query[TicketQuery], paging: Query[TicketPaging]):
    """Four queries of tickets whatever the page: the scope's probe, the page's keys (one more than the limit, to
    know whether a next page exists), its rows, the bounded count of the whole search (the cursor aside)."""
    actor = actor_of(request)
    search = queries.search_tickets(actor, queries.TicketFilter(**filters.dict()))
    pool = queries.after_cursor(search, paging.cursor) if paging.cursor else search
    keys = queries.page_keys(pool, paging.offset, paging.limit + 1)  # one more: is there a next page?
    more, keys = len(keys) > paging.limit, keys[:paging.limit]
    rows = {t.pk: t for t in queries.with_row_relations(Ticket.objects.filter(pk__in=keys))} if keys else {}
    items = [rows[k] for k in keys]
    count = search.count()
    return {"count": count, "count_capped": count > search.count_cap, "limit": paging.limit,
            "offset": paging.offset, "next_cursor": queries.cursor_of(items[-1]) if more else None, "items": items}


@router.post("/tickets", response={201: TicketDetail}, summary="Submit a ticket (a resident, or staff for a resident)")
def submit_ticket(request, payload: TicketCreate):
    actor = actor_of(request)
    place = queries.access_ticket_place(actor, payload.place_id)
    category = queries.access_category(actor, payload.category_id)
    reporter = access_resident(actor, payload.reporter_id) if payload.reporter_id else None
    data = payload.dict(exclude={"place_id", "category_id", "reporter_id"})
    ticket = actions.submit_ticket(actor=actor, place=place, category=category, reporter=reporter, **data)
    return Status(201, _detail(actor, ticket.pk))


@router.get("/tickets/categories", response=list[CategoryOut], summary="Categories: all I may see, or those usable at a place")
def list_categories(request, place_id: int | None = None):
    actor = actor_of(request)
    if place_id:
        return list(queries.categories_at(queries.access_ticket_place(actor, place_id)))
    return list(queries.visible_categories(actor).order_by("sort", "id"))


@router.post("/tickets/categories", response={201: CategoryOut}, summary="Add a category (for the platform or a place)")
def create_category(request, payload: CategoryCreate):
    actor = actor_of(request)
    place = access_place(actor, payload.place_id) if payload.place_id else None
    data = payload.dict(exclude={"place_id"}, exclude_none=True)
    return Status(201, actions.create_category(actor=actor, place=place, **data))


@router.patch("/tickets/categories/{category_id}", response=CategoryOut, summary="Change a category's deadlines and rules")
def update_category(request, category_id: int, payload: CategoryUpdate):
    actor = actor_of(request)
    category = queries.access_category(actor, category_id)
    return actions.update_category(actor=actor, category=category, **payload.dict(exclude_unset=True, exclude_none=True))


class VisitQuery(Schema):
    status: VisitStatusName | None = "pending"
    place_id: int | None = None


@router.get("/tickets/return-visits", response=ReturnVisitPage, summary="Return visits due in my area")
def list_return_visits(request, filters: Query[VisitQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.TICKET_HANDLE)
    return paginate(queries.search_return_visits(actor, filters.status, filters.place_id), paging)


@router.post("/tickets/return-visits/{visit_id}/complete", response=ReturnVisitOut, summary="Record a return visit's outcome")
def complete_return_visit(request, visit_id: int, payload: ReturnVisitComplete):
    actor = actor_of(request)
    visit = queries.access_return_visit(actor, visit_id)
    return actions.complete_return_visit(actor=actor, visit=visit, outcome=payload.outcome, note=payload.note)


class KpiQuery(Schema):
    group: GroupName = "total"
    since: dt.date | None = None
    until: dt.date | None = None
    place_id: int | None = None
    organisation_id: int | None = None
    category_id: int | None = None
    assignee_id: int | None = None
    kind: KindName | None = None


def _kpis(request, filters: KpiQuery) -> kpis.KpiTable:
    data = filters.dict()
    group = data.pop("group")
    return kpis.kpi_table(actor_of(request), kpis.KpiFilter(**data), group)


def _kpi_row(row: kpis.KpiRow) -> dict:
    return {**vars(row), **{rate: getattr(row, rate) for rate in kpis.RATES}}


@router.get("/tickets/kpis", response=KpiOut, summary="KPIs of my area for a period, grouped, with their targets")
def get_kpis(request, filters: Query[KpiQuery]):
    table = _kpis(request, filters)
    return {"group": table.group, "since": table.since, "until": table.until, "targets": table.targets,
            "total": _kpi_row(table.total), "rows": [_kpi_row(r) for r in table.rows]}


@router.get("/tickets/kpis.xlsx", summary="The KPI table as an Excel workbook")
def export_kpis(request, filters: Query[KpiQuery]):
    table = _kpis(request, filters)
    response = HttpResponse(kpis.kpi_xlsx(table), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="ticket-kpis-{table.since:%Y%m%d}-{table.until:%Y%m%d}.xlsx"'
    return response


@router.get("/tickets/{ticket_id}", response=TicketDetail, summary="One ticket with its history, photos and rating")
def get_ticket(request, ticket_id: int):
    return _detail(actor_of(request), ticket_id)


def _step(summary: str, body: type[Schema] | None, call: Callable[..., Ticket], path: str) -> None:
    """POST /tickets/{ticket_id}/<step>: one route per step of the status table."""
    if body is None:
        def view(request, ticket_id: int):
            actor = actor_of(request)
            call(actor=actor, ticket=queries.access_ticket(actor, ticket_id))
            return _detail(actor, ticket_id)
    else:
        def view(request, ticket_id: int, payload):
            actor = actor_of(request)
            call(actor=actor, ticket=queries.access_ticket(actor, ticket_id), **payload.dict())
            return _detail(actor, ticket_id)

        view.__annotations__ = {"ticket_id": int, "payload": body}
    view.__name__ = f"ticket_{path.replace('-', '_')}"
    router.post(f"/tickets/{{ticket_id}}/{path}", response=TicketDetail, summary=summary)(view)


def _transfer(*, actor: Actor, ticket: Ticket, organisation_id: int, reason: str) -> Ticket:
    actions.check_step(actor, ticket, "transfer")
    organisation = queries.access_organisation(actor, organisation_id)
    return actions.transfer_ticket(actor=actor, ticket=ticket, organisation=organisation, reason=reason)


def _comment(*, actor: Actor, ticket: Ticket, note: str) -> Ticket:
    actions.comment_ticket(actor=actor, ticket=ticket, note=note)
    return ticket


_step("Accept (受理); round-robin categories are dispatched at once", NoteIn, actions.accept_ticket, "accept")
_step("Reject with a reason (不予受理)", ReasonIn, actions.reject_ticket, "reject")
_step("Withdraw my own ticket", OptionalReasonIn, actions.withdraw_ticket, "withdraw")
_step("Assign to a member of the responsible organisation (派单)", AssignIn, actions.assign_ticket, "assign")
_step("Grab: take it myself, first taker wins (抢单)", None, actions.grab_ticket, "grab")
_step("Round-robin: to the on-duty member assigned longest ago (轮派)", None, actions.dispatch_ticket, "dispatch")
_step("Reassign to another member with a reason (改派)", ReassignIn, actions.reassign_ticket, "reassign")
_step("Transfer to another organisation with a reason (转办)", TransferIn, _transfer, "transfer")
_step("Start the work (assignee)", None, actions.start_ticket, "start")
_step("Pause with a reason (挂起); the resolution clock stops", ReasonIn, actions.pause_ticket, "pause")
_step("Resume the work", None, actions.resume_ticket, "resume")
_step("Resolve with a note (办结)", NoteIn, actions.resolve_ticket, "resolve")
_step("Confirm the result: closed (the reporter)", None, actions.confirm_ticket, "confirm")
_step("Reopen with a reason, within the category's window", ReasonIn, actions.reopen_ticket, "reopen")
_step("Add a comment to the history", NoteIn, _comment, "comment")


def _uploads(files: list[UploadedFile]) -> list[actions.Upload]:
    """At most the size limit plus one byte of each file is read: a larger one is refused without reading it."""
    limit = settings.LINLI_TICKET_PHOTO_MAX_BYTES + 1
    return [actions.Upload(name=f.name or "photo", data=f.read(limit)) for f in files]


@router.post("/tickets/{ticket_id}/photos", response={201: list[PhotoOut]}, summary="Upload photos (report or result, 9 per stage)")
def upload_photos(request, ticket_id: int, stage: Form[StageName], photos: File[list[UploadedFile]]):
    actor = actor_of(request)
    ticket = queries.access_ticket(actor, ticket_id)
    return Status(201, actions.add_photos(actor=actor, ticket=ticket, stage=stage, photos=_uploads(photos)))


@router.get("/tickets/{ticket_id}/photos/{photo_id}", summary="A photo (JPEG without EXIF), or its thumbnail")
def get_photo(request, ticket_id: int, photo_id: int, thumbnail: bool = False):
    actor = actor_of(request)
    ticket = queries.access_ticket(actor, ticket_id)
    photo = queries.ticket_photos(ticket).filter(pk=photo_id).first()
    if photo is None:
        raise NotFound("photo")
    return FileResponse(default_storage.open(photo.thumbnail if thumbnail else photo.file, "rb"),
                        content_type="image/jpeg")


@router.post("/tickets/{ticket_id}/rating", response={201: RatingOut}, summary="Rate my closed ticket, once")
def rate_ticket(request, ticket_id: int, payload: RatingIn):
    actor = actor_of(request)
    ticket = queries.access_ticket(actor, ticket_id)
    return Status(201, actions.rate_ticket(actor=actor, ticket=ticket, **payload.dict()))
