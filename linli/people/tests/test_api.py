"""The resident API: lists with filters and masked fields, details, registration, edits, reveal, homes, tags,
emergency contacts and households. Refused or invalid calls write nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linli.core.actor import Actor
from linli.core.identity import age_on
from linli.core.models import AuditEntry
from linli.core.testing import PASSWORD, make_token, random_id_number
from linli.people.actions import register_resident
from linli.people.models import EmergencyContact, Occupancy, Resident, ResidentTag

ZHANG_ID = random_id_number(birth="19400101", seq=11, male=True)
LI_ID = random_id_number(birth="20150601", seq=12, male=False)


@pytest.fixture
def family(world):
    """Two more residents of community A in dwelling 102: 张伟 (born 1940, 80+) and 李娜 (born 2015, a child)."""
    system = Actor.system("test")
    zhang = register_resident(actor=system, place=world.dwelling_a2, name="张伟", id_number=ZHANG_ID,
                              phone="13911112222", relation="head", tags=["aged_80"])
    li = register_resident(actor=system, place=world.dwelling_a2, name="李娜", id_number=LI_ID, relation="member",
                           tags=["left_behind_child"])
    return zhang, li


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Resident, Occupancy, ResidentTag, EmergencyContact, AuditEntry)}


def names(response) -> list[str]:
    """The names on a page, sorted (the list's own order, by home then name, is tested on its own)."""
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["items"])


# ---------------------------------------------------------------- authentication

def test_given_no_credentials_when_listing_residents_then_401_in_chinese_and_english(world):
    response = Client().get("/api/v1/residents")
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message_zh": "请先登录或提供有效令牌",
                               "message_en": "log in or send a valid token", "errors": []}


def test_given_a_revoked_token_when_used_then_401(world):
    from linli.accounts.actions import revoke_token
    from linli.accounts.models import ApiToken

    key = make_token(world.users["staff_a"])
    revoke_token(actor=Actor.system(), token=ApiToken.objects.get(user=world.users["staff_a"]))
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/v1/residents").status_code == 401


