"""The accounts API: who I am, personal tokens, role assignments and the audit log, each within its scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.accounts.models import ApiToken, RoleAssignment
from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.core.permissions import ROLE_PERMISSIONS
from linli.core.testing import make_token
from linli.people.actions import reveal_sensitive, update_resident


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


# ---------------------------------------------------------------- me

def test_given_community_staff_when_asking_who_they_are_then_their_role_place_and_permissions(world, as_user):
    body = as_user("staff_a").get("/api/v1/me").json()
    assignment = RoleAssignment.objects.get(user=world.users["staff_a"])
    assert body == {
        "id": world.users["staff_a"].pk, "username": "staff_a", "full_name": "", "resident_id": None,
        "roles": [{
            "id": assignment.pk, "role": "community_staff", "role_label": "社区工作人员",
            "place_id": world.community_a.pk, "place_name": "梅园社区", "place_path": world.community_a.path,
            "permissions": sorted(ROLE_PERMISSIONS["community_staff"]),
        }],
    }
    assert {"resident.view", "resident.reveal", "audit.view"} <= set(body["roles"][0]["permissions"])


def test_given_a_resident_account_and_one_without_roles_when_asking_then_the_link_and_no_roles(world, as_user):
    resident = as_user("resident_a").get("/api/v1/me").json()
    assert (resident["resident_id"], [r["role"] for r in resident["roles"]]) == (world.resident_a.pk, ["resident"])
    assert as_user("nobody").get("/api/v1/me").json()["roles"] == []
    assert Client().get("/api/v1/me").status_code == 401


# ---------------------------------------------------------------- tokens

def test_given_a_new_token_when_issued_then_the_key_is_shown_once_works_and_stops_working_when_revoked(world, as_user):
    client = as_user("grid_a")
    issued = client.post("/api/v1/tokens", {"name": "巡查App", "days": 30}, content_type="application/json")
    assert issued.status_code == 201
    token = issued.json()
    assert token["key"].startswith(token["prefix"])
    assert (timezone.now() + dt.timedelta(days=30) - dt.datetime.fromisoformat(token["expires_at"])).total_seconds() < 60
    assert bearer(token["key"]).get("/api/v1/me").json()["username"] == "grid_a"
    listed = client.get("/api/v1/tokens").json()
    assert {t["name"] for t in listed} == {"test", "巡查App"}
    assert all("key" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{token['id']}").status_code == 204
    assert bearer(token["key"]).get("/api/v1/me").status_code == 401
    again = client.delete(f"/api/v1/tokens/{token['id']}")
    assert again.status_code == 409
    assert AuditEntry.objects.filter(action="token.revoke", target_id=str(token["id"])).count() == 1


def test_given_someone_elses_token_when_revoked_then_404_and_it_keeps_working(world, as_user):
    key = make_token(world.users["staff_a"], "desk")
    token = ApiToken.objects.get(user=world.users["staff_a"], name="desk")
    response = as_user("street_admin").delete(f"/api/v1/tokens/{token.pk}")
    assert response.status_code == 404
    assert bearer(key).get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("body, field", [({"name": ""}, "name"), ({"name": "x", "days": 0}, "days"), ({}, "name")])
def test_given_a_bad_token_request_when_issued_then_422_and_no_token(world, as_user, body, field):
    client = as_user("staff_a")
    before = (ApiToken.objects.count(), AuditEntry.objects.count())
    response = client.post("/api/v1/tokens", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert (ApiToken.objects.count(), AuditEntry.objects.count()) == before


# ---------------------------------------------------------------- role assignments

def test_given_a_street_admin_when_listing_role_assignments_then_only_those_inside_the_street(world, as_user):
    body = as_user("street_admin").get("/api/v1/role-assignments?limit=100").json()
    assert sorted(a["username"] for a in body["items"]) == [
        "committee_a", "grid_a", "property_a", "resident_a", "staff_a", "staff_b", "street_admin"]
    only_b = as_user("street_admin").get(f"/api/v1/role-assignments?place={world.community_b.pk}").json()
    assert [a["username"] for a in only_b["items"]] == ["staff_b"]
    everyone = as_user("sysadmin").get("/api/v1/role-assignments?limit=100").json()
    assert everyone["count"] == 9


def test_given_a_street_admin_when_giving_and_taking_a_role_then_the_user_gains_and_loses_access(world, as_user):
    admin = as_user("street_admin")
    nobody = as_user("nobody")
    assert nobody.get("/api/v1/residents").status_code == 403
    given = admin.post("/api/v1/role-assignments", {"user_id": world.users["nobody"].pk, "role": "grid_worker",
                                                    "place_id": world.community_a.pk}, content_type="application/json")
    assert given.status_code == 201, given.content
    assert (given.json()["username"], given.json()["place_name"], given.json()["role_label"]) == (
        "nobody", "梅园社区", "网格员")
    assert [r["name"] for r in nobody.get("/api/v1/residents").json()["items"]] == ["王秀英"]
    twice = admin.post("/api/v1/role-assignments", {"user_id": world.users["nobody"].pk, "role": "grid_worker",
                                                    "place_id": world.community_a.pk}, content_type="application/json")
    assert twice.status_code == 409
    assert admin.delete(f"/api/v1/role-assignments/{given.json()['id']}").status_code == 204
    assert nobody.get("/api/v1/residents").status_code == 403
    assert list(AuditEntry.objects.filter(action__startswith="role.").values_list("action", "place_path")) == [
        ("role.revoke", world.community_a.path), ("role.assign", world.community_a.path)]


@pytest.mark.parametrize("name, role, place, status, field", [
    ("staff_a", "grid_worker", "community_a", 403, None),  # community staff do not manage users
    ("sysadmin", "community_staff", "community_a", 403, None),  # cannot hand out resident access it lacks
    ("street_admin", "district_admin", "district", 403, None),  # above the street
    ("street_admin", "grid_worker", "estate_a", 422, "place"),  # grid workers are assigned on a community
    ("street_admin", "mayor", "community_a", 422, "role"),
    ("staff_b", "grid_worker", "community_a", 404, None),
])
def test_given_a_refused_assignment_when_posted_then_the_status_and_nothing_is_written(world, as_user, name, role,
                                                                                        place, status, field):
    client = as_user(name)
    before = (RoleAssignment.objects.count(), AuditEntry.objects.count())
    response = client.post("/api/v1/role-assignments", {"user_id": world.users["nobody"].pk, "role": role,
                                                        "place_id": getattr(world, place).pk},
                           content_type="application/json")
    assert response.status_code == status
    if field:
        assert response.json()["errors"][0]["field"] == field
    assert (RoleAssignment.objects.count(), AuditEntry.objects.count()) == before


def test_given_an_unknown_user_when_assigning_then_422_on_user_id(world, as_user):
    response = as_user("street_admin").post("/api/v1/role-assignments", {
        "user_id": 987654, "role": "grid_worker", "place_id": world.community_a.pk}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "user_id"


# ---------------------------------------------------------------- the audit log

def _activity(world) -> None:
    for name, resident in (("staff_a", world.resident_a), ("staff_b", world.resident_b)):
        actor = Actor.for_user(world.users[name])
        update_resident(actor=actor, resident=resident, notes="回访")
        reveal_sensitive(actor=actor, resident=resident, field="phone", reason="回访")


def test_given_activity_in_both_communities_when_staff_browse_the_audit_log_then_only_their_own(world, as_user):
    _activity(world)
    entries = as_user("staff_a").get("/api/v1/audit?limit=500").json()["items"]
    assert entries
    assert all(e["place_path"].startswith(world.community_a.path) for e in entries)
    assert [e["action"] for e in entries[:2]] == ["resident.reveal.phone", "resident.update"]
    assert as_user("grid_a").get("/api/v1/audit").status_code == 403


@pytest.mark.parametrize("query, expected", [
    ("action=resident.reveal", ["resident.reveal.phone"] * 2),
    ("action=resident.reveal.phone&place={community_b}", ["resident.reveal.phone"]),
    ("target_type=people.resident&target_id={resident_b}&action=resident.update", ["resident.update"]),
    ("actor={staff_b}", ["resident.reveal.phone", "resident.update"]),
    ("since=2000-01-01T00:00:00&until=2000-01-02T00:00:00", []),
])
def test_given_filters_when_browsing_the_audit_log_then_exactly_the_matching_entries(world, as_user, query, expected):
    _activity(world)
    url = "/api/v1/audit?limit=500&" + query.format(community_b=world.community_b.pk, resident_b=world.resident_b.pk,
                                                     staff_b=world.users["staff_b"].pk)
    response = as_user("street_admin").get(url)
    assert response.status_code == 200, response.content
    assert [e["action"] for e in response.json()["items"]] == expected


def test_given_an_entry_when_read_then_who_what_before_after_and_from_where(world, as_user):
    as_user("staff_a").patch(f"/api/v1/residents/{world.resident_a.pk}", {"notes": "独居"},
                             content_type="application/json", headers={"X-Request-Id": "req-42"})
    entry = as_user("staff_a").get("/api/v1/audit?action=resident.update").json()["items"][0]
    assert {k: entry[k] for k in ("actor_id", "actor_label", "target_id", "before", "after", "request_id", "ip", "via")} == {
        "actor_id": world.users["staff_a"].pk, "actor_label": "staff_a", "target_id": str(world.resident_a.pk),
        "before": {"notes": ""}, "after": {"notes": "独居"}, "request_id": "req-42", "ip": "127.0.0.1", "via": "api",
    }


def test_given_5_then_50_entries_when_browsing_the_audit_log_then_the_query_count_does_not_grow(world, as_user):
    client = as_user("staff_a")
    actor = Actor.for_user(world.users["staff_a"])
    url = "/api/v1/audit?limit=200&action=resident.reveal"
    for _ in range(5):
        reveal_sensitive(actor=actor, resident=world.resident_a, field="phone", reason="回访")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).json()["count"] == 5
    for _ in range(45):
        reveal_sensitive(actor=actor, resident=world.resident_a, field="phone", reason="回访")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["count"] == 50
    assert len(many.captured_queries) == len(few.captured_queries)
