"""API schemas of accounts: the current user, tokens, role assignments and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from linli.core.permissions import ROLE_PERMISSIONS, Role
from linli.places.schemas import Id


def _role_label(role: str) -> str:
    return str(Role(role).label) if role in Role.values else role


class MyRole(Schema):
    id: int
    role: str
    role_label: str
    place_id: int | None
    place_name: str
    place_path: str
    permissions: list[str]

    @staticmethod
    def resolve_role_label(obj) -> str:
        return _role_label(obj.role)

    @staticmethod
    def resolve_place_name(obj) -> str:
        return obj.place.name if obj.place_id else ""

    @staticmethod
    def resolve_place_path(obj) -> str:
        return obj.place_path or "/"

    @staticmethod
    def resolve_permissions(obj) -> list[str]:
        return sorted(ROLE_PERMISSIONS.get(obj.role, ()))


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    resident_id: int | None
    roles: list[MyRole]


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    days: int | None = Field(None, description="days until it expires; empty: never")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(TokenOut):
    key: str = Field(..., description="the secret; shown this once only")


class RoleAssignmentIn(Schema):
    user_id: Id
    role: str
    place_id: Id | None = Field(None, description="empty only for the system administrator role")


class RoleAssignmentOut(Schema):
    id: int
    user_id: int
    username: str
    role: str
    role_label: str
    place_id: int | None
    place_name: str
    place_path: str
    created_at: dt.datetime

    @staticmethod
    def resolve_username(obj) -> str:
        return obj.user.get_username()

    @staticmethod
    def resolve_role_label(obj) -> str:
        return _role_label(obj.role)

    @staticmethod
    def resolve_place_name(obj) -> str:
        return obj.place.name if obj.place_id else ""


class RoleAssignmentPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[RoleAssignmentOut]


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    place_path: str
    before: Any = None
    after: Any = None
    request_id: str
    ip: str | None
    via: str


class AuditPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AuditEntryOut]
