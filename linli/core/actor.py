"""Actor: who is acting, with which roles on which places. Scope is a set of place-path prefixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from .errors import NotFound, PermissionDenied
from .permissions import ROLE_PERMISSIONS, Role

GLOBAL_PATH = "/"


@dataclass(frozen=True)
class Grant:
    role: str
    path: str  # "/" for a global assignment
    place_id: int | None


@dataclass
class Actor:
    user: Any = None
    grants: tuple[Grant, ...] = ()
    is_system: bool = False
    resident_id: int | None = None
    label: str = "system"
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(user=None, grants=(), is_system=True, label=label)

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(user=None, grants=(), label="anonymous")
        cached = getattr(user, "_linli_actor", None)
        if cached is not None:
            return cached
        from linli.accounts.models import RoleAssignment

        grants = tuple(
            Grant(role=a.role, path=a.place_path or GLOBAL_PATH, place_id=a.place_id)
            for a in RoleAssignment.objects.filter(user=user, active=True).only("role", "place_path", "place_id")
        )
        profile = getattr(user, "linli_profile", None) if hasattr(user, "linli_profile") else None
        actor = cls(
            user=user,
            grants=grants,
            resident_id=getattr(profile, "resident_id", None),
            label=(user.get_full_name() or user.get_username())[:150],
        )
        user._linli_actor = actor
        return actor

    @property
    def is_authenticated(self) -> bool:
        return self.is_system or self.user is not None

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def paths_for(self, perm: str) -> list[str]:
        """The place-path prefixes where this actor holds ``perm``, reduced so none is inside another."""
        key = ("paths", perm)
        if key not in self._cache:
            if self.is_system:
                paths = [GLOBAL_PATH]
            else:
                raw = sorted({g.path for g in self.grants if perm in ROLE_PERMISSIONS.get(g.role, ())})
                paths = []
                for p in raw:
                    if not any(p.startswith(kept) for kept in paths):
                        paths.append(p)
            self._cache[key] = paths
        return self._cache[key]

    def has_perm(self, perm: str) -> bool:
        return bool(self.paths_for(perm))

    def can(self, perm: str, path: str) -> bool:
        return any(path.startswith(p) for p in self.paths_for(perm))

    def require(self, perm: str, path: str | None = None) -> None:
        """Raise PermissionDenied unless the actor holds ``perm`` (at ``path`` when given)."""
        if path is None:
            if not self.has_perm(perm):
                raise PermissionDenied(perm)
        elif not self.can(perm, path):
            raise PermissionDenied(perm)

    def scope_q(self, perm: str, field_name: str = "place_path") -> Q:
        """A filter limiting rows to the actor's scope for ``perm``; matches nothing when out of scope."""
        paths = self.paths_for(perm)
        if not paths:
            return Q(pk__in=[])
        if GLOBAL_PATH in paths:
            return Q()
        q = Q()
        for p in paths:
            q |= Q(**{f"{field_name}__startswith": p})
        return q

    def is_role(self, role: Role | str) -> bool:
        return role in self.roles


def require_visible(actor: Actor, perm: str, path: str, what: str) -> None:
    """404 for rows outside scope (never 403: other communities' rows do not exist for this actor)."""
    if not actor.can(perm, path):
        raise NotFound(what)
