"""API schemas of alerts, their history and rules."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from linli.places.schemas import Id

from .choices import AlertStatus, RouteRole, Severity

SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(AlertStatus.values)]  # type: ignore[valid-type]
RouteRoleName = Literal[tuple(RouteRole.values)]  # type: ignore[valid-type]


class AlertOut(Schema):
    id: int
    kind: str
    title: str
    severity: str
    status: str
    count: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    place_id: int
    place_path: str
    place_name: str = Field(..., alias="place.name")
    device_id: int | None
    subject_kind: str
    subject_ref: str
    resident_id: int | None
    escalation_level: int
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    ticket_id: int | None


class HistoryOut(Schema):
    kind: str
    at: dt.datetime
    actor_label: str
    note: str
    data: dict[str, Any]


class AlertDetail(AlertOut):
    history: list[HistoryOut] = Field(..., alias="history.all")


class AlertPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AlertOut]


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class CommentIn(Schema):
    note: str = Field(..., max_length=2000)


class TicketIn(Schema):
    kind: str = "repair"
    category_id: Id
    description: str = Field("", max_length=4000)


class TicketCreated(Schema):
    ticket_id: int
    number: str


class Step(Schema):
    after_minutes: int = Field(..., ge=1, le=100000)
    to_role: str


class RuleFields(Schema):
    name: str | None = Field(None, max_length=60)
    name_en: str | None = Field(None, max_length=80)
    event_kinds: list[str] | None = None
    min_score: float | None = None
    zones: list[str] | None = None
    min_stationary_seconds: int | None = Field(None, ge=0, le=10**6)
    repeat_count: int | None = Field(None, ge=1, le=1000)
    repeat_minutes: int | None = Field(None, ge=1, le=100000)
    time_from: dt.time | None = None
    time_until: dt.time | None = None
    weekdays: list[int] | None = None
    severity: SeverityName | None = None
    route_roles: list[RouteRoleName] | None = None
    route_user_ids: list[Id] | None = None
    escalation: list[Step] | None = None
    auto_resolve_minutes: int | None = Field(None, ge=1, le=100000)
    resolve_kinds: list[str] | None = None
    enabled: bool | None = None


class RuleCreate(RuleFields):
    place_id: Id
    code: str = Field(..., max_length=40)
    name: str = Field(..., max_length=60)
    event_kinds: list[str]
    severity: SeverityName


class RuleOut(Schema):
    id: int
    place_id: int | None
    place_path: str
    code: str
    name: str
    name_en: str
    event_kinds: list[str]
    min_score: float | None
    zones: list[str]
    min_stationary_seconds: int | None
    repeat_count: int
    repeat_minutes: int | None
    time_from: dt.time | None
    time_until: dt.time | None
    weekdays: list[int]
    severity: str
    route_roles: list[str]
    route_user_ids: list[int]
    escalation: list[dict[str, Any]]
    auto_resolve_minutes: int | None
    resolve_kinds: list[str]
    enabled: bool

    @staticmethod
    def resolve_route_user_ids(obj) -> list[int]:
        return sorted(u.pk for u in obj.route_users.all())


class RulePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[RuleOut]
