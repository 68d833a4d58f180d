"""API schemas of tickets, their history, photos, ratings, categories, return visits and KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from linli.places.schemas import Id

from .choices import (
    Channel,
    DispatchMode,
    OrganisationKind,
    PhotoStage,
    ReturnVisitOutcome,
    ReturnVisitStatus,
    TicketKind,
    TicketStatus,
)

KindName = Literal[tuple(TicketKind.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(TicketStatus.values)]  # type: ignore[valid-type]
ChannelName = Literal[tuple(Channel.values)]  # type: ignore[valid-type]
ModeName = Literal[tuple(DispatchMode.values)]  # type: ignore[valid-type]
OrgKindName = Literal[tuple(OrganisationKind.values)]  # type: ignore[valid-type]
StageName = Literal[tuple(PhotoStage.values)]  # type: ignore[valid-type]
VisitStatusName = Literal[tuple(ReturnVisitStatus.values)]  # type: ignore[valid-type]
OutcomeName = Literal[tuple(ReturnVisitOutcome.values)]  # type: ignore[valid-type]
GroupName = Literal["total", "place", "organisation", "category", "assignee", "month", "kind"]


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


class TicketRow(Schema):
    id: int
    number: str
    kind: str
    kind_label: str
    category_id: int
    category_name: str
    title: str
    status: str
    status_label: str
    channel: str
    place_id: int
    place_name: str
    place_label: str = Field("", description="the place as residents say it, from the estate down: "
                             "\"祥和苑 3栋 2单元 501\" for a dwelling, the place's name at an estate and above")
    place_path: str
    organisation_id: int
    organisation_name: str
    assignee_id: int | None
    assignee_name: str
    reporter_id: int | None
    reporter_name: str
    created_at: dt.datetime
    respond_by: dt.datetime
    resolve_by: dt.datetime
    response_overdue: bool
    resolution_overdue: bool
    reopen_count: int

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return _label(TicketKind, obj.kind)

    @staticmethod
    def resolve_status_label(obj) -> str:
        return _label(TicketStatus, obj.status)

    @staticmethod
    def resolve_category_name(obj) -> str:
        return obj.category.name

    @staticmethod
    def resolve_place_name(obj) -> str:
        return obj.place.name

    @staticmethod
    def resolve_place_label(obj) -> str:
        return getattr(obj, "place_label", None) or obj.place.name

    @staticmethod
    def resolve_organisation_name(obj) -> str:
        return obj.organisation.name

    @staticmethod
    def resolve_assignee_name(obj) -> str:
        return (obj.assignee.get_full_name() or obj.assignee.get_username()) if obj.assignee else ""

    @staticmethod
    def resolve_reporter_name(obj) -> str:
        return obj.reporter.name if obj.reporter else obj.reporter_name


class TicketPage(Schema):
    count: int = Field(..., description="the tickets matching, exact up to 10,000 (1,000 for a search by words); "
                       "one more means more than that (then count_capped is true): a pool is not counted row by "
                       "row on every page")
    count_capped: bool = Field(False, description="true when there are more than 10,000 (1,000 for words): count is "
                               "then 10,001 (1,001)")
    limit: int
    offset: int
    next_cursor: str | None = Field(None, description="pass as cursor for the page after this one (null: this is "
                                    "the last); a cursor page costs the same however deep it is, unlike offset")
    items: list[TicketRow]


class EventOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    action: str
    from_status: str
    to_status: str
    actor_label: str
    note: str
    data: dict


class PhotoOut(Schema):
    id: int
    stage: str
    width: int
    height: int
    size: int
    created_at: dt.datetime
    url: str
    thumbnail_url: str

    @staticmethod
    def resolve_url(obj) -> str:
        return f"/api/v1/tickets/{obj.ticket_id}/photos/{obj.pk}"

    @staticmethod
    def resolve_thumbnail_url(obj) -> str:
        return f"/api/v1/tickets/{obj.ticket_id}/photos/{obj.pk}?thumbnail=true"


class RatingOut(Schema):
    overall: int
    speed: int
    attitude: int
    comment: str
    created_at: dt.datetime


class TicketDetail(TicketRow):
    description: str
    longitude: float | None
    latitude: float | None
    preferred_from: dt.datetime | None
    preferred_until: dt.datetime | None
    status_note: str
    resolution_note: str
    responded_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    started_at: dt.datetime | None
    paused_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    reopened_at: dt.datetime | None
    paused_seconds: int
    response_seconds: int | None
    resolution_seconds: int | None
    events: list[EventOut]
    photos: list[PhotoOut]
    rating: RatingOut | None
    allowed_actions: list[str] = Field(..., description="the steps the caller may take now")

    @staticmethod
    def resolve_events(obj) -> list:
        return list(obj.events.all())

    @staticmethod
    def resolve_photos(obj) -> list:
        return list(obj.photos.all())

    @staticmethod
    def resolve_rating(obj):
        return getattr(obj, "rating", None)


class TicketCreate(Schema):
    kind: KindName
    category_id: Id
    place_id: Id = Field(..., description="the resident's dwelling or a public spot (estate, building, entrance) of their estate")
    description: str = Field(..., max_length=4000)
    title: str = Field("", max_length=200)
    channel: ChannelName | None = Field(None, description="staff entering for a resident: phone, message_board, walk_in ...")
    reporter_id: Id | None = Field(None, description="staff: the resident who reported it")
    reporter_name: str = Field("", max_length=60, description="staff: a caller who is not in the registry")
    longitude: float | None = None
    latitude: float | None = None
    preferred_from: dt.datetime | None = None
    preferred_until: dt.datetime | None = None


class NoteIn(Schema):
    note: str = Field("", max_length=4000)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=4000)


class OptionalReasonIn(Schema):
    reason: str = Field("", max_length=4000)


class AssignIn(Schema):
    assignee_id: Id
    note: str = Field("", max_length=4000)


class ReassignIn(Schema):
    assignee_id: Id
    reason: str = Field(..., max_length=4000)


class TransferIn(Schema):
    organisation_id: Id
    reason: str = Field(..., max_length=4000)


class RatingIn(Schema):
    overall: int
    speed: int
    attitude: int
    comment: str = Field("", max_length=4000)


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    place_id: int | None
    place_path: str
    response_minutes: int
    resolution_hours: int
    remind_before_minutes: int
    dispatch_mode: str
    organisation_kind: str
    return_visit: bool
    reopen_window_days: int
    active: bool
    sort: int


class CategoryUpdate(Schema):
    name: str | None = None
    name_en: str | None = None
    response_minutes: int | None = None
    resolution_hours: int | None = None
    remind_before_minutes: int | None = None
    dispatch_mode: ModeName | None = None
    organisation_kind: OrgKindName | None = None
    return_visit: bool | None = None
    reopen_window_days: int | None = None
    active: bool | None = None
    sort: int | None = None


class CategoryCreate(CategoryUpdate):
    code: str = Field(..., max_length=40)
    name: str = Field(..., max_length=40)  # type: ignore[assignment]
    place_id: Id | None = Field(None, description="empty: a category for the whole platform")


class ReturnVisitOut(Schema):
    id: int
    ticket_id: int
    ticket_number: str
    ticket_title: str
    category_name: str
    round: int
    organisation_id: int
    organisation_name: str
    status: str
    due_at: dt.datetime
    outcome: str
    note: str
    completed_at: dt.datetime | None

    @staticmethod
    def resolve_ticket_number(obj) -> str:
        return obj.ticket.number

    @staticmethod
    def resolve_ticket_title(obj) -> str:
        return obj.ticket.title

    @staticmethod
    def resolve_category_name(obj) -> str:
        return obj.ticket.category.name

    @staticmethod
    def resolve_organisation_name(obj) -> str:
        return obj.organisation.name


class ReturnVisitPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ReturnVisitOut]


class ReturnVisitComplete(Schema):
    outcome: OutcomeName
    note: str = Field("", max_length=4000)


class KpiRowOut(Schema):
    key: str
    label: str
    tickets: int
    rejected: int
    resolved: int
    closed: int
    on_time: int
    rated: int
    satisfied: int
    reopened: int
    complaints: int
    complaints_closed: int
    on_time_rate: float | None
    handling_rate: float | None
    complaint_handling_rate: float | None
    satisfaction_rate: float | None
    reopen_rate: float | None
    median_response_minutes: float | None
    median_resolution_hours: float | None


class KpiOut(Schema):
    group: str
    since: dt.date
    until: dt.date
    targets: dict[str, float]
    total: KpiRowOut
    rows: list[KpiRowOut]
