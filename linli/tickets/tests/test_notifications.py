"""Every status change tells the reporter (and the assignee) through the notify outbox, in the same transaction:
a cause that rolls back leaves no message."""

from __future__ import annotations

import pytest
from django.db import transaction

from linli.notify.models import Message
from linli.tickets import actions
from linli.tickets.models import Ticket

from .conftest import T0, counts


class Boom(Exception):
    pass


def test_given_a_submitted_ticket_when_accepted_then_the_reporter_gets_the_new_status_in_the_outbox(desk):
    ticket = desk.submit(code="parking")
    ticket = actions.accept_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0)
    rows = Message.objects.filter(cause_type="tickets.ticket", cause_id=str(ticket.pk), template="ticket.status_changed",
                                  recipient=desk.user("resident_a")).order_by("id")
    assert [(m.channel, m.context["status"]) for m in rows] == [
        ("inapp", "待受理"), ("sms", "待受理"), ("inapp", "已受理"), ("sms", "已受理")]
    assert {m.place_path for m in rows} == {desk.world.dwelling_a.path}


def test_given_an_assignment_when_the_assignee_acts_then_the_reporter_is_told_and_the_assignee_not_about_their_own_step(desk):
    ticket = actions.accept_ticket(actor=desk.actor("staff_a"), ticket=desk.submit(code="parking"), now=T0)
    ticket = actions.assign_ticket(actor=desk.actor("staff_a"), ticket=ticket, assignee_id=desk.user("property_a").pk)
    assigned = Message.objects.filter(template="ticket.assigned", recipient=desk.user("property_a"))
    assert assigned.filter(channel="inapp").count() == 1
    before = Message.objects.filter(recipient=desk.user("property_a")).count()
    actions.start_ticket(actor=desk.actor("property_a"), ticket=ticket)
    assert Message.objects.filter(recipient=desk.user("property_a")).count() == before
    ticket.refresh_from_db()
    actions.pause_ticket(actor=desk.actor("staff_a"), ticket=ticket, reason="居民不在家")
    paused = Message.objects.filter(recipient=desk.user("property_a"), template="ticket.status_changed",
                                    channel="inapp").get()
    assert (paused.context["status"], paused.context["note"]) == ("已挂起", "居民不在家")


def test_given_a_transition_inside_a_transaction_that_fails_later_when_rolled_back_then_no_message_event_or_audit_remains(desk):
    ticket = desk.submit(code="parking")
    before = counts()
    with pytest.raises(Boom), transaction.atomic():
        actions.accept_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0)
        assert counts()["Message"] > before["Message"]
        raise Boom
    assert counts() == before
    assert Ticket.objects.get(pk=ticket.pk).status == "submitted"


def test_given_a_resident_without_an_account_when_staff_handle_their_ticket_then_nothing_is_queued_for_them(desk):
    ticket = actions.submit_ticket(actor=desk.actor("staff_b"), kind="repair", category=desk.category("noise"),
                                   place=desk.world.dwelling_b, description="楼上噪音", channel="phone",
                                   reporter=desk.world.resident_b, now=T0)
    assert not Message.objects.filter(cause_id=str(ticket.pk), template="ticket.status_changed").exists()
