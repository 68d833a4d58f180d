"""Users, role assignments and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, PermissionDenied, invalid
from linli.core.identity import clean_text
from linli.core.permissions import ROLE_PERMISSIONS, ROLE_PLACE_KINDS, Perm, Role

from .models import ApiToken, RoleAssignment


def issue_token(*, actor: Actor, user, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new API token for ``user`` (the actor's own, or any user for a user manager); the key is returned once."""
    if actor.user is None or (actor.user.pk != user.pk and not actor.has_perm(Perm.USER_MANAGE)):
        if not actor.is_system:
            raise PermissionDenied(Perm.USER_MANAGE)
    name = clean_text(name)
    if not name:
        raise invalid("name", "required", "请为令牌命名", "name the token")
    if days is not None and not 1 <= days <= 3650:
        raise invalid("days", "out_of_range", "有效期应为1到3650天", "days must be between 1 and 3650")
    key = "ll_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:80], prefix=key[:10], key_hash=hashlib.sha256(key.encode()).hexdigest(),
            expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
        )
        audit.record(actor, "token.issue", target_type="accounts.apitoken", target_id=token.pk,
                     target_label=f"{user.get_username()}:{name}", after={"prefix": token.prefix, "days": days})
    return token, key


def revoke_token(*, actor: Actor, token: ApiToken) -> ApiToken:
    if not actor.is_system and (actor.user is None or (actor.user.pk != token.user_id and not actor.has_perm(Perm.USER_MANAGE))):
        raise PermissionDenied(Perm.USER_MANAGE)
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if changed != 1:
            raise Conflict("该令牌已吊销", "the token was already revoked")
        audit.record(actor, "token.revoke", target_type="accounts.apitoken", target_id=token.pk, target_label=token.prefix)
    token.refresh_from_db()
    return token


def assign_role(*, actor: Actor, user, role: str, place=None) -> RoleAssignment:
    errors = ErrorCollector()
    if role not in Role.values:
        errors.add("role", "invalid_choice", "角色无效", "unknown role")
        errors.raise_if_any()
    kinds = ROLE_PLACE_KINDS[role]
    place_kind = place.kind if place is not None else ""
    if place_kind not in kinds:
        errors.add("place", "wrong_kind", "该角色不能分配在此类地点", f"role {role} is assigned on a {' / '.join(k or 'global' for k in sorted(kinds))}")
    errors.raise_if_any()
    path = place.path if place is not None else "/"
    actor.require(Perm.USER_MANAGE, path)
    # Nobody hands out powers they do not hold themselves over that place.
    if not actor.is_system and not all(actor.can(p, path) for p in ROLE_PERMISSIONS[role]):
        raise PermissionDenied(Perm.USER_MANAGE)
    with transaction.atomic():
        if RoleAssignment.objects.filter(user=user, role=role, place=place, active=True).exists():
            raise Conflict("该用户已拥有此角色", "the user already holds this role there", code="duplicate_role")
        ra = RoleAssignment.objects.create(user=user, role=role, place=place, place_path=place.path if place else "")
        audit.record(actor, "role.assign", target_type="accounts.roleassignment", target_id=ra.pk,
                     target_label=f"{user.get_username()} {role}", place_path=ra.place_path,
                     after={"user": user.pk, "role": role, "place": getattr(place, "pk", None)})
    return ra


def revoke_role(*, actor: Actor, assignment: RoleAssignment) -> RoleAssignment:
    actor.require(Perm.USER_MANAGE, assignment.place_path or "/")
    with transaction.atomic():
        changed = RoleAssignment.objects.filter(pk=assignment.pk, active=True).update(active=False)
        if changed != 1:
            raise Conflict("该角色分配已撤销", "the role assignment was already revoked")
        audit.record(actor, "role.revoke", target_type="accounts.roleassignment", target_id=assignment.pk,
                     target_label=f"{assignment.user_id} {assignment.role}", place_path=assignment.place_path,
                     before={"active": True}, after={"active": False})
    assignment.refresh_from_db()
    return assignment
