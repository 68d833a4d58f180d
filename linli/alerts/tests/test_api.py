"""The alert API: lists in scope with filters at a constant number of queries, detail with history, steps that
answer 409 on an illegal transition, and rules created and changed with every bad field named."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.core.testing import make_token

from ..models import Alert, Rule
from .helpers import counts, event, local, push

pytestmark = pytest.mark.django_db
STILL = {"score": 0.9, "attrs": {"stationary_s": 300}}


def client_for(world, name: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {make_token(world.users[name])}"})


def test_given_alerts_when_listed_then_scope_filters_and_a_constant_number_of_queries(world, camera, camera_b,
                                                                                      django_assert_max_num_queries):
    push(camera, event("camera.bin_overflow", local(23, 10), score=0.9))
    push(camera_b, event("camera.bin_overflow", local(23, 10), score=0.9))
    staff = client_for(world, "staff_a")
    staff.get("/api/v1/alerts")  # warm the token and actor
    with django_assert_max_num_queries(8) as few:
        body = staff.get("/api/v1/alerts").json()
    assert [(a["kind"], a["place_name"], a["count"]) for a in body["items"]] == [("bin_overflow", "祥和苑", 1)]
    for i in range(5):
        push(camera, event("camera.smoke_fire", local(23, 11), score=0.9, subject={"kind": "plate", "ref": f"鄂L1234{i}"}))
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = staff.get("/api/v1/alerts").json()
    assert body["count"] == 6
    critical = staff.get("/api/v1/alerts?severity=critical&status=open").json()
    assert critical["count"] == 5
    assert client_for(world, "street_admin").get("/api/v1/alerts?kind=bin_overflow").json()["count"] == 2


def test_given_an_alert_when_acknowledged_twice_over_the_api_then_200_then_409_and_the_detail_shows_history(
        world, camera):
    push(camera, event("camera.fire_lane", local(23, 10), **STILL))
    pk = Alert.objects.get().pk
    grid = client_for(world, "grid_a")
    first = grid.post(f"/api/v1/alerts/{pk}/acknowledge", {"note": "马上到"}, content_type="application/json")
    assert (first.status_code, first.json()["status"]) == (200, "acknowledged")
    before = counts()
    again = grid.post(f"/api/v1/alerts/{pk}/acknowledge", {}, content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    assert counts() == before
    detail = grid.get(f"/api/v1/alerts/{pk}").json()
    assert [(h["kind"], h["note"]) for h in detail["history"]] == [("opened", ""), ("acknowledged", "马上到")]
    assert client_for(world, "staff_b").get(f"/api/v1/alerts/{pk}").status_code == 404


def test_given_a_rule_when_created_and_changed_over_the_api_then_it_applies_and_is_audited(world, camera):
    staff = client_for(world, "staff_a")
    body = {"place_id": world.estate_a.pk, "code": "loitering", "name": "徘徊", "event_kinds": ["camera.loitering"],
            "severity": "minor", "repeat_count": 2, "repeat_minutes": 5, "route_roles": ["property_staff"],
            "escalation": [{"after_minutes": 10, "to_role": "community_staff"}],
            "route_user_ids": [world.users["grid_a"].pk]}
    created = staff.post("/api/v1/alert-rules", body, content_type="application/json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert (rule["place_path"], rule["route_user_ids"], rule["escalation"]) == (
        world.estate_a.path, [world.users["grid_a"].pk], [{"after_minutes": 10, "to_role": "community_staff"}])
    changed = staff.patch(f"/api/v1/alert-rules/{rule['id']}", {"time_from": "22:00", "time_until": "06:00"},
                          content_type="application/json")
    assert (changed.status_code, changed.json()["time_from"], changed.json()["repeat_count"]) == (200, "22:00:00", 2)
    push(camera, event("camera.loitering", local(23, 23)), event("camera.loitering", local(23, 23, 2)))
    assert list(Alert.objects.values_list("kind", "recipient_ids")) == [
        ("loitering", sorted([world.users["grid_a"].pk, world.users["property_a"].pk]))]


def test_given_bad_rule_fields_when_created_then_422_names_each_field_and_nothing_is_written(world):
    staff = client_for(world, "staff_a")
    before = counts()
    body = {"place_id": world.community_a.pk, "code": "Bad Code", "name": "坏规则", "event_kinds": ["camera.nope"],
            "severity": "minor", "min_score": 2, "repeat_count": 3, "weekdays": [7], "time_from": "22:00",
            "escalation": [{"after_minutes": 10, "to_role": "resident"}]}
    answer = staff.post("/api/v1/alert-rules", body, content_type="application/json")
    assert answer.status_code == 422
    assert sorted(e["field"] for e in answer.json()["errors"]) == [
        "code", "escalation.0.to_role", "event_kinds", "min_score", "repeat_minutes", "time_until", "weekdays"]
    assert counts() == before


def test_given_a_shipped_rule_when_community_staff_change_it_then_403_and_it_stays(world):
    rule = Rule.objects.get(code="fire_lane", place_path="")
    answer = client_for(world, "staff_a").patch(f"/api/v1/alert-rules/{rule.pk}", {"enabled": False},
                                                content_type="application/json")
    assert answer.status_code == 403
    assert Rule.objects.get(pk=rule.pk).enabled is True
