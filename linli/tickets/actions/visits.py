"""Return visits (回访): created when a ticket of a category that needs one closes, completed by staff."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector
from linli.core.identity import clean_prose
from linli.core.permissions import Perm

from .. import queries
from ..choices import EventKind, OrganisationKind, ReturnVisitOutcome, ReturnVisitStatus
from ..models import ReturnVisit, Ticket
from .base import event


def create_return_visit(actor: Actor, ticket: Ticket, now: dt.datetime) -> ReturnVisit:
    """Called inside the closing transaction. The community committee over the place makes the call (it is not
    the party that did the work); without one, the responsible organisation does. One visit per closing round."""
    organisation = queries.responsible_organisation(ticket.place, OrganisationKind.COMMUNITY_COMMITTEE) or ticket.organisation
    visit, created = ReturnVisit.objects.get_or_create(
        ticket=ticket, round=ticket.reopen_count,
        defaults={"organisation": organisation, "place_id": ticket.place_id, "place_path": ticket.place_path,
                  "due_at": now + dt.timedelta(days=settings.LINLI_TICKET_RETURN_VISIT_DAYS)})
    if created:
        audit.record(actor, "ticket.return_visit.create", target=visit, target_label=ticket.number,
                     after={"ticket": ticket.pk, "round": visit.round, "organisation": organisation.pk,
                            "due_at": visit.due_at})
    return visit


def complete_return_visit(*, actor: Actor, visit: ReturnVisit, outcome: str, note: str = "",
                          now: dt.datetime | None = None) -> ReturnVisit:
    """Record the call's outcome (satisfied / unsatisfied / unreachable) once; the ticket's history shows it."""
    now = now or timezone.now()
    errors = ErrorCollector()
    if outcome not in ReturnVisitOutcome.values:
        errors.add("outcome", "invalid_choice", "回访结果无效", f"unknown outcome {outcome!r}")
    text = clean_prose(note or "")
    if len(text) > 2000:
        errors.add("note", "too_long", "回访记录不能超过2000个字", "the note is longer than 2000 characters")
    errors.raise_if_any()
    actor.require(Perm.TICKET_HANDLE, visit.place_path)
    with transaction.atomic():
        changed = ReturnVisit.objects.filter(pk=visit.pk, status=ReturnVisitStatus.PENDING).update(
            status=ReturnVisitStatus.DONE, outcome=outcome, note=text, completed_at=now,
            completed_by_id=getattr(actor.user, "pk", None), updated_at=now)
        if changed != 1:
            raise Conflict("该回访已完成", "this return visit was already completed", code="already_done")
        event(visit.ticket, actor, EventKind.RETURN_VISIT, action="return_visit", note=text, at=now,
              data={"outcome": outcome, "round": visit.round})
        audit.record(actor, "ticket.return_visit.complete", target=visit, target_label=visit.ticket.number,
                     before={"status": ReturnVisitStatus.PENDING},
                     after={"status": ReturnVisitStatus.DONE, "outcome": outcome})
    visit.refresh_from_db()
    return visit
