"""The machinery every ticket action shares: who the actor is to the ticket, the compare-and-set transition that
writes the status, its event, its audit entry and its notifications in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import PermissionDenied
from linli.core.permissions import Perm
from linli.notify.actions import enqueue_message, notify_users

from .. import queries
from ..choices import EventKind, TicketStatus
from ..models import Ticket, TicketEvent
from ..transitions import Party, illegal, step


def parties_of(actor: Actor, ticket: Ticket) -> set[Party]:
    """What the actor is to this ticket (the columns of the status table)."""
    found: set[Party] = set()
    if actor.is_system:
        found.add(Party.SYSTEM)
    if actor.resident_id is not None and ticket.reporter_id == actor.resident_id:
        found.add(Party.REPORTER)
    if actor.can(Perm.TICKET_HANDLE, ticket.place_path):
        found.add(Party.HANDLER)
    if actor.can(Perm.TICKET_DISPATCH, ticket.place_path):
        found.add(Party.DISPATCHER)
    user_id = user_id_of(actor)
    if user_id is not None:
        if ticket.assignee_id == user_id:
            found.add(Party.ASSIGNEE)
        if Party.HANDLER in found and queries.on_duty_members(ticket.organisation).filter(user_id=user_id).exists():
            found.add(Party.MEMBER)
    return found


def user_id_of(actor: Actor) -> int | None:
    return getattr(actor.user, "pk", None) if actor.user is not None else None


def require_party(actor: Actor, ticket: Ticket, allowed: Iterable[Party], what: str) -> None:
    if not parties_of(actor, ticket) & set(allowed):
        raise PermissionDenied(f"ticket.{what}")


def event(ticket: Ticket, actor: Actor, kind: str, *, action: str = "", note: str = "", at: dt.datetime,
          from_status: str = "", to_status: str = "", data: dict | None = None) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, at=at, kind=kind, action=action, from_status=from_status, to_status=to_status,
        actor_id=user_id_of(actor), actor_label=actor.label[:150], note=note, data=data or {},
    )


def status_label(status: str) -> str:
    return str(TicketStatus(status).label)


def notify_status(actor: Actor, ticket: Ticket, note: str = "", *, tell_assignee: bool = True) -> None:
    """Tell the reporter (their account) and the assignee (unless they did it, or are told by ``ticket.assigned``)
    the ticket's new status."""
    context = {"number": ticket.number, "title": ticket.title, "status": status_label(ticket.status), "note": note}
    reporter = queries.reporter_account(ticket)
    if reporter is not None:
        enqueue_message(actor=actor, recipient=reporter, template="ticket.status_changed", context=context,
                        cause=ticket, dedupe_key=f"ticket:{ticket.pk}:v{ticket.version}")
    actor_id = user_id_of(actor)
    if tell_assignee and ticket.assignee_id is not None and ticket.assignee_id != actor_id and ticket.assignee_id != getattr(
            reporter, "pk", None):
        enqueue_message(actor=actor, recipient=ticket.assignee, template="ticket.status_changed", context=context,
                        cause=ticket, dedupe_key=f"ticket:{ticket.pk}:v{ticket.version}:assignee")


def notify_assigned(actor: Actor, ticket: Ticket) -> None:
    if ticket.assignee_id is None or ticket.assignee_id == user_id_of(actor):
        return
    notify_users(actor=actor, users=[ticket.assignee_id], template="ticket.assigned", cause=ticket,
                 context={"number": ticket.number, "title": ticket.title, "place": ticket.place.name},
                 dedupe_key=f"ticket:{ticket.pk}:v{ticket.version}:assigned")


def transition(*, actor: Actor, ticket: Ticket, action: str, now: dt.datetime | None = None, note: str = "",
               updates: dict[str, Any] | None = None, data: dict | None = None, tell_assignee: bool = True) -> Ticket:
    """Move ``ticket`` by ``action`` as the status table says: Conflict (409) when the table has no such step or
    the ticket changed meanwhile (compare-and-set on status and version), PermissionDenied (403) when the actor
    is none of the parties allowed. Writes the event, the audit entry and the notifications in one transaction.
    The caller runs it inside its own ``transaction.atomic()`` when it does more in the same transaction."""
    now = now or timezone.now()
    old_status, old_version = ticket.status, ticket.version
    target = step(old_status, action)
    require_party(actor, ticket, target.parties, action)
    updates = dict(updates or {})
    with transaction.atomic():
        changed = Ticket.objects.filter(pk=ticket.pk, status=old_status, version=old_version).update(
            status=target.to, version=F("version") + 1, updated_at=now, **updates)
        if changed != 1:
            current = Ticket.objects.filter(pk=ticket.pk).values_list("status", flat=True).first()
            raise illegal(current or old_status, action)
        fresh = queries.with_list_relations(Ticket.objects.filter(pk=ticket.pk)).get()
        event(fresh, actor, EventKind.TRANSITION, action=action, note=note, at=now, from_status=old_status,
              to_status=target.to, data=data)
        audit.record(actor, f"ticket.{action}", target=fresh, target_label=f"{fresh.number} {fresh.title}"[:200],
                     before={"status": old_status, **{k: getattr(ticket, k) for k in updates}},
                     after={"status": target.to, **{k: getattr(fresh, k) for k in updates}, **(data or {})})
        notify_status(actor, fresh, note, tell_assignee=tell_assignee)
    return fresh


def seconds_between(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, int((end - start).total_seconds()))
