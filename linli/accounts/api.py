"""/api/v1/: the current user, personal API tokens, role assignments and the audit log."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema, Status

from linli.api import Paging, actor_of, paginate
from linli.core.permissions import Perm
from linli.places.queries import access_place
from linli.places.schemas import Id

from . import actions, queries
from .schemas import (
    AuditPage,
    MeOut,
    NewTokenOut,
    RoleAssignmentIn,
    RoleAssignmentOut,
    RoleAssignmentPage,
    TokenIn,
    TokenOut,
)

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut, summary="Who I am: my roles, their places and permissions")
def me(request):
    actor = actor_of(request)
    user = actor.user
    return {
        "id": user.pk,
        "username": user.get_username(),
        "full_name": user.get_full_name(),
        "resident_id": actor.resident_id,
        "roles": list(queries.own_assignments(actor)),
    }


@router.post("/tokens", response={201: NewTokenOut}, summary="Issue an API token for myself (the key is shown once)")
def issue_token(request, payload: TokenIn):
    actor = actor_of(request)
    token, key = actions.issue_token(actor=actor, user=actor.user, name=payload.name, days=payload.days)
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "key": key})


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request):
    return list(queries.own_tokens(actor_of(request)))


@router.delete("/tokens/{id:token_id}", response={204: None}, summary="Revoke one of my API tokens")
def revoke_token(request, token_id: int):
    actor = actor_of(request)
    actions.revoke_token(actor=actor, token=queries.access_token(actor, token_id))
    return Status(204, None)


class RoleAssignmentFilter(Schema):
    user_id: Id | None = None
    role: str | None = None
    place: Id | None = None


@router.get("/role-assignments", response=RoleAssignmentPage, summary="Role assignments inside my area")
def list_role_assignments(request, filters: Query[RoleAssignmentFilter], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.USER_MANAGE)
    qs = queries.visible_role_assignments(actor)
    if filters.place is not None:
        qs = qs.filter(place_path__startswith=access_place(actor, filters.place).path)
    if filters.user_id is not None:
        qs = qs.filter(user_id=filters.user_id)
    if filters.role:
        qs = qs.filter(role=filters.role)
    return paginate(qs, paging)


@router.post("/role-assignments", response={201: RoleAssignmentOut}, summary="Give a user a role on a place")
def assign_role(request, payload: RoleAssignmentIn):
    actor = actor_of(request)
    place = access_place(actor, payload.place_id) if payload.place_id is not None else None
    user = queries.assignable_user(payload.user_id)
    assignment = actions.assign_role(actor=actor, user=user, role=payload.role, place=place)
    return Status(201, queries.visible_role_assignments(actor).get(pk=assignment.pk))


@router.delete("/role-assignments/{id:assignment_id}", response={204: None}, summary="Take a role away")
def revoke_role(request, assignment_id: int):
    actor = actor_of(request)
    actions.revoke_role(actor=actor, assignment=queries.access_role_assignment(actor, assignment_id))
    return Status(204, None)


class AuditQuery(Schema):
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    actor: Id | None = None
    place: Id | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@router.get("/audit", response=AuditPage, summary="The audit log of my area, newest first")
def audit_log(request, filters: Query[AuditQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.AUDIT_VIEW)
    place_path = access_place(actor, filters.place).path if filters.place is not None else None
    qs = queries.search_audit_entries(actor, queries.AuditFilter(
        action=filters.action, target_type=filters.target_type, target_id=filters.target_id, actor_id=filters.actor,
        place_path=place_path, since=filters.since, until=filters.until,
    ))
    return paginate(qs, paging)