def test_given_a_browser_session_when_posting_without_the_csrf_token_then_403_and_with_it_201(world):
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="staff_a", password=PASSWORD)
    body = {"place_id": world.dwelling_a2.pk, "name": "周洁"}
    before = counts()
    refused = client.post("/api/v1/residents", body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf"
    assert counts() == before
    assert client.get("/api/v1/residents").status_code == 200  # reads need no token
    client.get("/api/v1/docs")  # any page sets the CSRF cookie
    accepted = client.post("/api/v1/residents", body, content_type="application/json",
                           headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert accepted.status_code == 201
    assert AuditEntry.objects.filter(action="resident.register", actor=world.users["staff_a"]).get().via == "api"


# ---------------------------------------------------------------- the list

def test_given_community_staff_when_listing_then_rows_show_masked_numbers_the_home_and_open_tags(world, as_user):
    response = as_user("staff_a").get("/api/v1/residents")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (1, 50, 0)
    row = body["items"][0]
    assert row == {
        "id": world.resident_a.pk, "name": "王秀英", "sex": "F", "sex_label": "女", "birth_date": "1950-03-15",
        "age": row["age"], "id_mask": "421202********0027", "phone_mask": "138****8000", "status": "active",
        "status_label": "在册", "place_id": world.dwelling_a.pk, "place_name": "101", "address": "祥和苑 1栋 1单元 101",
        "tags": [{"code": "elderly_alone", "name": "独居老人", "name_en": "elderly living alone", "grade": None,
                  "since": dt.date.today().isoformat()}],
    }
    assert row["age"] == age_on(dt.date(1950, 3, 15), dt.date.today()) >= 76
    assert "13800138000" not in response.content.decode()
    assert "421202195003150027" not in response.content.decode()


def test_given_residents_in_two_communities_when_each_side_lists_then_each_sees_only_its_own(world, as_user):
    assert names(as_user("staff_a").get("/api/v1/residents")) == ["王秀英"]
    assert names(as_user("staff_b").get("/api/v1/residents")) == ["李建国"]
    assert names(as_user("street_admin").get("/api/v1/residents")) == ["李建国", "王秀英"]
    assert names(as_user("resident_a").get("/api/v1/residents")) == ["王秀英"]


@pytest.mark.parametrize("query, expected", [
    ("", ["张伟", "李娜", "王秀英"]),
    ("tag=elderly", ["张伟", "王秀英"]),  # a parent tag finds its sub-tags (独居老人, 高龄老人)
    ("tag=aged_80", ["张伟"]),
    ("age_min=70", ["张伟", "王秀英"]),
    ("age_max={li}", ["李娜"]),
    ("age_min={wang}&age_max={wang}", ["王秀英"]),
    ("q=王", ["王秀英"]),
    (f"q={LI_ID}", ["李娜"]),
    ("q=139 1111 2222", ["张伟"]),
    ("sex=M", ["张伟"]),
    ("status=moved_out", []),
])
def test_given_filters_when_listing_then_exactly_the_matching_residents_come_back(world, as_user, family, query,
                                                                                   expected):
    ages = {"li": age_on(dt.date(2015, 6, 1), dt.date.today()), "wang": age_on(dt.date(1950, 3, 15), dt.date.today())}
    assert names(as_user("staff_a").get("/api/v1/residents?" + query.format(**ages))) == expected


def test_given_a_place_filter_when_listing_then_only_residents_below_it_and_another_communitys_place_is_404(
    world, as_user, family
):
    client = as_user("staff_a")
    assert names(client.get(f"/api/v1/residents?place={world.dwelling_a2.pk}")) == ["张伟", "李娜"]
    assert names(client.get(f"/api/v1/residents?place={world.estate_a.pk}")) == ["张伟", "李娜", "王秀英"]
    outside = client.get(f"/api/v1/residents?place={world.dwelling_b.pk}")
    assert outside.status_code == 404
    assert outside.json()["message_en"] == "place not found"


def test_given_limit_and_offset_when_listing_then_pages_follow_the_home_then_the_name(world, as_user, family):
    client = as_user("staff_a")
    everyone = [r["name"] for r in client.get("/api/v1/residents").json()["items"]]
    by_home = sorted(Resident.objects.all(), key=lambda r: (r.place_path, r.name, r.pk))
    assert everyone == [r.name for r in by_home if r.place_path.startswith(world.community_a.path)]
    body = client.get("/api/v1/residents?limit=2&offset=1").json()
    assert (body["count"], body["limit"], body["offset"]) == (3, 2, 1)
    assert [r["name"] for r in body["items"]] == everyone[1:3]


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset"),
                                          ("age_min=-3", "age_min"), ("sex=X", "sex"), ("status=gone", "status")])
def test_given_a_bad_query_when_listing_then_422_names_the_field(world, as_user, query, field):
    response = as_user("staff_a").get(f"/api/v1/residents?{query}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_given_age_min_above_age_max_when_listing_then_422_on_age_max(world, as_user):
    response = as_user("staff_a").get("/api/v1/residents?age_min=60&age_max=50")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "age_max"


def _many(world, n: int, start: int) -> None:
    system = Actor.system("test")
    for i in range(start, start + n):
        register_resident(actor=system, place=world.dwelling_a2, name=f"居民{chr(0x4e00 + i)}",
                          id_number=random_id_number(birth="19500101", seq=100 + i, male=i % 2 == 0),
                          phone=f"137{i:08d}", relation="member", tags=["elderly_alone", "party_member"])


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize("query", ["", "tag=elderly&age_min=60", "place={estate}", "q=居民"])
def test_given_5_then_50_residents_when_listing_then_the_query_count_does_not_grow(world, as_user, query):
    client = as_user("staff_a")
    url = "/api/v1/residents?limit=100&" + query.format(estate=world.estate_a.pk)
    _many(world, 4, 0)
    client.get(url)  # the token's last-used time is written once a minute: not part of the comparison
    few = _queries(client, url)
    _many(world, 45, 4)
    body = client.get(url).json()
    assert len(body["items"]) >= 49
    assert _queries(client, url) == few


# ---------------------------------------------------------------- one resident

def test_given_a_resident_when_opened_then_masked_fields_homes_tags_and_contacts(world, as_user):
    from linli.people.actions import add_emergency_contact

    contact = add_emergency_contact(actor=Actor.system(), resident=world.resident_a, name="王强", phone="13600136000",
                                    relation="儿子")
    body = as_user("property_a").get(f"/api/v1/residents/{world.resident_a.pk}").json()
    occupancy = Occupancy.objects.get(resident=world.resident_a)
    assert body["id_mask"] == "421202********0027"
    assert body["occupancies"] == [{
        "id": occupancy.pk, "resident_id": world.resident_a.pk, "dwelling_id": world.dwelling_a.pk,
        "address": "祥和苑 1栋 1单元 101", "relation": "head", "relation_label": "户主", "since": None, "until": None,
        "note": "",
    }]
    assert body["emergency_contacts"] == [{"id": contact.pk, "name": "王强", "relation": "儿子", "phone_mask": "136****6000",
                                           "contact_resident_id": None, "priority": 1}]
    assert [t["code"] for t in body["tags"]] == ["elderly_alone"]
    assert (body["can_edit"], body["can_reveal"]) == (False, False)
    staff = as_user("staff_a").get(f"/api/v1/residents/{world.resident_a.pk}").json()
    assert (staff["can_edit"], staff["can_reveal"]) == (True, True)


def test_given_another_communitys_resident_when_opened_then_404_as_if_it_did_not_exist(world, as_user):
    response = as_user("staff_b").get(f"/api/v1/residents/{world.resident_a.pk}")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message_zh": "未找到该记录", "message_en": "resident not found",
                               "errors": []}
    assert as_user("staff_b").get("/api/v1/residents/999999").json() == response.json()


