"""Care: a resident living alone who has passed no door for longer than their threshold raises one not_seen alert
to their grid worker and, by SMS, their emergency contacts; the next passage resolves it; nothing is raised in the
quiet hours; a per-person threshold wins over the default."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.actor import Actor
from linli.devices.actions import add_credential
from linli.devices.tests.helpers import register
from linli.people.actions import add_emergency_contact
from linli.people.models import ResidentTag

from ..care import Routine, learn_routine, sweep_not_seen
from ..models import Alert
from .helpers import event, local, outbox, push

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def door(world):
    door = register(world.entrance_a, serial="DOOR-A").device
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C-1", device=door)
    ResidentTag.objects.filter(resident=world.resident_a).update(created_at=local(20, 8))
    return door


def passage(door, at) -> None:
    push(door, event("passage.card", at, subject={"kind": "resident", "ref": "C-1", "ref_type": "card_no"}))


def not_seen() -> list[tuple]:
    return list(Alert.objects.filter(kind="care.not_seen").order_by("pk").values_list("status", "resident_id",
                                                                                      "recipient_ids"))


def test_given_a_silent_resident_when_the_threshold_passes_then_one_alert_to_grid_worker_and_contact(world, door):
    add_emergency_contact(actor=SYSTEM, resident=world.resident_a, name="王五", phone="13600136000")
    passage(door, local(22, 9))
    assert sweep_not_seen(now=local(23, 9)) == []  # exactly 24 hours: not longer yet
    [alert] = sweep_not_seen(now=local(23, 9, 1))
    assert sweep_not_seen(now=local(23, 12)) == []  # raised once while it is active
    assert not_seen() == [("open", world.resident_a.pk, [world.users["grid_a"].pk])]
    assert alert.attrs == {"since": local(22, 9).astimezone(dt.UTC).isoformat(), "threshold_hours": 24.0,
                           "reason": "threshold"}
    assert outbox("care.not_seen") == [("136****6000", "sms"), ("grid_a", "inapp")]


def test_given_an_active_not_seen_alert_when_the_resident_passes_a_door_then_it_is_resolved(world, door):
    passage(door, local(22, 9))
    sweep_not_seen(now=local(23, 10))
    passage(door, local(22, 8))  # a late event from before the silence resolves nothing
    assert not_seen()[0][0] == "open"
    passage(door, local(23, 10, 30))
    assert not_seen()[0][0] == "resolved"
    assert list(Alert.objects.get().history.order_by("id").values_list("kind", flat=True)) == ["opened", "resolved"]


def test_given_quiet_hours_when_the_threshold_passes_at_night_then_the_alert_waits_for_the_morning(world, door):
    passage(door, local(22, 22))
    assert sweep_not_seen(now=local(23, 23, 30)) == []
    assert sweep_not_seen(now=local(24, 6, 59)) == []
    assert len(sweep_not_seen(now=local(24, 7))) == 1


def test_given_a_personal_threshold_when_set_on_the_tag_then_it_wins_over_the_default(world, door):
    ResidentTag.objects.filter(resident=world.resident_a).update(attrs={"not_seen_hours": 12})
    passage(door, local(22, 9))
    assert sweep_not_seen(now=local(22, 21)) == []
    assert len(sweep_not_seen(now=local(22, 21, 1))) == 1


def test_given_a_never_seen_resident_when_the_tag_is_older_than_the_threshold_then_raised(world, door):
    assert len(sweep_not_seen(now=local(21, 8, 1))) == 1


def test_given_an_untagged_resident_when_silent_then_no_alert(world, door):
    ResidentTag.objects.filter(resident=world.resident_a).update(until=local(21, 0).date())
    assert sweep_not_seen(now=local(23, 10)) == []


def _days(first_day: int, last_day: int, *hours: int) -> list:
    """Passage times at ``hours`` o'clock on each day of a range (days of March 26-31 as 26-31, April as 32+)."""
    def day(n: int) -> tuple[int, int]:
        return (3, n) if n <= 31 else (4, n - 31)
    return [dt.datetime(2026, *day(n), h, tzinfo=local(23, 0).tzinfo) for n in range(first_day, last_day + 1)
            for h in hours]


def test_given_four_weeks_out_at_eight_and_back_at_six_when_learned_then_the_usual_silence_at_each_hour():
    passages = _days(26, 53, 8, 18)  # March 26 to April 22
    assert learn_routine(passages, local(23, 20)) == Routine(days=28, usual_hours=2.0, limit_hours=4.0)
    assert learn_routine(passages, local(23, 14)) == Routine(days=28, usual_hours=6.0, limit_hours=9.0)
    assert learn_routine(_days(44, 53, 8, 18), local(23, 20)) is None  # ten days: too little to judge


def test_given_a_regular_routine_when_the_evening_return_is_missing_then_raised_early_and_says_why(world, door):
    card = {"subject": {"kind": "resident", "ref": "C-1", "ref_type": "card_no"}}
    push(door, *[event("passage.card", at, **card) for at in _days(26, 53, 8, 18) + [local(23, 8)]])
    assert sweep_not_seen(now=local(23, 11)) == []  # three hours after going out is usual at 11:00
    [alert] = sweep_not_seen(now=local(23, 20))  # twelve hours: unusual at 20:00, long before 24 hours
    assert alert.attrs == {"since": local(23, 8).astimezone(dt.UTC).isoformat(), "threshold_hours": 4.0,
                           "reason": "routine", "usual_hours": 2.0, "days": 28}
