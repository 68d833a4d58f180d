"""Scoped reads of alerts and rules, and who an alert goes to (roles at or above its place, grid workers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from linli.core.actor import Actor
from linli.core.errors import NotFound, invalid
from linli.core.permissions import Perm, Role
from linli.places.queries import access_place

from .models import Alert, AlertEvent, Rule


def ancestors(path: str) -> list[str]:
    """"/1/4/17/" -> ["/1/", "/1/4/", "/1/4/17/"]: the place and every place above it."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def users_for_roles(place_path: str, roles: Iterable[str]) -> set[int]:
    """Users holding one of ``roles`` at the place or above it. Grid workers: the workers of the grids containing
    the place's building when there are any, else the grid workers assigned to the community."""
    from linli.accounts.models import RoleAssignment
    from linli.places.models import Grid

    roles = set(roles)
    above = ancestors(place_path)
    users: set[int] = set()
    if Role.GRID_WORKER in roles:
        workers = Grid.objects.filter(buildings__path__in=above, workers__isnull=False).values_list("workers", flat=True)
        users |= set(workers)
        if users:
            roles.discard(Role.GRID_WORKER)
    if roles:
        users |= set(RoleAssignment.objects.filter(active=True, role__in=roles, place_path__in=above,
                                                   user__is_active=True).values_list("user_id", flat=True))
    return users


def _get(qs: QuerySet, pk: int, what: str):
    try:
        return qs.get(pk=int(pk))
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(what) from exc


@dataclass
class AlertFilter:
    status: str | None = None
    severity: str | None = None
    kind: str | None = None
    place_id: int | None = None


def visible_alerts(actor: Actor) -> QuerySet[Alert]:
    return Alert.objects.filter(actor.scope_q(Perm.ALERT_VIEW))


def search_alerts(actor: Actor, f: AlertFilter) -> QuerySet[Alert]:
    qs = visible_alerts(actor)
    if f.place_id:
        qs = qs.filter(place_path__startswith=access_place(actor, f.place_id).path)
    for field in ("status", "severity", "kind"):
        if getattr(f, field):
            qs = qs.filter(**{field: getattr(f, field)})
    return qs.select_related("place", "device", "resident").order_by("-last_seen_at", "-id")


def access_alert(actor: Actor, pk: int) -> Alert:
    return _get(visible_alerts(actor).select_related("place", "device", "resident"), pk, "alert")


def alert_with_history(actor: Actor, pk: int) -> Alert:
    history = Prefetch("history", queryset=AlertEvent.objects.order_by("at", "id"))
    return _get(visible_alerts(actor).select_related("place", "device", "resident").prefetch_related(history), pk,
                "alert")


def visible_rules(actor: Actor) -> QuerySet[Rule]:
    """Rules that apply everywhere, and those inside the actor's RULE_MANAGE area."""
    if not actor.has_perm(Perm.RULE_MANAGE):
        return Rule.objects.none()
    return Rule.objects.filter(Q(place__isnull=True) | actor.scope_q(Perm.RULE_MANAGE))


def access_rule(actor: Actor, pk: int) -> Rule:
    return _get(visible_rules(actor).prefetch_related("route_users"), pk, "rule")


def routable_assignments(actor: Actor) -> QuerySet:
    """Active role assignments inside the actor's RULE_MANAGE area: their users are the ones a rule of this actor
    may notify directly (``Rule.route_users``)."""
    from linli.accounts.models import RoleAssignment

    return RoleAssignment.objects.filter(actor.scope_q(Perm.RULE_MANAGE), active=True)


def route_users_for(actor: Actor, ids: Iterable[Any], *, field: str = "route_user_ids",
                    keep: Iterable[int] = ()) -> list[Any]:
    """The users of ``ids`` to route a rule to. Each must hold a role somewhere the actor manages rules, or be in
    ``keep`` (already routed to by the rule being edited); anything else (an unknown id, another area's user, a
    value that is not an id) refuses them all, naming ``field``."""
    refused = invalid(field, "not_found", "接收人不存在或不在您的管辖范围", "unknown user in your area")
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError) as exc:
        raise refused from exc
    allowed = set(routable_assignments(actor).filter(user_id__in=wanted).values_list("user_id", flat=True))
    if wanted - allowed - set(keep):
        raise refused
    return list(get_user_model().objects.filter(pk__in=wanted).order_by("pk"))


def visible_care_tags(actor: Actor, *, place_path: str = "", alerting_only: bool = False) -> QuerySet:
    """The monitored residents (care tags in force) the actor may see both as residents and as alerts, longest
    silent first; ``alerting_only``: those with an active not-seen alert."""
    from django.db.models import F
    from django.utils import timezone

    from .care import monitored_tags
    from .choices import ACTIVE, NOT_SEEN

    qs = (monitored_tags(timezone.localdate()).filter(actor.scope_q(Perm.RESIDENT_VIEW, "resident__place_path"))
          .filter(actor.scope_q(Perm.ALERT_VIEW, "resident__place_path")))
    if place_path:
        qs = qs.filter(resident__place_path__startswith=place_path)
    if alerting_only:
        qs = qs.filter(resident_id__in=Alert.objects.filter(kind=NOT_SEEN, status__in=ACTIVE).values("resident_id"))
    return (qs.select_related("resident", "resident__place", "resident__presence")
            .order_by(F("resident__presence__last_seen_at").asc(nulls_first=True), "resident_id"))