# ---------------------------------------------------------------- registration and edits

def test_given_a_new_person_when_registered_then_201_with_sex_and_birth_from_the_id_number(world, as_user):
    id_number = random_id_number(birth="19880808", seq=3, male=True)
    response = as_user("staff_a").post("/api/v1/residents", {
        "place_id": world.dwelling_a2.pk, "name": " 周 杰 ", "id_number": id_number, "phone": "+86 137-0013-7000",
        "relation": "tenant", "tags": ["veteran"],
    }, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["sex"], body["birth_date"]) == ("周 杰", "M", "1988-08-08")
    assert (body["id_mask"], body["phone_mask"]) == (id_number[:6] + "********" + id_number[-4:], "137****7000")
    assert [o["relation"] for o in body["occupancies"]] == ["tenant"]
    assert [t["code"] for t in body["tags"]] == ["veteran"]
    resident = Resident.objects.get(pk=body["id"])
    assert (resident.id_number, resident.phone, resident.source) == (id_number, "13700137000", "api")
    entry = AuditEntry.objects.get(action="resident.register", target_id=str(resident.pk))
    assert (entry.after["id_number"], entry.after["phone"], entry.via) == (body["id_mask"], "137****7000", "api")


@pytest.mark.parametrize("body, field, code", [
    ({"name": "周杰", "id_number": "421202198808080030"}, "id_number", "check_digit"),
    ({"name": "周杰", "id_number": random_id_number(birth="19880808", seq=3), "sex": "F"}, "sex", "mismatch_id"),
    ({"name": "周杰", "phone": "12345"}, "phone", "format"),
    ({"name": "", "relation": "head"}, "name", "required"),
    ({"name": "周杰", "tags": ["nonsense"]}, "tags", "unknown_tag"),
    ({"name": "周杰", "relation": "cousin"}, "relation", "literal_error"),
    ({"name": "周杰", "birth_date": "2026-13-45"}, "birth_date", "date_from_datetime_parsing"),
])
def test_given_invalid_input_when_registering_then_422_names_the_field_and_nothing_is_written(world, as_user, body,
                                                                                               field, code):
    client = as_user("staff_a")
    before = counts()
    response = client.post("/api/v1/residents", {"place_id": world.dwelling_a2.pk, **body},
                                       content_type="application/json")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert errors[0]["message_zh"] and errors[0]["message_en"]
    assert counts() == before


