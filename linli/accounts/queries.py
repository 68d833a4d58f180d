"""Scoped reads of the audit log, role assignments, users and API tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from linli.core.actor import Actor
from linli.core.errors import NotFound, invalid
from linli.core.models import AuditEntry
from linli.core.permissions import Perm
from linli.core.queries import visible_audit_entries

from .models import ApiToken, RoleAssignment


@dataclass
class AuditFilter:
    action: str | None = None  # exact action, or a prefix ending at a dot ("resident.reveal" finds both fields)
    target_type: str | None = None
    target_id: str | None = None
    actor_id: int | None = None
    place_path: str | None = None  # entries inside this subtree
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def search_audit_entries(actor: Actor, f: AuditFilter) -> QuerySet[AuditEntry]:
    """The audit log of the actor's area (scope: linli.core.queries.visible_audit_entries), filtered."""
    qs = visible_audit_entries(actor)
    if f.action:
        qs = qs.filter(Q(action=f.action) | Q(action__startswith=f.action.rstrip(".") + "."))
    if f.target_type:
        qs = qs.filter(target_type=f.target_type)
    if f.target_id:
        qs = qs.filter(target_id=f.target_id)
    if f.actor_id is not None:
        qs = qs.filter(actor_id=f.actor_id)
    if f.place_path:
        qs = qs.filter(place_path__startswith=f.place_path)
    if f.since:
        qs = qs.filter(at__gte=f.since)
    if f.until:
        qs = qs.filter(at__lt=f.until)
    return qs.order_by("-at", "-id")


def visible_role_assignments(actor: Actor) -> QuerySet[RoleAssignment]:
    """Active assignments on places inside the actor's USER_MANAGE subtrees (global ones: global managers only)."""
    return (
        RoleAssignment.objects.filter(actor.scope_q(Perm.USER_MANAGE), active=True)
        .select_related("user", "place")
        .order_by("place_path", "role", "id")
    )


def access_role_assignment(actor: Actor, pk: int | str) -> RoleAssignment:
    try:
        return visible_role_assignments(actor).get(pk=int(pk))
    except (RoleAssignment.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("role assignment") from exc


def assignable_user(user_id: int):
    """A user a manager may give a role to: any active account (accounts are not scoped; their roles are)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise invalid("user_id", "unknown", "用户不存在或已停用", "no active user with this id")
    return user


def own_assignments(actor: Actor) -> QuerySet[RoleAssignment]:
    if actor.user is None:
        return RoleAssignment.objects.none()
    return RoleAssignment.objects.filter(user=actor.user, active=True).select_related("place").order_by("place_path", "id")


def own_tokens(actor: Actor) -> QuerySet[ApiToken]:
    if actor.user is None:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=actor.user)


def access_token(actor: Actor, pk: int | str) -> ApiToken:
    """Tokens are personal: a user sees and revokes their own; anybody else's is 404."""
    try:
        return own_tokens(actor).get(pk=int(pk))
    except (ApiToken.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("token") from exc
