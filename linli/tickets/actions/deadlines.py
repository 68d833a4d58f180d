"""The deadline sweep: reminders before the response and resolution deadlines, the overdue flag when one
passes, escalation to the supervisors a while after, and the automatic closing of resolved tickets nobody
confirmed. Everything is computed from times stored on the tickets, and each step is recorded once by a
compare-and-set on its own field: running the sweep twice, or after a restart, repeats nothing and misses
nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import DomainError
from linli.notify.actions import notify_users

from .. import queries
from ..choices import Deadline, EventKind, TicketStatus
from ..models import Ticket
from ..transitions import AWAITING_RESPONSE, RESOLUTION_RUNNING
from .base import event
from .flow import auto_close_ticket

BATCH = 500


@dataclass(frozen=True)
class Clock:
    """One deadline and the stored fields that follow it."""

    deadline: str
    statuses: frozenset[str]
    due: str  # respond_by / resolve_by
    remind_at: str
    reminded: str
    overdue: str
    escalated: str


CLOCKS = (
    Clock(Deadline.RESPONSE, AWAITING_RESPONSE, "respond_by", "respond_remind_at", "respond_reminded_at",
          "response_overdue", "respond_escalated_at"),
    Clock(Deadline.RESOLUTION, RESOLUTION_RUNNING, "resolve_by", "resolve_remind_at", "resolve_reminded_at",
          "resolution_overdue", "resolve_escalated_at"),
)


def _recipients(ticket: Ticket) -> list[int]:
    """Who a reminder or an overdue notice goes to: the assignee, or the on-duty members when nobody has it."""
    if ticket.assignee_id is not None:
        return [ticket.assignee_id]
    return list(queries.on_duty_members(ticket.organisation).values_list("user_id", flat=True))


def _deadline_context(ticket: Ticket, clock: Clock, overdue: bool) -> dict:
    due = timezone.localtime(getattr(ticket, clock.due))
    return {"number": ticket.number, "title": ticket.title, "deadline": f"{due:%Y-%m-%d %H:%M}", "overdue": overdue}


def _mark(ticket: Ticket, clock: Clock, field: str, value: object, now: dt.datetime, kind: str,
          recipients: Callable[[Ticket], list], overdue: bool) -> bool:
    """Set ``field`` once (compare-and-set from its empty value) and record the event, the audit entry and the
    messages in the same transaction. False when another sweep did it first or the ticket moved on."""
    empty = Q(**{f"{field}__isnull": True}) if value is not True else Q(**{field: False})
    actor = Actor.system("deadline-sweep")
    with transaction.atomic():
        changed = Ticket.objects.filter(empty, pk=ticket.pk, status__in=clock.statuses).update(
            **{field: value, "updated_at": now})
        if changed != 1:
            return False
        users = recipients(ticket)
        event(ticket, actor, kind, action=f"{clock.deadline}_{kind}", at=now,
              data={"deadline": getattr(ticket, clock.due).isoformat(), "notified": users if kind != EventKind.REMINDER
                    else len(users)})
        audit.record(actor, f"ticket.{kind}", target=ticket, target_label=ticket.number,
                     after={"deadline": clock.deadline, "field": field, "recipients": len(users)})
        if users:
            notify_users(actor=actor, users=users, template="ticket.deadline", cause=ticket,
                         context=_deadline_context(ticket, clock, overdue),
                         dedupe_key=f"ticket:{ticket.pk}:{clock.deadline}:{kind}:{ticket.reopen_count}")
    return True


def _supervisor_ids(ticket: Ticket) -> list[int]:
    return [u.pk for u in queries.supervisors(ticket)]


def _due(clock: Clock, extra: Q) -> QuerySet[Ticket]:
    return Ticket.objects.filter(extra, status__in=clock.statuses).select_related(
        "organisation", "category").order_by("pk")


def sweep_deadlines(*, now: dt.datetime | None = None, batch: int = BATCH) -> Counter:
    """One pass over every ticket whose stored times say something is due; returns what it did, by kind."""
    now = now or timezone.now()
    done: Counter = Counter()
    grace = dt.timedelta(minutes=settings.LINLI_TICKET_ESCALATE_AFTER_MINUTES)
    for clock in CLOCKS:
        reminders = _due(clock, Q(**{f"{clock.remind_at}__lte": now, f"{clock.reminded}__isnull": True,
                                     f"{clock.due}__gt": now}))
        for ticket in reminders[:batch]:
            done[f"{clock.deadline}_reminder"] += _mark(ticket, clock, clock.reminded, now, now, EventKind.REMINDER,
                                                        _recipients, False)
        overdue = _due(clock, Q(**{f"{clock.due}__lte": now, clock.overdue: False}))
        for ticket in overdue[:batch]:
            done[f"{clock.deadline}_overdue"] += _mark(ticket, clock, clock.overdue, True, now, EventKind.OVERDUE,
                                                       _recipients, True)
        late = _due(clock, Q(**{f"{clock.due}__lte": now - grace, f"{clock.escalated}__isnull": True}))
        for ticket in late[:batch]:
            done[f"{clock.deadline}_escalation"] += _mark(ticket, clock, clock.escalated, now, now,
                                                          EventKind.ESCALATION, _supervisor_ids, True)
    done["auto_closed"] = _auto_close(now, batch)
    return done


def _auto_close(now: dt.datetime, batch: int) -> int:
    cutoff = now - dt.timedelta(days=settings.LINLI_TICKET_AUTO_CLOSE_DAYS)
    closed = 0
    due = Ticket.objects.filter(status=TicketStatus.RESOLVED, resolved_at__lte=cutoff).select_related(
        "category", "organisation", "place", "assignee").order_by("pk")
    for ticket in due[:batch]:
        try:
            auto_close_ticket(ticket=ticket, now=now)
            closed += 1
        except DomainError:  # the reporter confirmed or reopened it meanwhile
            continue
    return closed
