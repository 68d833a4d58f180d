"""The status table walked as a matrix: every status x every action. A step the table has moves the ticket to
the status it names and writes one event and one audit entry; any other is a 409 Conflict naming the current
status and the attempted action, and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from linli.core.actor import Actor
from linli.core.errors import Conflict
from linli.tickets import actions
from linli.tickets.choices import TicketStatus
from linli.tickets.models import Ticket
from linli.tickets.transitions import ACTION_LABELS_ZH, TABLE, Action, status_zh

from .conftest import T0, counts

H = dt.timedelta(hours=1)


def _call(desk, action: str, ticket: Ticket) -> Ticket:
    """Take ``action`` as the party the table names for it (the reporter, staff, the assignee, the system)."""
    a = desk.actor
    now = T0 + 2 * H
    calls = {
        Action.ACCEPT: lambda: actions.accept_ticket(actor=a("staff_a"), ticket=ticket, now=now),
        Action.REJECT: lambda: actions.reject_ticket(actor=a("staff_a"), ticket=ticket, reason="重复反映", now=now),
        Action.WITHDRAW: lambda: actions.withdraw_ticket(actor=a("resident_a"), ticket=ticket, now=now),
        Action.ASSIGN: lambda: actions.assign_ticket(actor=a("staff_a"), ticket=ticket,
                                                     assignee_id=desk.user("property_a").pk, now=now),
        Action.GRAB: lambda: actions.grab_ticket(actor=a("property_a2"), ticket=ticket, now=now),
        Action.DISPATCH: lambda: actions.dispatch_ticket(actor=a("staff_a"), ticket=ticket, now=now),
        Action.REASSIGN: lambda: actions.reassign_ticket(actor=a("staff_a"), ticket=ticket,
                                                         assignee_id=desk.user("property_a2").pk, reason="请假", now=now),
        Action.TRANSFER: lambda: actions.transfer_ticket(actor=a("staff_a"), ticket=ticket,
                                                         organisation=desk.committee_a, reason="非物业职责", now=now),
        Action.START: lambda: actions.start_ticket(actor=a("property_a"), ticket=ticket, now=now),
        Action.PAUSE: lambda: actions.pause_ticket(actor=a("property_a"), ticket=ticket, reason="等配件", now=now),
        Action.RESUME: lambda: actions.resume_ticket(actor=a("property_a"), ticket=ticket, now=now),
        Action.RESOLVE: lambda: actions.resolve_ticket(actor=a("property_a"), ticket=ticket, note="已更换", now=now),
        Action.CONFIRM: lambda: actions.confirm_ticket(actor=a("resident_a"), ticket=ticket, now=now),
        Action.AUTO_CLOSE: lambda: actions.auto_close_ticket(ticket=ticket, now=T0 + dt.timedelta(days=30)),
        Action.REOPEN: lambda: actions.reopen_ticket(actor=a("resident_a"), ticket=ticket, reason="还在漏", now=now),
    }
    return calls[action]()


def ticket_in(desk, status: str) -> Ticket:
    """A ticket of a grab-mode category brought to ``status`` through the actions."""
    a = desk.actor
    t = desk.submit(code="sanitation", now=T0)
    m = T0 + dt.timedelta(minutes=1)
    if status == TicketStatus.SUBMITTED:
        return t
    if status == TicketStatus.REJECTED:
        return actions.reject_ticket(actor=a("staff_a"), ticket=t, reason="不属实", now=m)
    if status == TicketStatus.WITHDRAWN:
        return actions.withdraw_ticket(actor=a("resident_a"), ticket=t, now=m)
    t = actions.accept_ticket(actor=a("staff_a"), ticket=t, now=m)
    if status == TicketStatus.ACCEPTED:
        return t
    t = actions.assign_ticket(actor=a("staff_a"), ticket=t, assignee_id=desk.user("property_a").pk, now=m)
    if status == TicketStatus.DISPATCHED:
        return t
    t = actions.start_ticket(actor=a("property_a"), ticket=t, now=m)
    if status == TicketStatus.IN_PROGRESS:
        return t
    if status == TicketStatus.PAUSED:
        return actions.pause_ticket(actor=a("property_a"), ticket=t, reason="等配件", now=m)
    t = actions.resolve_ticket(actor=a("property_a"), ticket=t, note="已修好", now=m)
    if status == TicketStatus.RESOLVED:
        return t
    t = actions.confirm_ticket(actor=a("resident_a"), ticket=t, now=m)
    if status == TicketStatus.CLOSED:
        return t
    return actions.reopen_ticket(actor=a("resident_a"), ticket=t, reason="又坏了", now=m)


def test_given_every_status_when_every_action_is_tried_then_the_table_alone_decides_and_refusals_write_nothing(desk):
    results = {}
    for status in TicketStatus.values:
        for action in Action:
            with transaction.atomic():
                ticket = ticket_in(desk, status)
                assert ticket.status == status
                before = counts()
                try:
                    after_ticket = _call(desk, action, ticket)
                except Conflict as exc:
                    assert exc.code == "illegal_transition", (status, action, exc.message_en)
                    assert exc.message_en == f"the ticket is {status}: {action} is not allowed now"
                    assert status_zh(status) in exc.message_zh and ACTION_LABELS_ZH[action] in exc.message_zh
                    assert counts() == before
                    assert Ticket.objects.get(pk=ticket.pk).status == status
                    results[(status, action)] = None
                else:
                    after = counts()
                    assert after["TicketEvent"] - before["TicketEvent"] >= 1
                    assert after["AuditEntry"] - before["AuditEntry"] >= 1
                    assert after_ticket.events.order_by("-id").first().action in (action, "dispatch")
                    results[(status, action)] = after_ticket.status
                transaction.set_rollback(True)
    expected = {(s, a): (TABLE[(s, a)].to if (s, a) in TABLE else None) for s in TicketStatus.values for a in Action}
    assert results == expected


@pytest.mark.parametrize("status", [TicketStatus.REJECTED, TicketStatus.WITHDRAWN])
def test_given_a_final_ticket_when_staff_try_to_revive_it_then_every_action_is_a_409(desk, status):
    ticket = ticket_in(desk, status)
    for action in Action:
        with pytest.raises(Conflict):
            _call(desk, action, ticket)


def test_given_two_staff_acting_on_the_same_stale_ticket_when_both_accept_then_the_second_gets_a_409_naming_the_new_status(desk):
    ticket = desk.submit()
    stale = Ticket.objects.get(pk=ticket.pk)
    actions.accept_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0)
    before = counts()
    with pytest.raises(Conflict) as exc:
        actions.accept_ticket(actor=desk.actor("grid_a"), ticket=stale, now=T0)
    assert exc.value.message_en == "the ticket is accepted: accept is not allowed now"
    assert counts() == before


def test_given_a_party_not_named_in_the_table_when_it_tries_the_step_then_it_is_forbidden_and_nothing_is_written(desk):
    from linli.core.errors import PermissionDenied

    ticket = desk.submit()
    before = counts()
    with pytest.raises(PermissionDenied):
        actions.accept_ticket(actor=desk.actor("resident_a"), ticket=ticket, now=T0)
    with pytest.raises(PermissionDenied):
        actions.withdraw_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0)
    with pytest.raises(PermissionDenied):
        actions.accept_ticket(actor=Actor.for_user(desk.user("committee_a")), ticket=ticket, now=T0)
    assert counts() == before
