"""The place API: the tree as each role sees it, edits, estate merges with their history, grids, facilities and
coordinate conversion. Refused or invalid calls write nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linli.core.actor import Actor
from linli.places import geo
from linli.places.actions import create_facility, create_place

from .conftest import row_counts


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["items"]]


# ---------------------------------------------------------------- the tree

def test_given_community_staff_when_listing_places_then_their_subtree_and_its_ancestors_only(world, as_user):
    assert names(as_user("staff_a").get("/api/v1/places?limit=100")) == [
        "咸安区", "浮山街道", "梅园社区", "祥和苑", "1栋", "1单元", "101", "102"]
    assert names(as_user("staff_b").get("/api/v1/places?limit=100")) == [
        "咸安区", "浮山街道", "桂花社区", "桂花苑", "1栋", "1单元", "101"]


@pytest.mark.parametrize("query, expected", [
    ("parent={estate}", ["1栋"]),
    ("kind=dwelling", ["101", "102"]),
    ("q=祥", ["祥和苑"]),
    ("q=421202001", ["浮山街道", "梅园社区"]),  # the code prefix; 桂花社区 (421202001002) is not staff_a's
    ("status=merged", []),
])
def test_given_filters_when_listing_places_then_exactly_the_matching_ones(world, as_user, query, expected):
    url = "/api/v1/places?" + query.format(estate=world.estate_a.pk)
    assert names(as_user("staff_a").get(url)) == expected


def test_given_a_place_when_opened_then_its_attributes_and_the_breadcrumb_down_to_it(world, as_user):
    body = as_user("staff_a").get(f"/api/v1/places/{world.estate_a.pk}").json()
    assert (body["name"], body["kind"], body["kind_label"], body["year_built"], body["child_count"]) == (
        "祥和苑", "estate", "小区", 1995, 1)
    assert (body["longitude"], body["latitude"]) == (114.2961, 29.8331)
    assert body["ancestors"] == [
        {"id": world.district.pk, "kind": "district", "name": "咸安区"},
        {"id": world.street.pk, "kind": "street", "name": "浮山街道"},
        {"id": world.community_a.pk, "kind": "community", "name": "梅园社区"},
    ]
    assert as_user("staff_b").get(f"/api/v1/places/{world.estate_a.pk}").status_code == 404


def test_given_a_new_building_when_posted_then_201_under_its_estate(world, as_user):
    response = as_user("staff_a").post("/api/v1/places", {
        "kind": "building", "parent_id": world.estate_a.pk, "name": "2栋", "floors": 7, "year_built": 1996,
        "longitude": 114.2965, "latitude": 29.8334,
    }, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["parent_id"], body["floors"], body["path"]) == (
        "2栋", world.estate_a.pk, 7, f"{world.estate_a.path}{body['id']}/")
    assert names(as_user("staff_a").get(f"/api/v1/places?parent={world.estate_a.pk}")) == ["1栋", "2栋"]


@pytest.mark.parametrize("body, field, code", [
    ({"kind": "building", "name": "1栋"}, "name", "duplicate"),
    ({"kind": "dwelling", "name": "301"}, "parent", "wrong_kind"),
    ({"kind": "building", "name": "3栋", "latitude": 95}, "latitude", "less_than_equal"),
    ({"kind": "building", "name": "3栋", "boundary": {"type": "Point", "coordinates": [1, 2]}}, "boundary", "geojson"),
    ({"kind": "castle", "name": "3栋"}, "kind", "literal_error"),
])
def test_given_invalid_input_when_creating_a_place_then_422_on_the_field_and_nothing_is_written(world, as_user, body,
                                                                                                  field, code):
    client = as_user("staff_a")
    before = row_counts()
    response = client.post("/api/v1/places", {"parent_id": world.estate_a.pk, **body}, content_type="application/json")
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert row_counts() == before


def test_given_changed_attributes_when_patched_then_only_those_change_and_the_audit_has_the_diff(world, as_user):
    from linli.core.models import AuditEntry

    response = as_user("staff_a").patch(f"/api/v1/places/{world.estate_a.pk}", {"dwelling_count": 320},
                                        content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["dwelling_count"], response.json()["year_built"]) == (320, 1995)
    entry = AuditEntry.objects.get(action="place.update")
    assert (entry.before, entry.after) == ({"dwelling_count": None}, {"dwelling_count": 320})


def test_given_estates_when_merged_through_the_api_then_buildings_move_history_is_kept_and_residents_follow(
    world, as_user
):
    client = as_user("street_admin")
    second = create_place(actor=Actor.system(), kind="estate", parent=world.community_a, name="和平苑")
    create_place(actor=Actor.system(), kind="building", parent=second, name="1栋")
    response = client.post("/api/v1/places/merge-estates", {
        "estate_ids": [world.estate_a.pk, second.pk], "into_name": "祥和新苑", "note": "拆墙并院",
    }, content_type="application/json")
    assert response.status_code == 200, response.content
    merged = response.json()
    assert (merged["name"], merged["child_count"]) == ("祥和新苑", 2)
    assert names(client.get(f"/api/v1/places?parent={merged['id']}")) == ["1栋", "和平苑1栋"]
    old = client.get(f"/api/v1/places/{world.estate_a.pk}").json()
    assert (old["status"], old["merged_into_id"]) == ("merged", merged["id"])
    history = client.get(f"/api/v1/places/{world.estate_a.pk}/events").json()["items"]
    assert sorted(e["kind"] for e in history) == ["merged_into", "moved"]
    new_history = client.get(f"/api/v1/places/{merged['id']}/events").json()["items"]
    assert sorted(e["kind"] for e in new_history) == ["created_by_merge", "merged_into", "merged_into", "moved", "moved"]
    assert names(client.get("/api/v1/places?status=merged")) == ["和平苑", "祥和苑"]
    resident = as_user("staff_a").get(f"/api/v1/residents/{world.resident_a.pk}").json()
    assert resident["address"] == "祥和新苑 1栋 1单元 101"


def test_given_community_staff_when_merging_estates_then_403_and_nothing_moves(world, as_user):
    second = create_place(actor=Actor.system(), kind="estate", parent=world.community_a, name="和平苑")
    client = as_user("staff_a")
    before = row_counts()
    response = client.post("/api/v1/places/merge-estates", {"estate_ids": [world.estate_a.pk, second.pk],
                                                            "into_name": "祥和新苑"}, content_type="application/json")
    assert response.status_code == 403
    assert row_counts() == before


# ---------------------------------------------------------------- grids

def test_given_buildings_of_the_community_when_a_grid_is_drawn_and_renamed_then_it_keeps_its_buildings(world, as_user):
    client = as_user("staff_a")
    created = client.post("/api/v1/grids", {
        "community_id": world.community_a.pk, "name": "第一网格", "building_ids": [world.building_a.pk],
        "worker_ids": [world.users["grid_a"].pk],
    }, content_type="application/json")
    assert created.status_code == 201, created.content
    grid = created.json()
    assert (grid["community_id"], grid["building_ids"], grid["worker_ids"]) == (
        world.community_a.pk, [world.building_a.pk], [world.users["grid_a"].pk])
    renamed = client.patch(f"/api/v1/grids/{grid['id']}", {"name": "梅园一网格"}, content_type="application/json")
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["building_ids"], renamed.json()["worker_ids"]) == (
        "梅园一网格", [world.building_a.pk], [world.users["grid_a"].pk])
    assert names(as_user("grid_a").get("/api/v1/grids")) == ["梅园一网格"]
    assert names(as_user("staff_b").get("/api/v1/grids")) == []


def test_given_a_building_of_another_community_when_drawing_a_grid_then_422_and_no_grid(world, as_user):
    client = as_user("staff_a")
    before = row_counts()
    response = client.post("/api/v1/grids", {"community_id": world.community_a.pk, "name": "越界网格",
                                             "building_ids": [world.building_b.pk]}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "building_ids"
    assert row_counts() == before


# ---------------------------------------------------------------- facilities

def test_given_a_facility_when_created_filtered_and_changed_then_the_list_follows(world, as_user):
    client = as_user("staff_a")
    created = client.post("/api/v1/facilities", {"place_id": world.estate_a.pk, "kind": "elderly_service_station",
                                                  "name": "祥和苑老年服务站", "capacity": 40},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind_label"], body["place_name"], body["capacity"]) == ("老年服务站", "祥和苑", 40)
    create_facility(actor=Actor.system(), place=world.estate_a, kind="canteen", name="长者食堂")
    assert names(client.get("/api/v1/facilities?kind=canteen")) == ["长者食堂"]
    assert names(client.get(f"/api/v1/facilities?place={world.estate_a.pk}")) == ["长者食堂", "祥和苑老年服务站"]
    changed = client.patch(f"/api/v1/facilities/{body['id']}", {"opening_hours": "8:00-17:30"},
                           content_type="application/json")
    assert (changed.status_code, changed.json()["opening_hours"], changed.json()["name"]) == (
        200, "8:00-17:30", "祥和苑老年服务站")
    assert names(as_user("staff_b").get("/api/v1/facilities")) == []
    assert as_user("staff_b").patch(f"/api/v1/facilities/{body['id']}", {"name": "x"},
                                    content_type="application/json").status_code == 404


def test_given_an_unknown_facility_kind_when_created_then_422_and_nothing_is_written(world, as_user):
    client = as_user("staff_a")
    before = row_counts()
    response = client.post("/api/v1/facilities", {"place_id": world.estate_a.pk, "kind": "casino", "name": "x"},
                           content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "kind"
    assert row_counts() == before


# ---------------------------------------------------------------- list query counts

def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def _buildings_and_facilities(world, start: int, n: int) -> None:
    system = Actor.system("test")
    for i in range(start, start + n):
        building = create_place(actor=system, kind="building", parent=world.estate_a, name=f"{i + 2}栋")
        create_place(actor=system, kind="entrance", parent=building, name="1单元")
        create_facility(actor=system, place=building, kind="ebike_charging", name=f"{i + 2}栋充电棚")


@pytest.mark.parametrize("url", ["/api/v1/places?limit=200", "/api/v1/places?kind=building&limit=200",
                                 "/api/v1/facilities?limit=200", "/api/v1/grids?limit=200"])
def test_given_5_then_50_rows_when_listing_then_the_query_count_does_not_grow(world, as_user, url):
    from linli.places.actions import save_grid

    client = as_user("staff_a")
    _buildings_and_facilities(world, 0, 5)
    save_grid(actor=Actor.system(), community=world.community_a, name="一网格", building_ids=[world.building_a.pk])
    client.get(url)
    few = _queries(client, url)
    _buildings_and_facilities(world, 5, 45)
    for i in range(2, 20):
        save_grid(actor=Actor.system(), community=world.community_a, name=f"{i}网格", building_ids=[world.building_a.pk],
                  worker_ids=[world.users["grid_a"].pk])
    assert client.get(url).json()["count"] >= 19
    assert _queries(client, url) == few


# ---------------------------------------------------------------- coordinates

@pytest.mark.parametrize("source, target", [("wgs84", "gcj02"), ("wgs84", "bd09"), ("gcj02", "bd09"), ("bd09", "wgs84")])
def test_given_a_point_when_converted_through_the_api_then_the_geo_module_answer_to_8_decimals(world, as_user, source,
                                                                                               target):
    response = as_user("resident_a").get(f"/api/v1/geo/convert?lng=114.2961&lat=29.8331&from={source}&to={target}")
    assert response.status_code == 200
    lng, lat = geo.convert(114.2961, 29.8331, source, target)
    assert response.json() == {"lng": round(lng, 8), "lat": round(lat, 8), "system": target, "in_china": True}


def test_given_a_point_when_converted_to_bd09_and_back_then_it_returns_within_a_millimetre(world, as_user):
    client = as_user("staff_a")
    there = client.get("/api/v1/geo/convert?lng=114.2961&lat=29.8331&from=wgs84&to=bd09").json()
    back = client.get(f"/api/v1/geo/convert?lng={there['lng']}&lat={there['lat']}&from=bd09&to=wgs84").json()
    assert geo.haversine_m(114.2961, 29.8331, back["lng"], back["lat"]) < 0.005


@pytest.mark.parametrize("query, field", [
    ("lng=114.3&lat=91&from=wgs84&to=gcj02", "lat"),
    ("lng=181&lat=29.8&from=wgs84&to=gcj02", "lng"),
    ("lng=114.3&lat=29.8&from=utm&to=gcj02", "from"),
    ("lng=114.3&lat=29.8&from=wgs84", "to"),
    ("lng=east&lat=29.8&from=wgs84&to=gcj02", "lng"),
])
def test_given_bad_coordinates_when_converting_then_422_names_the_parameter(world, as_user, query, field):
    response = as_user("staff_a").get(f"/api/v1/geo/convert?{query}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
