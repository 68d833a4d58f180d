"""Scoped reads of the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from .actor import Actor
from .models import AuditEntry
from .permissions import Perm


def visible_audit_entries(actor: Actor) -> QuerySet[AuditEntry]:
    """Entries about places inside the actor's audit scope; entries with no place only for a global scope."""
    return AuditEntry.objects.filter(actor.scope_q(Perm.AUDIT_VIEW)).select_related("actor")


def audit_actions(actor: Actor) -> list[str]:
    """The distinct action names in the actor's scope, for the filter."""
    return sorted(set(visible_audit_entries(actor).order_by().values_list("action", flat=True).distinct()))
