"""An alert's life: acknowledge, resolve, false alarm and comments (history, audit and outbox in one
transaction; illegal steps are 409 and write nothing), escalation after the rule's minutes, automatic resolution
without repeats, a ticket for field work, and scope (another community's alerts do not exist)."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry

from ..actions import (
    acknowledge_alert,
    comment_alert,
    mark_false_alarm,
    resolve_alert,
    sweep_auto_resolve,
    sweep_escalations,
    ticket_from_alert,
)
from ..models import Alert
from ..queries import AlertFilter, access_alert, search_alerts
from .helpers import counts, event, local, outbox, push

pytestmark = pytest.mark.django_db
STILL = {"score": 0.9, "attrs": {"stationary_s": 300}}


@pytest.fixture
def fire_lane(camera) -> Alert:
    """A fire-lane alert opened at 10:00 (escalation to community staff after 15 minutes, auto-resolve after 60)."""
    push(camera, event("camera.fire_lane", local(23, 10), **STILL))
    return Alert.objects.select_related("place").get()


def history(alert: Alert) -> list[tuple[str, str]]:
    return list(alert.history.order_by("id").values_list("kind", "actor_label"))


def test_given_an_open_alert_when_acknowledged_then_resolved_then_history_audit_and_outbox_follow(world, fire_lane):
    acknowledge_alert(actor=world.actor("property_a"), alert=fire_lane, note="已派保安", now=local(23, 10, 5))
    resolve_alert(actor=world.actor("staff_a"), alert=fire_lane, note="车辆已挪走", now=local(23, 10, 20))
    fire_lane.refresh_from_db()
    assert (fire_lane.status, fire_lane.acknowledged_at, fire_lane.closed_at, fire_lane.escalate_at) == (
        "resolved", local(23, 10, 5), local(23, 10, 20), None)
    assert history(fire_lane) == [("opened", "alerts"), ("acknowledged", "property_a"), ("resolved", "staff_a")]
    actions = AuditEntry.objects.filter(target_type="alerts.alert").order_by("pk").values_list("action", "actor_label")
    assert list(actions) == [("alert.open", "alerts"), ("notify.enqueue", "alerts"),
                             ("alert.acknowledged", "property_a"), ("notify.enqueue", "property_a"),
                             ("alert.resolved", "staff_a"), ("notify.enqueue", "staff_a")]
    # property_a acknowledged (not told of their own step); the resolution by staff_a reaches property_a.
    assert outbox("alert.status_changed") == [("property_a", "inapp")]


@pytest.mark.parametrize("step", [acknowledge_alert, resolve_alert, mark_false_alarm])
def test_given_a_closed_alert_when_any_step_is_taken_then_conflict_and_nothing_written(world, fire_lane, step):
    mark_false_alarm(actor=world.actor("property_a"), alert=fire_lane, note="是施工车辆")
    before = counts()
    with pytest.raises(Conflict) as caught:
        step(actor=world.actor("staff_a"), alert=fire_lane)
    assert (caught.value.status, caught.value.code) == (409, "illegal_transition")
    assert counts() == before
    assert Alert.objects.get().status == "false_alarm"


def test_given_an_acknowledged_alert_when_acknowledged_again_then_conflict(world, fire_lane):
    acknowledge_alert(actor=world.actor("property_a"), alert=fire_lane)
    before = counts()
    with pytest.raises(Conflict):
        acknowledge_alert(actor=world.actor("staff_a"), alert=fire_lane)
    assert counts() == before


def test_given_a_role_without_alert_handle_when_it_acts_then_refused_and_nothing_written(world, fire_lane):
    before = counts()
    with pytest.raises(PermissionDenied):
        acknowledge_alert(actor=world.actor("committee_a"), alert=fire_lane)
    with pytest.raises(ValidationFailed):
        comment_alert(actor=world.actor("staff_a"), alert=fire_lane, note="   ")
    assert counts() == before


def test_given_a_comment_when_written_then_history_and_audit_hold_it(world, fire_lane):
    comment_alert(actor=world.actor("grid_a"), alert=fire_lane, note="已电话联系车主")
    assert list(fire_lane.history.values_list("kind", "note").order_by("id"))[-1] == ("comment", "已电话联系车主")
    assert AuditEntry.objects.filter(action="alert.comment", target_id=str(fire_lane.pk)).count() == 1


def test_given_an_open_alert_when_its_escalation_time_passes_then_the_next_role_is_told_once(world, fire_lane):
    assert fire_lane.escalate_at == local(23, 10, 15)
    assert sweep_escalations(now=local(23, 10, 14)) == 0
    assert sweep_escalations(now=local(23, 10, 15)) == 1
    assert sweep_escalations(now=local(23, 10, 30)) == 0  # the table has one step; a second sweep finds nothing
    fire_lane.refresh_from_db()
    assert (fire_lane.escalation_level, fire_lane.escalate_at) == (1, None)
    assert outbox("alert.escalated") == [("staff_a", "inapp")]
    assert history(fire_lane)[-1] == ("escalated", "alerts")


def test_given_an_acknowledged_alert_when_the_escalation_time_passes_then_nothing_escalates(world, fire_lane):
    acknowledge_alert(actor=world.actor("property_a"), alert=fire_lane, now=local(23, 10, 5))
    assert sweep_escalations(now=local(23, 11)) == 0
    assert outbox("alert.escalated") == []


def test_given_no_repeat_when_the_auto_resolve_time_passes_then_resolved_and_a_repeat_postpones_it(camera,
                                                                                                   fire_lane):
    push(camera, event("camera.fire_lane", local(23, 10, 30), **STILL))
    fire_lane.refresh_from_db()
    assert (fire_lane.count, fire_lane.auto_resolve_at) == (2, local(23, 11, 30))
    assert sweep_auto_resolve(now=local(23, 11, 29)) == 0
    assert sweep_auto_resolve(now=local(23, 11, 30)) == 1
    assert sweep_auto_resolve(now=local(23, 11, 31)) == 0
    fire_lane.refresh_from_db()
    assert (fire_lane.status, fire_lane.closed_at) == ("resolved", local(23, 11, 30))
    # the next occurrence opens a new alert
    push(camera, event("camera.fire_lane", local(23, 12), **STILL))
    assert list(Alert.objects.order_by("pk").values_list("status", "count")) == [("resolved", 2), ("open", 1)]


def test_given_staff_of_another_community_when_they_look_then_the_alert_does_not_exist(world, fire_lane):
    with pytest.raises(NotFound):
        access_alert(world.actor("staff_b"), fire_lane.pk)
    assert list(search_alerts(world.actor("staff_b"), AlertFilter())) == []
    assert [a.pk for a in search_alerts(world.actor("street_admin"), AlertFilter(status="open"))] == [fire_lane.pk]
    assert list(search_alerts(world.actor("staff_a"), AlertFilter(severity="critical"))) == []


def test_given_an_alert_when_turned_into_a_ticket_then_the_ticket_comes_from_channel_alert_once(world, desk,
                                                                                              fire_lane):
    ticket = ticket_from_alert(actor=world.actor("staff_a"), alert=fire_lane, kind="repair",
                               category=desk.category("parking"), now=local(23, 10, 10))
    assert (ticket.channel, ticket.title, ticket.place_id) == ("alert", "消防通道占用", world.estate_a.pk)
    assert Alert.objects.get().ticket_id == ticket.pk
    assert history(fire_lane)[-1] == ("ticket_created", "staff_a")
    before = counts()
    with pytest.raises(Conflict):
        ticket_from_alert(actor=world.actor("staff_a"), alert=fire_lane, kind="repair",
                          category=desk.category("parking"))
    assert counts() == before


def test_given_two_processes_when_both_open_the_same_key_then_the_constraint_keeps_one_active(camera, fire_lane):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind="fire_lane", severity="major", title="x", source_key=fire_lane.source_key,
                             subject_key="", place=fire_lane.place, place_path=fire_lane.place_path,
                             first_seen_at=local(23, 10), last_seen_at=local(23, 10))
    assert fire_lane.first_seen_at + dt.timedelta(0) == local(23, 10)


def test_given_alerts_left_due_when_the_periodic_task_runs_later_then_it_catches_up_from_stored_times(world,
                                                                                                    fire_lane):
    from ..tasks import sweep_alerts

    sweep_alerts.call_local()  # months after 10:00 on April 23: escalation, then auto-resolve, both due
    fire_lane.refresh_from_db()
    assert (fire_lane.escalation_level, fire_lane.status) == (1, "resolved")
    assert [k for k, _ in history(fire_lane)] == ["opened", "escalated", "resolved"]
    sweep_alerts.call_local()
    assert [k for k, _ in history(fire_lane)] == ["opened", "escalated", "resolved"]
