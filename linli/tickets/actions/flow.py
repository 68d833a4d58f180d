"""The steps of a ticket after it was submitted: accept or reject, dispatch (assign, grab, round-robin), reassign,
transfer, start, pause and resume, resolve, confirm or auto-close, reopen, withdraw. Each is one call of
``base.transition`` with the fields that step sets; see ``transitions.TABLE`` for who may take which step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from linli.core.actor import Actor
from linli.core.errors import Conflict, ErrorCollector, PermissionDenied, ValidationFailed, invalid
from linli.core.identity import clean_prose
from linli.core.permissions import Perm

from .. import queries
from ..choices import DispatchMode, PhotoStage
from ..models import Membership, Organisation, Ticket, TicketPhoto
from ..transitions import Action, actions_from, step
from .base import notify_assigned, parties_of, require_party, seconds_between, transition, user_id_of
from .submit import Upload, clean_uploads, discard_files, record_photos
from .visits import create_return_visit

NOTE_MAX = 500


def _reason(value: str, field: str = "reason", *, required: bool = True) -> str:
    text = clean_prose(value or "")
    if required and not text:
        raise invalid(field, "required", "请填写原因", f"the {field} is required")
    if len(text) > NOTE_MAX:
        raise invalid(field, "too_long", f"不能超过{NOTE_MAX}个字", f"at most {NOTE_MAX} characters")
    return text


def _responded(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
    return {"responded_at": now, "response_seconds": seconds_between(ticket.created_at, now),
            "response_overdue": ticket.response_overdue or now > ticket.respond_by}


def check_step(actor: Actor, ticket: Ticket, action: str) -> None:
    """Conflict when the table has no such step from the ticket's status, PermissionDenied when the actor is none
    of its parties: for callers that must know before they look anything else up."""
    require_party(actor, ticket, step(ticket.status, action).parties, action)


def accept_ticket(*, actor: Actor, ticket: Ticket, note: str = "", now: dt.datetime | None = None) -> Ticket:
    """受理. A round-robin category is dispatched at once to the on-duty member assigned longest ago."""
    now = now or timezone.now()
    note = _reason(note, "note", required=False)
    with transaction.atomic():
        ticket = transition(actor=actor, ticket=ticket, action=Action.ACCEPT, now=now, note=note,
                            updates=_responded(ticket, now))
        return _auto_dispatch(ticket, now)


def reject_ticket(*, actor: Actor, ticket: Ticket, reason: str, now: dt.datetime | None = None) -> Ticket:
    now = now or timezone.now()
    reason = _reason(reason)
    return transition(actor=actor, ticket=ticket, action=Action.REJECT, now=now, note=reason,
                      updates={**_responded(ticket, now), "status_note": reason})


def withdraw_ticket(*, actor: Actor, ticket: Ticket, reason: str = "", now: dt.datetime | None = None) -> Ticket:
    reason = _reason(reason, required=False)
    return transition(actor=actor, ticket=ticket, action=Action.WITHDRAW, now=now, note=reason,
                      updates={"status_note": reason})


def _member(ticket: Ticket, user_id: int | None, field: str = "assignee_id") -> Membership:
    membership = queries.membership_of(ticket.organisation, user_id) if user_id else None
    if membership is None:
        raise invalid(field, "not_a_member", f"该人员不是“{ticket.organisation.name}”的在岗成员",
                      f"this user is not an active member of {ticket.organisation.name}")
    return membership


def _dispatched(membership: Membership, now: dt.datetime) -> dict[str, Any]:
    """The ticket fields of a dispatch; the member's ``last_assigned_at`` moves on (call it inside the
    transaction of the step, so that a refused step leaves round-robin as it was)."""
    Membership.objects.filter(pk=membership.pk).update(last_assigned_at=now)
    return {"assignee_id": membership.user_id, "dispatched_at": now}


def assign_ticket(*, actor: Actor, ticket: Ticket, assignee_id: int, note: str = "",
                  now: dt.datetime | None = None) -> Ticket:
    """派单: a dispatcher gives the ticket to a member of the responsible organisation."""
    now = now or timezone.now()
    require_party(actor, ticket, step(ticket.status, Action.ASSIGN).parties, Action.ASSIGN)
    note = _reason(note, "note", required=False)
    membership = _member(ticket, assignee_id)
    with transaction.atomic():
        ticket = transition(actor=actor, ticket=ticket, action=Action.ASSIGN, now=now, note=note,
                            updates=_dispatched(membership, now), tell_assignee=False)
        notify_assigned(actor, ticket)
    return ticket


def grab_ticket(*, actor: Actor, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """抢单: the first on-duty member to take it wins (compare-and-set); the category must be in grab mode."""
    now = now or timezone.now()
    step(ticket.status, Action.GRAB)
    if ticket.category.dispatch_mode != DispatchMode.GRAB:
        raise Conflict("该类别的工单不能抢单", "tickets of this category are not open for grabbing",
                       code="not_grab_mode")
    membership = queries.on_duty_members(ticket.organisation).filter(user_id=user_id_of(actor)).first()
    if membership is None or not actor.can(Perm.TICKET_HANDLE, ticket.place_path):
        raise PermissionDenied("ticket.grab")
    with transaction.atomic():
        return transition(actor=actor, ticket=ticket, action=Action.GRAB, now=now,
                          updates=_dispatched(membership, now), tell_assignee=False)


def dispatch_ticket(*, actor: Actor, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """轮派: the on-duty member of the responsible organisation assigned longest ago (never: first; then by id)."""
    now = now or timezone.now()
    target = step(ticket.status, Action.DISPATCH)
    require_party(actor, ticket, target.parties, Action.DISPATCH)
    membership = queries.on_duty_members(ticket.organisation).first()
    if membership is None:
        raise Conflict(f"“{ticket.organisation.name}”当前没有在岗人员", f"nobody of {ticket.organisation.name} is on duty",
                       code="nobody_on_duty")
    with transaction.atomic():
        ticket = transition(actor=actor, ticket=ticket, action=Action.DISPATCH, now=now,
                            updates=_dispatched(membership, now), tell_assignee=False, data={"picked": membership.user_id})
        notify_assigned(actor, ticket)
    return ticket


def _auto_dispatch(ticket: Ticket, now: dt.datetime) -> Ticket:
    """After an accept or a transfer: round-robin categories go straight to the next on-duty member (when there
    is one; otherwise the ticket waits in the pool for a dispatcher)."""
    if ticket.category.dispatch_mode != DispatchMode.ROUND_ROBIN or not queries.on_duty_members(
            ticket.organisation).exists():
        return ticket
    return dispatch_ticket(actor=Actor.system("round-robin"), ticket=ticket, now=now)


def reassign_ticket(*, actor: Actor, ticket: Ticket, assignee_id: int, reason: str,
                    now: dt.datetime | None = None) -> Ticket:
    """改派 to another member of the same organisation; the work starts again from dispatched."""
    now = now or timezone.now()
    require_party(actor, ticket, step(ticket.status, Action.REASSIGN).parties, Action.REASSIGN)
    reason = _reason(reason)
    membership = _member(ticket, assignee_id)
    if membership.user_id == ticket.assignee_id:
        raise invalid("assignee_id", "same_assignee", "新处理人与当前处理人相同", "the ticket is already assigned to this user")
    with transaction.atomic():
        ticket = transition(actor=actor, ticket=ticket, action=Action.REASSIGN, now=now, note=reason,
                            updates={**(_pause_credit(ticket, now) if ticket.paused_at else {}),
                                     **_dispatched(membership, now), "started_at": None},
                            data={"from_assignee": ticket.assignee_id}, tell_assignee=False)
        notify_assigned(actor, ticket)
    return ticket


def transfer_ticket(*, actor: Actor, ticket: Ticket, organisation: Organisation, reason: str,
                    now: dt.datetime | None = None) -> Ticket:
    """转办 to another organisation responsible for the ticket's place; it is accepted there and dispatched
    again (at once for round-robin categories)."""
    now = now or timezone.now()
    require_party(actor, ticket, step(ticket.status, Action.TRANSFER).parties, Action.TRANSFER)
    reason = _reason(reason)
    if not organisation.active or not ticket.place_path.startswith(organisation.place_path):
        raise invalid("organisation_id", "not_responsible", "该机构不负责此工单所在地点",
                      "this organisation does not cover the ticket's place")
    if organisation.pk == ticket.organisation_id:
        raise invalid("organisation_id", "same_organisation", "工单已由该机构负责", "the ticket is already with this organisation")
    paused = _pause_credit(ticket, now) if ticket.paused_at else {}
    with transaction.atomic():
        ticket = transition(actor=actor, ticket=ticket, action=Action.TRANSFER, now=now, note=reason,
                            updates={**paused, "organisation_id": organisation.pk, "assignee_id": None,
                                     "dispatched_at": None, "started_at": None},
                            data={"from_organisation": ticket.organisation_id})
        return _auto_dispatch(ticket, now)


def start_ticket(*, actor: Actor, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    now = now or timezone.now()
    return transition(actor=actor, ticket=ticket, action=Action.START, now=now, updates={"started_at": now})


def pause_ticket(*, actor: Actor, ticket: Ticket, reason: str, now: dt.datetime | None = None) -> Ticket:
    """挂起 (waiting for parts, for the resident ...): the resolution clock stops until it resumes."""
    now = now or timezone.now()
    reason = _reason(reason)
    return transition(actor=actor, ticket=ticket, action=Action.PAUSE, now=now, note=reason,
                      updates={"paused_at": now, "status_note": reason})


def _pause_credit(ticket: Ticket, now: dt.datetime) -> dict[str, Any]:
    """The paused time is added to the pause total and pushes the resolution deadline (and its reminder) out."""
    paused = dt.timedelta(seconds=seconds_between(ticket.paused_at, now))
    return {"paused_at": None, "paused_seconds": ticket.paused_seconds + int(paused.total_seconds()),
            "resolve_by": ticket.resolve_by + paused, "resolve_remind_at": ticket.resolve_remind_at + paused}


def resume_ticket(*, actor: Actor, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    now = now or timezone.now()
    updates = _pause_credit(ticket, now) if ticket.paused_at else {}
    return transition(actor=actor, ticket=ticket, action=Action.RESUME, now=now, updates=updates)


def resolve_ticket(*, actor: Actor, ticket: Ticket, note: str, photos: Sequence[Upload] = (),
                   now: dt.datetime | None = None) -> Ticket:
    """办结 with a note, and photos of the result: given here (the pages) or uploaded with stage "resolve" before
    (the API). Photos are checked and cleaned like any other, nine at most with those before; a refused photo or
    note refuses the step and writes nothing."""
    now = now or timezone.now()
    errors = ErrorCollector()
    text = clean_prose(note or "")
    if not text:
        errors.add("note", "required", "请填写办结说明", "describe what was done")
    elif len(text) > 2000:
        errors.add("note", "too_long", "办结说明不能超过2000个字", "the note is longer than 2000 characters")
    cleaned: list = []
    if photos:
        check_step(actor, ticket, Action.RESOLVE)  # 409 / 403 before the photos are read
        existing = TicketPhoto.objects.filter(ticket=ticket, stage=PhotoStage.RESOLVE).count()
        try:
            cleaned = clean_uploads(photos, already=existing)
        except ValidationFailed as exc:
            errors.extend(exc)
    errors.raise_if_any()
    elapsed = seconds_between(ticket.created_at, now) - ticket.paused_seconds
    updates = {"resolved_at": now, "resolution_note": text, "resolution_seconds": max(0, elapsed),
               "resolution_overdue": ticket.resolution_overdue or now > ticket.resolve_by}
    if not cleaned:
        return transition(actor=actor, ticket=ticket, action=Action.RESOLVE, now=now, note=text, updates=updates)
    saved: list[str] = []
    try:
        with transaction.atomic():
            record_photos(actor, ticket, PhotoStage.RESOLVE, cleaned, now, saved)
            return transition(actor=actor, ticket=ticket, action=Action.RESOLVE, now=now, note=text, updates=updates)
    except BaseException:
        discard_files(saved)
        raise


def _close(actor: Actor, ticket: Ticket, action: str, now: dt.datetime) -> Ticket:
    with transaction.atomic():
        ticket = transition(actor=actor, ticket=ticket, action=action, now=now, updates={"closed_at": now})
        if ticket.category.return_visit:
            create_return_visit(actor, ticket, now)
    return ticket


def confirm_ticket(*, actor: Actor, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """The reporter confirms the result: closed (and a return visit is due for categories that need one)."""
    return _close(actor, ticket, Action.CONFIRM, now or timezone.now())


def auto_close_ticket(*, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """Closed by the system when the reporter has not confirmed within LINLI_TICKET_AUTO_CLOSE_DAYS."""
    now = now or timezone.now()
    step(ticket.status, Action.AUTO_CLOSE)
    if ticket.resolved_at is None or now < ticket.resolved_at + dt.timedelta(days=settings.LINLI_TICKET_AUTO_CLOSE_DAYS):
        raise Conflict("办结后未满自动关闭天数", "the ticket was resolved too recently to close it automatically",
                       code="too_early")
    return _close(Actor.system("auto-close"), ticket, Action.AUTO_CLOSE, now)


def reopen_ticket(*, actor: Actor, ticket: Ticket, reason: str, now: dt.datetime | None = None) -> Ticket:
    """重新打开: the reporter (or staff for them) is not satisfied. A closed ticket reopens only within the
    category's window; the resolution clock starts again and its reminders may fire again."""
    now = now or timezone.now()
    require_party(actor, ticket, step(ticket.status, Action.REOPEN).parties, Action.REOPEN)
    reason = _reason(reason)
    if ticket.closed_at is not None:
        window = dt.timedelta(days=ticket.category.reopen_window_days)
        if now > ticket.closed_at + window:
            raise Conflict(f"工单关闭已超过{ticket.category.reopen_window_days}天，不能重新打开",
                           f"the ticket closed more than {ticket.category.reopen_window_days} days ago: it cannot be reopened",
                           code="reopen_window_passed")
    category = ticket.category
    resolve_by = now + dt.timedelta(hours=category.resolution_hours)
    return transition(actor=actor, ticket=ticket, action=Action.REOPEN, now=now, note=reason, updates={
        "reopen_count": ticket.reopen_count + 1, "reopened_at": now, "closed_at": None, "status_note": reason,
        "resolve_by": resolve_by,
        "resolve_remind_at": max(now, resolve_by - dt.timedelta(minutes=category.remind_before_minutes)),
        "resolve_reminded_at": None, "resolve_escalated_at": None})


def allowed_actions(actor: Actor, ticket: Ticket) -> list[str]:
    """The steps this actor may take on this ticket now (for the buttons of the pages)."""
    mine = parties_of(actor, ticket)
    return [action for action in actions_from(ticket.status)
            if action != Action.AUTO_CLOSE and step(ticket.status, action).parties & mine
            and (action != Action.GRAB or ticket.category.dispatch_mode == DispatchMode.GRAB)]
