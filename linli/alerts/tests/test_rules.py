"""Rules turn stored device events into alerts: each shipped default against crafted events, repeats that collapse
into one alert with a count, each condition (score, zone, stationary time, N within M minutes, time window and
weekdays), routing to the right people's outbox, and the nearest rule of a code winning over a shipped default."""

from __future__ import annotations

import pytest

from linli.core.actor import Actor
from linli.devices.tests.helpers import register

from ..actions import create_rule
from ..models import Alert, AlertEvent, Rule
from ..rules import current_rules
from .helpers import event, local, outbox, push

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def alerts() -> list[tuple]:
    return list(Alert.objects.order_by("pk").values_list("kind", "severity", "status", "count", "subject_kind",
                                                         "subject_ref"))


STILL = {"stationary_s": 300}


@pytest.mark.parametrize("kind, fields, expected", [
    ("camera.fire_lane", {"score": 0.9, "attrs": STILL}, ("fire_lane", "major")),
    ("camera.bin_overflow", {"score": 0.8}, ("bin_overflow", "minor")),
    ("camera.thrown_object", {"score": 0.7}, ("thrown_object", "major")),
    ("camera.smoke_fire", {"score": 0.9}, ("smoke_fire", "critical")),
    ("sensor.smoke", {}, ("smoke_fire", "critical")),
    ("camera.illegal_parking", {"score": 0.9, "attrs": {"stationary_s": 400},
                                "subject": {"kind": "plate", "ref": "鄂L12345"}}, ("illegal_parking", "warning")),
    ("sensor.gas", {"value": 30, "unit": "%LEL"}, ("gas_leak", "critical")),
])
def test_given_a_shipped_rule_when_its_event_is_stored_then_one_open_alert_of_its_kind_and_severity(
        camera, kind, fields, expected):
    push(camera, event(kind, local(23, 10), **fields))
    [(code, severity, status, count, *_)] = alerts()
    assert (code, severity, status, count) == (*expected, "open", 1)


def test_given_intrusion_when_it_happens_at_night_then_an_alert_and_by_day_none(camera):
    push(camera, event("camera.intrusion", local(23, 14), score=0.9))
    push(camera, event("camera.intrusion", local(23, 21, 59), score=0.9))
    assert alerts() == []
    push(camera, event("camera.intrusion", local(24, 2, 30), score=0.9))
    assert alerts() == [("night_intrusion", "major", "open", 1, "none", "")]


def test_given_a_wristband_when_its_wearer_falls_then_a_critical_alert_on_the_resident_at_once(world):
    band = register(world.dwelling_a, kind="wristband", serial="BAND-1", name="手环", wearer=world.resident_a).device
    push(band, event("wristband.fall", local(23, 3)))
    assert alerts() == [("wristband_emergency", "critical", "open", 1, "resident", str(world.resident_a.pk))]
    assert Alert.objects.get().resident_id == world.resident_a.pk


def test_given_a_device_offline_event_when_it_comes_back_online_then_the_alert_opens_and_resolves(camera):
    push(camera, event("device.offline", local(23, 3)))
    assert alerts() == [("device_offline", "warning", "open", 1, "none", "")]
    camera.refresh_from_db()  # as the next request finds it: offline
    push(camera, event("device.heartbeat", local(23, 4)))
    assert alerts() == [("device_offline", "warning", "resolved", 1, "none", "")]


def test_given_repeats_when_the_same_device_reports_again_then_one_alert_counts_them_and_keeps_the_last_time(camera):
    push(camera, event("camera.bin_overflow", local(23, 10), score=0.8),
         event("camera.bin_overflow", local(23, 10, 1), score=0.8))
    push(camera, event("camera.bin_overflow", local(23, 10, 5), score=0.8))
    push(camera, event("camera.bin_overflow", local(23, 9, 59), score=0.8))  # a late event: counted, time kept
    alert = Alert.objects.get()
    assert (alert.count, alert.first_seen_at, alert.last_seen_at) == (4, local(23, 10), local(23, 10, 5))
    assert list(AlertEvent.objects.filter(alert=alert).values_list("kind", "data__count")) == [
        ("opened", 2), ("repeated", 1), ("repeated", 1)]


def test_given_two_plates_when_both_park_illegally_then_two_alerts_one_per_subject(camera):
    still = {"score": 0.9, "attrs": {"stationary_s": 400}}
    push(camera, event("camera.illegal_parking", local(23, 10), subject={"kind": "plate", "ref": "鄂L12345"}, **still),
         event("camera.illegal_parking", local(23, 10), subject={"kind": "plate", "ref": "鄂L54321"}, **still),
         event("camera.illegal_parking", local(23, 11), subject={"kind": "plate", "ref": "鄂L12345"}, **still))
    assert sorted((a[4], a[5], a[3]) for a in alerts()) == [("plate", "鄂L12345", 2), ("plate", "鄂L54321", 1)]


def test_given_a_fire_lane_rule_when_score_or_stationary_time_fall_short_then_no_alert(camera):
    push(camera, event("camera.fire_lane", local(23, 10), score=0.5, attrs=STILL),
         event("camera.fire_lane", local(23, 10), score=0.9, attrs={"stationary_s": 119}),
         event("camera.fire_lane", local(23, 10), score=0.9),
         event("camera.fire_lane", local(23, 10), attrs=STILL))
    assert alerts() == []
    push(camera, event("camera.fire_lane", local(23, 10), score=0.6, attrs={"stationary_s": 120}))
    assert [a[:4] for a in alerts()] == [("fire_lane", "major", "open", 1)]


