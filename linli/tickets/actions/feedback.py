"""What residents and staff add to a ticket without changing its status: comments and the rating."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, FieldError, invalid
from linli.core.identity import clean_prose

from ..choices import EventKind, TicketStatus
from ..models import Rating, Ticket, TicketEvent
from ..transitions import Party, status_zh
from .base import event, require_party


def comment_ticket(*, actor: Actor, ticket: Ticket, note: str, now: dt.datetime | None = None) -> TicketEvent:
    """A note in the ticket's history by its reporter, its assignee or staff handling tickets there."""
    now = now or timezone.now()
    text = clean_prose(note or "")
    if not text:
        raise invalid("note", "required", "留言不能为空", "the comment is empty")
    if len(text) > 2000:
        raise invalid("note", "too_long", "留言不能超过2000个字", "the comment is longer than 2000 characters")
    require_party(actor, ticket, (Party.REPORTER, Party.ASSIGNEE, Party.HANDLER), "comment")
    with transaction.atomic():
        row = event(ticket, actor, EventKind.COMMENT, action="comment", note=text, at=now)
        audit.record(actor, "ticket.comment", target=ticket, target_label=ticket.number, after={"event": row.pk})
    return row


def _score(errors: ErrorCollector, field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        errors.add(field, "out_of_range", "评分应为1到5的整数", f"{field} must be a whole number from 1 to 5")
        return 0
    return value


def rate_ticket(*, actor: Actor, ticket: Ticket, overall: int, speed: int, attitude: int, comment: str = "",
                now: dt.datetime | None = None) -> Rating:
    """评价: the reporter rates a closed ticket once (overall, speed, attitude from 1 to 5, a comment)."""
    now = now or timezone.now()
    errors = ErrorCollector()
    scores = {name: _score(errors, name, value) for name, value in
              (("overall", overall), ("speed", speed), ("attitude", attitude))}
    text = clean_prose(comment or "")
    if len(text) > 1000:
        errors.add("comment", "too_long", "评价内容不能超过1000个字", "the comment is longer than 1000 characters")
    errors.raise_if_any()
    require_party(actor, ticket, (Party.REPORTER,), "rate")
    if ticket.status != TicketStatus.CLOSED:
        raise Conflict(f"工单当前状态为“{status_zh(ticket.status)}”，关闭后才能评价",
                       f"the ticket is {ticket.status}: rate it once it is closed", code="not_closed")
    already = Conflict("该工单已评价过，每张工单只能评价一次", "this ticket was already rated: a ticket is rated once",
                       code="already_rated",
                       errors=[FieldError("rating", "already_rated", "该工单已评价过", "this ticket was already rated")])
    if Rating.objects.filter(ticket=ticket).exists():
        raise already
    try:
        with transaction.atomic():
            rating = Rating.objects.create(ticket=ticket, comment=text, rated_by_id=getattr(actor.user, "pk", None),
                                           created_at=now, **scores)
            # kept on the ticket for the KPIs' counts (kpis._metrics): set with the rating, never apart from it
            Ticket.objects.filter(pk=ticket.pk).update(rating_overall=scores["overall"])
            ticket.rating_overall = scores["overall"]
            event(ticket, actor, EventKind.RATING, action="rate", note=text, at=now, data=scores)
            audit.record(actor, "ticket.rate", target=ticket, target_label=ticket.number, after=scores)
    except IntegrityError as exc:  # a concurrent second rating lost the race for the one-to-one row
        raise already from exc
    return rating
