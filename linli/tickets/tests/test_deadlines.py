"""The deadline sweep with a controlled clock: reminders before, the overdue flag at, escalation after the
deadline; each recorded once however often the sweep runs (a restart repeats nothing and misses nothing);
paused time stops the resolution clock; resolved tickets close by themselves after N days."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from linli.notify.models import Message
from linli.tickets import actions
from linli.tickets.models import Ticket, TicketEvent

from .conftest import T0

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


def _nonzero(c: Counter) -> dict:
    return {k: v for k, v in c.items() if v}


def test_given_an_unanswered_ticket_when_the_clock_runs_then_reminder_overdue_and_escalation_happen_once_each(desk, settings):
    settings.LINLI_TICKET_ESCALATE_AFTER_MINUTES = 60
    ticket = desk.submit(code="parking", now=T0)  # respond within 60 min, reminded 30 min before
    assert (ticket.respond_by, ticket.respond_remind_at) == (T0 + 60 * M, T0 + 30 * M)
    assert _nonzero(actions.sweep_deadlines(now=T0 + 29 * M)) == {}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 30 * M)) == {"response_reminder": 1}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 45 * M)) == {}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 60 * M)) == {"response_overdue": 1}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 90 * M)) == {}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 120 * M)) == {"response_escalation": 1}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 600 * M)) == {}
    ticket.refresh_from_db()
    assert (ticket.respond_reminded_at, ticket.response_overdue, ticket.respond_escalated_at) == (
        T0 + 30 * M, True, T0 + 120 * M)
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == [
        "submit", "response_reminder", "response_overdue", "response_escalation"]
    # The on-duty members were reminded and told of the overdue; the committee's staff got the escalation.
    deadline = Message.objects.filter(template="ticket.deadline", channel="inapp")
    assert sorted(deadline.values_list("recipient__username", flat=True)) == [
        "property_a", "property_a", "property_a2", "property_a2", "staff_a"]


def test_given_a_sweep_that_was_down_when_it_runs_late_then_everything_due_is_done_in_one_pass_and_never_again(desk):
    desk.submit(code="parking", now=T0)
    # The worker was down for hours (a restart): nothing was remembered in memory, the stored times say it all.
    first = actions.sweep_deadlines(now=T0 + 5 * H)
    assert _nonzero(first) == {"response_overdue": 1, "response_escalation": 1}
    again = actions.sweep_deadlines(now=T0 + 5 * H)
    assert _nonzero(again) == {}
    assert Message.objects.filter(template="ticket.deadline").count() == Message.objects.filter(
        template="ticket.deadline").values("dedupe_key").distinct().count()


def test_given_a_late_accept_when_the_ticket_is_resolved_then_it_counts_as_overdue_even_without_a_sweep(desk):
    ticket = desk.submit(code="parking", now=T0)
    ticket = actions.accept_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0 + 2 * H)
    assert ticket.response_overdue is True and ticket.response_seconds == 7200


def test_given_a_paused_ticket_when_the_resolution_deadline_passes_then_it_is_not_overdue_and_resume_pushes_it_out(desk):
    ticket = desk.submit(code="sanitation", now=T0)  # resolution 24 h
    a = desk.actor
    ticket = actions.accept_ticket(actor=a("staff_a"), ticket=ticket, now=T0 + M)
    ticket = actions.grab_ticket(actor=a("property_a"), ticket=ticket, now=T0 + 2 * M)
    ticket = actions.start_ticket(actor=a("property_a"), ticket=ticket, now=T0 + 3 * M)
    ticket = actions.pause_ticket(actor=a("property_a"), ticket=ticket, reason="等配件", now=T0 + H)
    assert _nonzero(actions.sweep_deadlines(now=T0 + 30 * H)) == {}
    ticket = actions.resume_ticket(actor=a("property_a"), ticket=ticket, now=T0 + 31 * H)
    assert ticket.paused_seconds == 30 * 3600
    assert ticket.resolve_by == T0 + 24 * H + 30 * H
    assert _nonzero(actions.sweep_deadlines(now=T0 + 53 * H + 29 * M)) == {}
    assert _nonzero(actions.sweep_deadlines(now=T0 + 53 * H + 30 * M)) == {"resolution_reminder": 1}
    ticket = actions.resolve_ticket(actor=a("property_a"), ticket=ticket, note="已修好", now=T0 + 53 * H + 40 * M)
    assert ticket.resolution_overdue is False
    assert ticket.resolution_seconds == (53 * 3600 + 2400) - 30 * 3600


def test_given_an_overdue_resolution_when_swept_then_the_assignee_is_told_and_the_committee_supervises(desk, settings):
    settings.LINLI_TICKET_ESCALATE_AFTER_MINUTES = 30
    a = desk.actor
    ticket = desk.submit(code="sanitation", now=T0)
    ticket = actions.accept_ticket(actor=a("staff_a"), ticket=ticket, now=T0 + M)
    ticket = actions.grab_ticket(actor=a("property_a2"), ticket=ticket, now=T0 + 2 * M)
    done = actions.sweep_deadlines(now=T0 + 24 * H + 30 * M)
    assert _nonzero(done) == {"resolution_overdue": 1, "resolution_escalation": 1}
    ticket.refresh_from_db()
    assert ticket.resolution_overdue and ticket.resolve_escalated_at == T0 + 24 * H + 30 * M
    escalation = TicketEvent.objects.get(ticket=ticket, kind="escalation")
    assert escalation.data["notified"] == [desk.user("staff_a").pk]


def test_given_a_resolved_ticket_nobody_confirms_when_the_days_pass_then_it_closes_itself_once(desk, settings):
    settings.LINLI_TICKET_AUTO_CLOSE_DAYS = 7
    a = desk.actor
    ticket = desk.submit(code="water-power", now=T0)  # round-robin, return visit due
    ticket = actions.accept_ticket(actor=a("staff_a"), ticket=ticket, now=T0 + M)
    assignee = ticket.assignee.username
    ticket = actions.start_ticket(actor=a(assignee), ticket=ticket, now=T0 + 2 * M)
    ticket = actions.resolve_ticket(actor=a(assignee), ticket=ticket, note="已修好", now=T0 + H)
    assert actions.sweep_deadlines(now=T0 + 7 * 24 * H)["auto_closed"] == 0
    assert actions.sweep_deadlines(now=T0 + 7 * 24 * H + H)["auto_closed"] == 1
    assert actions.sweep_deadlines(now=T0 + 8 * 24 * H)["auto_closed"] == 0
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.status, ticket.closed_at) == ("closed", T0 + 7 * 24 * H + H)
    assert ticket.return_visits.count() == 1