def test_given_an_id_number_already_registered_when_registering_again_then_409_and_nothing_is_written(world, as_user):
    client = as_user("staff_a")
    before = counts()
    response = client.post("/api/v1/residents", {
        "place_id": world.dwelling_a2.pk, "name": "王秀英", "id_number": "421202195003150027"},
        content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_id_number"
    assert counts() == before


def test_given_a_new_phone_when_patched_then_the_mask_changes_and_the_audit_keeps_only_masks(world, as_user):
    response = as_user("staff_a").patch(f"/api/v1/residents/{world.resident_a.pk}",
                                        {"phone": "13511112222", "notes": "行动不便"}, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["phone_mask"], response.json()["notes"]) == ("135****2222", "行动不便")
    entry = AuditEntry.objects.get(action="resident.update")
    assert entry.before == {"phone": "138****8000", "notes": ""}
    assert entry.after == {"phone": "135****2222", "notes": "行动不便"}


def test_given_a_bad_phone_when_patched_then_422_and_the_resident_is_unchanged(world, as_user):
    client = as_user("staff_a")
    before = counts()
    response = client.patch(f"/api/v1/residents/{world.resident_a.pk}", {"phone": "0571-1234"},
                                        content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "phone"
    assert counts() == before
    assert Resident.objects.get(pk=world.resident_a.pk).phone == "13800138000"


def test_given_property_staff_when_patching_a_resident_they_see_then_403_and_nothing_changes(world, as_user):
    client = as_user("property_a")
    before = counts()
    response = client.patch(f"/api/v1/residents/{world.resident_a.pk}", {"notes": "x"},
                                           content_type="application/json")
    assert response.status_code == 403
    assert response.json()["message_en"] == "your role may not do this (resident.edit)"
    assert counts() == before


# ---------------------------------------------------------------- reveal

def test_given_a_reason_when_staff_reveal_the_id_number_then_the_full_value_and_an_audit_entry(world, as_user):
    response = as_user("grid_a").post(f"/api/v1/residents/{world.resident_a.pk}/reveal",
                                      {"field": "id_number", "reason": "办理高龄补贴"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"field": "id_number", "value": "421202195003150027"}
    entry = AuditEntry.objects.get(action="resident.reveal.id_number")
    assert (entry.actor, entry.target_id, entry.after) == (
        world.users["grid_a"], str(world.resident_a.pk), {"field": "id_number", "reason": "办理高龄补贴"})


@pytest.mark.parametrize("name, body, status", [
    ("property_a", {"field": "phone", "reason": "联系"}, 403),
    ("staff_b", {"field": "phone", "reason": "联系"}, 404),
    ("staff_a", {"field": "phone", "reason": ""}, 422),
    ("staff_a", {"field": "notes", "reason": "联系"}, 422),
])
def test_given_a_refused_reveal_when_asked_then_no_value_and_no_audit_entry(world, as_user, name, body, status):
    client = as_user(name)
    before = counts()
    response = client.post(f"/api/v1/residents/{world.resident_a.pk}/reveal", body,
                                  content_type="application/json")
    assert response.status_code == status
    assert "13800138000" not in response.content.decode()
    assert counts() == before


# ---------------------------------------------------------------- homes, tags, contacts, households

def test_given_a_move_when_an_occupancy_is_added_and_the_old_one_ended_then_home_and_household_follow(world, as_user):
    client = as_user("staff_a")
    old = Occupancy.objects.get(resident=world.resident_a)
    added = client.post(f"/api/v1/residents/{world.resident_a.pk}/occupancies",
                        {"dwelling_id": world.dwelling_a2.pk, "relation": "member", "since": "2026-01-01"},
                        content_type="application/json")
    assert added.status_code == 201
    assert (added.json()["address"], added.json()["since"]) == ("祥和苑 1栋 1单元 102", "2026-01-01")
    ended = client.post(f"/api/v1/occupancies/{old.pk}/end", {"until": "2026-01-01"}, content_type="application/json")
    assert ended.status_code == 200
    assert ended.json()["until"] == "2026-01-01"
    assert client.get(f"/api/v1/residents/{world.resident_a.pk}").json()["place_id"] == world.dwelling_a2.pk
    assert client.get(f"/api/v1/dwellings/{world.dwelling_a.pk}/household").json()["members"] == []
    household = client.get(f"/api/v1/dwellings/{world.dwelling_a2.pk}/household").json()
    assert household["address"] == "祥和苑 1栋 1单元 102"
    assert [(m["name"], m["relation"], m["phone_mask"]) for m in household["members"]] == [
        ("王秀英", "member", "138****8000")]
    again = client.post(f"/api/v1/occupancies/{old.pk}/end", {}, content_type="application/json")
    assert again.status_code == 409


def test_given_an_end_date_before_the_start_when_ending_an_occupancy_then_422_and_it_stays_open(world, as_user):
    client = as_user("staff_a")
    occupancy = client.post(f"/api/v1/residents/{world.resident_a.pk}/occupancies",
                            {"dwelling_id": world.dwelling_a2.pk, "relation": "owner", "since": "2026-01-01"},
                            content_type="application/json").json()
    response = client.post(f"/api/v1/occupancies/{occupancy['id']}/end", {"until": "2025-12-31"},
                           content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "until"
    assert Occupancy.objects.get(pk=occupancy["id"]).until is None


def test_given_a_place_that_is_not_a_dwelling_when_asking_for_its_household_then_422(world, as_user):
    response = as_user("staff_a").get(f"/api/v1/dwellings/{world.building_a.pk}/household")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "dwelling_id"


def test_given_a_new_set_of_tags_when_put_then_exactly_those_tags_are_open(world, as_user):
    response = as_user("staff_a").put(f"/api/v1/residents/{world.resident_a.pk}/tags",
                                      {"tags": ["empty_nest", "disabled:2"]}, content_type="application/json")
    assert response.status_code == 200
    assert [(t["code"], t["grade"]) for t in response.json()] == [("empty_nest", None), ("disabled", 2)]
    ended = ResidentTag.objects.get(resident=world.resident_a, tag__code="elderly_alone")
    assert ended.until == dt.date.today()


def test_given_an_unknown_tag_when_put_then_422_and_the_tags_are_unchanged(world, as_user):
    client = as_user("staff_a")
    before = counts()
    response = client.put(f"/api/v1/residents/{world.resident_a.pk}/tags",
                                      {"tags": ["elderly_alone", "unicorn"]}, content_type="application/json")
    assert response.status_code == 422
    assert counts() == before
    assert ResidentTag.objects.get(resident=world.resident_a).until is None


def test_given_an_emergency_contact_when_added_and_removed_then_masked_then_gone(world, as_user):
    client = as_user("grid_a")
    added = client.post(f"/api/v1/residents/{world.resident_a.pk}/emergency-contacts",
                        {"name": "王强", "phone": "13600136000", "relation": "儿子"}, content_type="application/json")
    assert added.status_code == 201
    assert (added.json()["phone_mask"], added.json()["priority"]) == ("136****6000", 1)
    assert "13600136000" not in added.content.decode()
    assert as_user("staff_b").delete(f"/api/v1/emergency-contacts/{added.json()['id']}").status_code == 404
    removed = client.delete(f"/api/v1/emergency-contacts/{added.json()['id']}")
    assert removed.status_code == 204
    assert not EmergencyContact.objects.exists()
    assert AuditEntry.objects.filter(action="resident.emergency_contact.remove").count() == 1


def test_given_the_care_tag_tree_when_listed_then_parents_come_with_their_children(world, as_user):
    tags = {t["code"]: t for t in as_user("resident_a").get("/api/v1/care-tags").json()}
    assert tags["elderly_alone"]["parent_id"] == tags["elderly"]["id"]
    assert tags["disabled"]["has_grade"] is True


def test_given_a_value_the_database_refuses_when_saving_then_422_in_chinese_and_english(world, as_user, monkeypatch):
    from django.db import DataError

    from linli.people import actions

    def refuse(**kwargs):
        raise DataError("value too long for type character varying(60)")

    monkeypatch.setattr(actions, "update_resident", refuse)
    response = as_user("staff_a").patch(f"/api/v1/residents/{world.resident_a.pk}", {"notes": "x"},
                                        content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {"code": "invalid", "message_zh": "提交的数据包含数据库无法保存的值",
                               "message_en": "a value cannot be stored (out of range or invalid characters)",
                               "errors": []}


@pytest.mark.parametrize("url, body", [
    ("/api/v1/residents", {"place_id": 2**63, "name": "周杰"}),
    ("/api/v1/residents?place=9223372036854775808", None),
])
def test_given_an_id_beyond_64_bits_when_sent_then_422_not_a_crash(world, as_user, url, body):
    client = as_user("staff_a")
    response = client.get(url) if body is None else client.post(url, body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in ("place_id", "place")
