"""Dispatch per category: assign by a dispatcher, grab by the first on-duty member, round-robin to the on-duty
member assigned longest ago (stored, deterministic); reassign and transfer."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.accounts.models import RoleAssignment
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.tickets import actions
from linli.tickets.models import Membership, Ticket

from .conftest import T0, counts

M = dt.timedelta(minutes=1)


def accepted(desk, code: str, minute: int = 0) -> Ticket:
    t = desk.submit(code=code, now=T0 + minute * M)
    return actions.accept_ticket(actor=desk.actor("staff_a"), ticket=t, now=T0 + minute * M + M)


def test_given_a_round_robin_category_when_tickets_are_accepted_then_on_duty_members_take_turns_oldest_first(desk):
    picked = [accepted(desk, "water-power", minute=i * 10) for i in range(4)]
    assert [t.status for t in picked] == ["dispatched"] * 4
    # Never assigned: by membership id (property_a joined first), then whoever was assigned longest ago.
    assert [t.assignee.username for t in picked] == ["property_a", "property_a2", "property_a", "property_a2"]
    last = Membership.objects.get(organisation=desk.property_a, user=desk.user("property_a2")).last_assigned_at
    assert last == T0 + 31 * M
    assert [e.action for e in picked[0].events.all()] == ["submit", "accept", "dispatch"]


def test_given_a_member_off_duty_when_round_robin_picks_then_only_the_on_duty_member_gets_tickets(desk):
    RoleAssignment.objects.filter(user=desk.user("property_a")).update(on_duty=False)
    picked = [accepted(desk, "water-power", minute=i * 10) for i in range(2)]
    assert [t.assignee.username for t in picked] == ["property_a2", "property_a2"]


def test_given_nobody_on_duty_when_a_round_robin_ticket_is_accepted_then_it_waits_and_dispatching_is_a_409(desk):
    RoleAssignment.objects.filter(user__username__in=["property_a", "property_a2"]).update(on_duty=False)
    ticket = accepted(desk, "water-power")
    assert ticket.status == "accepted" and ticket.assignee_id is None
    with pytest.raises(Conflict) as exc:
        actions.dispatch_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0)
    assert exc.value.code == "nobody_on_duty"


def test_given_a_grab_ticket_when_two_members_grab_then_the_first_wins_and_the_second_gets_a_409(desk):
    ticket = accepted(desk, "sanitation")
    stale = Ticket.objects.select_related("category", "organisation").get(pk=ticket.pk)
    won = actions.grab_ticket(actor=desk.actor("property_a2"), ticket=ticket, now=T0 + 5 * M)
    assert (won.status, won.assignee.username) == ("dispatched", "property_a2")
    before = counts()
    with pytest.raises(Conflict) as exc:
        actions.grab_ticket(actor=desk.actor("property_a"), ticket=stale, now=T0 + 5 * M)
    assert exc.value.message_en == "the ticket is dispatched: grab is not allowed now"
    assert counts() == before


def test_given_staff_who_are_not_members_when_they_grab_then_it_is_forbidden(desk):
    ticket = accepted(desk, "sanitation")
    with pytest.raises(PermissionDenied):
        actions.grab_ticket(actor=desk.actor("staff_a"), ticket=ticket, now=T0)


def test_given_an_assign_mode_category_when_a_member_grabs_then_it_is_a_409(desk):
    ticket = accepted(desk, "parking")
    with pytest.raises(Conflict) as exc:
        actions.grab_ticket(actor=desk.actor("property_a"), ticket=ticket, now=T0)
    assert exc.value.code == "not_grab_mode"


def test_given_an_assign_mode_category_when_the_dispatcher_assigns_a_member_then_the_member_is_notified(desk):
    from linli.notify.models import Message

    ticket = accepted(desk, "parking")
    done = actions.assign_ticket(actor=desk.actor("staff_a"), ticket=ticket, assignee_id=desk.user("property_a2").pk,
                                 now=T0 + 3 * M)
    assert (done.status, done.assignee.username, done.dispatched_at) == ("dispatched", "property_a2", T0 + 3 * M)
    assert Message.objects.filter(recipient=desk.user("property_a2"), template="ticket.assigned").count() >= 1


def test_given_a_user_outside_the_organisation_when_assigned_then_the_field_is_named_and_nothing_is_written(desk):
    ticket = accepted(desk, "parking")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        actions.assign_ticket(actor=desk.actor("staff_a"), ticket=ticket, assignee_id=desk.user("staff_b").pk, now=T0)
    assert [(e.field, e.code) for e in exc.value.errors] == [("assignee_id", "not_a_member")]
    assert counts() == before


def test_given_an_assigned_ticket_when_reassigned_then_the_new_member_has_it_and_the_history_names_the_old_one(desk):
    ticket = accepted(desk, "water-power")
    first = ticket.assignee_id
    other = desk.user("property_a2" if ticket.assignee.username == "property_a" else "property_a")
    done = actions.reassign_ticket(actor=desk.actor("staff_a"), ticket=ticket, assignee_id=other.pk, reason="休假",
                                   now=T0 + 9 * M)
    assert (done.status, done.assignee_id) == ("dispatched", other.pk)
    assert done.events.order_by("-id").first().data == {"from_assignee": first}


def test_given_a_ticket_of_the_property_company_when_transferred_to_the_committee_then_it_waits_there_unassigned(desk):
    ticket = accepted(desk, "parking")
    ticket = actions.assign_ticket(actor=desk.actor("staff_a"), ticket=ticket, assignee_id=desk.user("property_a").pk)
    done = actions.transfer_ticket(actor=desk.actor("staff_a"), ticket=ticket, organisation=desk.committee_a,
                                   reason="涉及公共秩序")
    assert (done.status, done.organisation_id, done.assignee_id) == ("accepted", desk.committee_a.pk, None)


def test_given_another_communitys_organisation_when_transferred_then_the_field_is_named(desk):
    ticket = accepted(desk, "parking")
    with pytest.raises(ValidationFailed) as exc:
        actions.transfer_ticket(actor=desk.actor("staff_a"), ticket=ticket, organisation=desk.committee_b, reason="x")
    assert exc.value.errors[0].field == "organisation_id"