def test_given_frigate_attrs_when_the_object_is_stationary_long_enough_then_it_counts(camera):
    push(camera, event("camera.fire_lane", local(23, 10), score=0.9, attrs={"stationary": False, "duration_s": 500}))
    assert alerts() == []
    push(camera, event("camera.fire_lane", local(23, 10), score=0.9, attrs={"stationary": True, "duration_s": 500}))
    assert len(alerts()) == 1


def _rule(world, **fields) -> Rule:
    base = {"code": "loitering", "name": "徘徊", "event_kinds": ["camera.loitering"], "severity": "minor",
            "route_roles": ["property_staff"]}
    return create_rule(actor=world.actor("staff_a"), place=world.community_a, fields={**base, **fields})


def test_given_a_zone_condition_when_events_come_from_other_zones_then_only_the_named_zone_alerts(world, camera):
    _rule(world, zones=["north_gate"])
    push(camera, event("camera.loitering", local(23, 10), zone="garden"), event("camera.loitering", local(23, 10)))
    assert alerts() == []
    push(camera, event("camera.loitering", local(23, 10), zone="north_gate"))
    assert [a[:4] for a in alerts()] == [("loitering", "minor", "open", 1)]


def test_given_three_within_ten_minutes_when_events_are_spread_then_only_the_third_close_one_alerts(world, camera):
    _rule(world, repeat_count=3, repeat_minutes=10)
    push(camera, event("camera.loitering", local(23, 10, 0)))
    push(camera, event("camera.loitering", local(23, 10, 11)))
    push(camera, event("camera.loitering", local(23, 10, 15)))
    assert alerts() == []  # 10:00 fell out of the window of 10:15
    push(camera, event("camera.loitering", local(23, 10, 20)))
    assert [a[:4] for a in alerts()] == [("loitering", "minor", "open", 1)]


def test_given_a_weekday_window_when_events_fall_outside_it_then_no_alert(world, camera):
    _rule(world, time_from="08:00", time_until="18:00", weekdays=[0, 1, 2, 3, 4])
    push(camera, event("camera.loitering", local(25, 10)))  # Saturday
    push(camera, event("camera.loitering", local(23, 7, 59)))  # Thursday, before 08:00
    push(camera, event("camera.loitering", local(23, 18)))  # the window ends at 18:00
    assert alerts() == []
    push(camera, event("camera.loitering", local(23, 17, 59)))
    assert len(alerts()) == 1


def test_given_a_night_window_when_it_spans_midnight_then_the_night_counts_for_the_weekday_it_began(world, camera):
    _rule(world, time_from="22:00", time_until="06:00", weekdays=[4])  # Friday nights
    push(camera, event("camera.loitering", local(24, 3)))  # 03:00 on Friday belongs to Thursday night
    assert alerts() == []
    push(camera, event("camera.loitering", local(25, 3)))  # 03:00 on Saturday: Friday night
    assert len(alerts()) == 1


def test_given_an_alert_when_it_opens_then_its_routed_roles_and_users_get_it_and_no_one_else(world, camera):
    _rule(world, route_roles=["property_staff", "community_staff"])
    rule = Rule.objects.get(code="loitering")
    rule.route_users.set([world.users["street_admin"]])
    rule.save()
    push(camera, event("camera.loitering", local(23, 10)), event("camera.loitering", local(23, 10, 1)))
    assert outbox("alert.opened") == [("property_a", "inapp"), ("staff_a", "inapp"), ("street_admin", "inapp")]
    alert = Alert.objects.get()
    assert alert.recipient_ids == sorted(world.users[n].pk for n in ("property_a", "staff_a", "street_admin"))


def test_given_a_grid_containing_the_building_when_routed_to_grid_workers_then_its_workers_get_it(world):
    from linli.core.permissions import Role
    from linli.core.testing import make_user
    from linli.places.actions import save_grid

    other = make_user("grid_a2", Role.GRID_WORKER, world.community_a)
    save_grid(actor=SYSTEM, community=world.community_a, name="一网格", building_ids=[world.building_a.pk],
              worker_ids=[other.pk])
    band = register(world.dwelling_a, kind="wristband", serial="BAND-1", name="手环", wearer=world.resident_a).device
    push(band, event("wristband.sos", local(23, 3)))
    assert outbox("alert.opened") == [("grid_a2", "inapp"), ("staff_a", "inapp")]


def test_given_a_community_rule_of_a_shipped_code_when_disabled_then_it_overrides_the_default_there_only(
        world, camera, camera_b):
    _rule(world, code="bin_overflow", event_kinds=["camera.bin_overflow"], enabled=False)
    push(camera, event("camera.bin_overflow", local(23, 10), score=0.9))
    push(camera_b, event("camera.bin_overflow", local(23, 10), score=0.9))
    assert list(Alert.objects.values_list("place_path", flat=True)) == [world.estate_b.path]


def test_given_a_batch_when_rules_are_read_then_the_compiled_set_is_reused_until_a_rule_changes(world, camera,
                                                                                                 django_assert_num_queries):
    first = current_rules()
    with django_assert_num_queries(1):
        assert current_rules() is first
    _rule(world)
    assert current_rules() is not first
    assert "loitering" in current_rules().by_code
