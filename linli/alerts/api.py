"""/api/v1/: alerts (list, detail with history, acknowledge, resolve, false alarm, comment, turn into a ticket)
and alert rules (list, create, change)."""

from __future__ import annotations

from typing import Any

from ninja import Query, Router, Schema, Status

from linli.api import Paging, actor_of, paginate
from linli.core.actor import Actor
from linli.core.permissions import Perm
from linli.places.queries import access_place
from linli.places.schemas import Id

from . import actions, queries
from .schemas import (
    AlertDetail,
    AlertPage,
    CommentIn,
    NoteIn,
    RuleCreate,
    RuleFields,
    RuleOut,
    RulePage,
    SeverityName,
    StatusName,
    TicketCreated,
    TicketIn,
)

router = Router(tags=["alerts"])


class AlertQuery(Schema):
    status: StatusName | None = None
    severity: SeverityName | None = None
    kind: str | None = None
    place: Id | None = None


@router.get("/alerts", response=AlertPage, summary="Alerts in my area, newest first, filtered")
def list_alerts(request, filters: Query[AlertQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.ALERT_VIEW)
    f = queries.AlertFilter(status=filters.status, severity=filters.severity, kind=filters.kind,
                            place_id=filters.place)
    return paginate(queries.search_alerts(actor, f), paging)


@router.get("/alerts/{id:alert_id}", response=AlertDetail, summary="One alert with its history")
def get_alert(request, alert_id: int):
    return queries.alert_with_history(actor_of(request), alert_id)


def _step(request, alert_id: int, step: Any, note: str):
    actor = actor_of(request)
    step(actor=actor, alert=queries.access_alert(actor, alert_id), note=note)
    return queries.alert_with_history(actor, alert_id)


@router.post("/alerts/{id:alert_id}/acknowledge", response=AlertDetail, summary="Acknowledge an open alert")
def acknowledge(request, alert_id: int, payload: NoteIn):
    return _step(request, alert_id, actions.acknowledge_alert, payload.note)


@router.post("/alerts/{id:alert_id}/resolve", response=AlertDetail, summary="Resolve an open or acknowledged alert")
def resolve(request, alert_id: int, payload: NoteIn):
    return _step(request, alert_id, actions.resolve_alert, payload.note)


@router.post("/alerts/{id:alert_id}/false-alarm", response=AlertDetail, summary="Mark an alert a false alarm")
def false_alarm(request, alert_id: int, payload: NoteIn):
    return _step(request, alert_id, actions.mark_false_alarm, payload.note)


@router.post("/alerts/{id:alert_id}/comment", response=AlertDetail, summary="Comment on an alert")
def comment(request, alert_id: int, payload: CommentIn):
    return _step(request, alert_id, actions.comment_alert, payload.note)


@router.post("/alerts/{id:alert_id}/ticket", response={201: TicketCreated},
             summary="Turn an active alert into a ticket (channel alert) for field work")
def ticket(request, alert_id: int, payload: TicketIn):
    from linli.tickets.models import Category

    actor = actor_of(request)
    alert = queries.access_alert(actor, alert_id)
    category = Category.objects.filter(pk=payload.category_id).first()
    created = actions.ticket_from_alert(actor=actor, alert=alert, kind=payload.kind, category=category,
                                        description=payload.description)
    return Status(201, {"ticket_id": created.pk, "number": created.number})


def _users(actor: Actor, ids: list[int] | None) -> list[Any] | None:
    """Users to route to (None: leave them as they are); ids outside the actor's area are refused."""
    return None if ids is None else queries.route_users_for(actor, ids, field="route_user_ids")


def _fields(payload: Schema, exclude: set[str]) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True, exclude=exclude)
    return {k: v for k, v in data.items() if v is not None or k in ("min_score", "min_stationary_seconds",
                                                                  "repeat_minutes", "time_from", "time_until",
                                                                  "auto_resolve_minutes")}


@router.get("/alert-rules", response=RulePage, summary="Rules that apply everywhere and those of my area")
def list_rules(request, paging: Query[Paging], place: Id | None = None):
    actor = actor_of(request)
    actor.require(Perm.RULE_MANAGE)
    qs = queries.visible_rules(actor)
    if place:
        path = access_place(actor, place).path
        qs = qs.filter(place_path__in=["", *queries.ancestors(path)]) | qs.filter(place_path__startswith=path)
    return paginate(qs.prefetch_related("route_users").order_by("place_path", "code"), paging)


@router.post("/alert-rules", response={201: RuleOut}, summary="A rule for a place subtree")
def create_rule(request, payload: RuleCreate):
    actor = actor_of(request)
    place = access_place(actor, payload.place_id)
    actor.require(Perm.RULE_MANAGE, place.path)
    fields = {"zones": [], "weekdays": [], "route_roles": [], "escalation": [], "resolve_kinds": [],
              "repeat_count": 1, "enabled": True, "name_en": "", **_fields(payload, {"place_id", "route_user_ids"})}
    rule = actions.create_rule(actor=actor, place=place, fields=fields,
                               route_users=_users(actor, payload.route_user_ids) or [])
    return Status(201, queries.access_rule(actor, rule.pk))


@router.patch("/alert-rules/{id:rule_id}", response=RuleOut, summary="Change a rule (only the fields sent)")
def update_rule(request, rule_id: int, payload: RuleFields):
    actor = actor_of(request)
    rule = queries.access_rule(actor, rule_id)
    actions.update_rule(actor=actor, rule=rule, fields=_fields(payload, {"route_user_ids"}),
                        route_users=_users(actor, payload.route_user_ids))
    return queries.access_rule(actor, rule_id)
