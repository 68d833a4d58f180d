"""Place pages: the lazy tree, detail, child and edit forms, the estate merge; 404 across communities."""

from __future__ import annotations

import json

import pytest

from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.places.actions import create_place
from linli.places.models import Place

pytestmark = pytest.mark.django_db


def login(client, world, name: str):
    client.force_login(world.users[name])
    return client


def test_given_community_staff_when_the_tree_opens_then_their_community_is_the_open_root(client, world):
    response = login(client, world, "staff_a").get("/places/")

    html = response.content.decode()
    assert [n.name for n in response.context["nodes"]] == ["梅园社区"]
    assert f'data-place="{world.estate_a.pk}"' in html
    assert "桂花社区" not in html


def test_given_a_node_when_its_children_are_fetched_then_the_next_level_comes_as_a_fragment(client, world):
    response = login(client, world, "staff_a").get(f"/places/{world.estate_a.pk}/children/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'hx-get="/places/{world.building_a.pk}/children/"' in html


@pytest.mark.parametrize("url", ["/places/{pk}/", "/places/{pk}/children/", "/places/{pk}/add/", "/places/{pk}/edit/"])
def test_given_staff_of_community_b_when_a_place_of_community_a_is_opened_then_404(client, world, url):
    response = login(client, world, "staff_b").get(url.format(pk=world.estate_a.pk))

    assert response.status_code == 404


def test_given_a_place_with_location_when_its_detail_opens_then_coordinates_and_map_data_show(client, world):
    response = login(client, world, "staff_a").get(f"/places/{world.estate_a.pk}/")

    html = response.content.decode()
    assert "<td>GCJ-02</td>" in html and "<td>BD-09</td>" in html
    map_data = json.loads(html.split('<script id="place-map-data" type="application/json">')[1].split("</script>")[0])
    assert map_data == {"point": [114.2961, 29.8331], "boundary": None, "children": [], "tiles": "", "name": "祥和苑"}
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert f'href="/places/{world.estate_a.pk}/add/"' in html


def test_given_configured_tiles_when_a_map_shows_then_the_tile_url_is_passed_on(client, world, settings):
    settings.LINLI_MAP_TILES = "https://tiles.intranet.example/{z}/{x}/{y}.png"

    response = login(client, world, "staff_a").get(f"/places/{world.estate_a.pk}/")

    assert response.context["map_data"]["tiles"] == "https://tiles.intranet.example/{z}/{x}/{y}.png"


def test_given_a_grid_worker_when_a_place_opens_then_no_edit_is_offered_and_the_add_form_is_forbidden(client, world):
    login(client, world, "grid_a")

    html = client.get(f"/places/{world.estate_a.pk}/").content.decode()
    response = client.get(f"/places/{world.estate_a.pk}/add/")

    assert f'href="/places/{world.estate_a.pk}/add/"' not in html
    assert response.status_code == 403


def test_given_a_valid_building_when_added_then_it_exists_under_the_estate_and_is_audited(client, world):
    response = login(client, world, "staff_a").post(
        f"/places/{world.estate_a.pk}/add/", {"name": "3栋", "floors": "6", "year_built": "1996"})

    building = Place.objects.get(parent=world.estate_a, name="3栋")
    assert response.status_code == 302 and response["Location"] == f"/places/{building.pk}/"
    assert (building.kind, building.floors, building.year_built) == ("building", 6, 1996)
    assert AuditEntry.objects.filter(action="place.create", target_id=str(building.pk), actor=world.users["staff_a"]).exists()


def test_given_bad_values_when_adding_a_place_then_each_field_says_why_and_nothing_is_written(client, world, unchanged):
    with unchanged():
        response = login(client, world, "staff_a").post(
            f"/places/{world.estate_a.pk}/add/", {"name": "", "floors": "many", "year_built": "1200"})

    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors == {"name": ["名称不能为空"], "floors": ["层数应为整数"], "year_built": ["建成年份超出合理范围"]}


def test_given_english_when_a_form_is_refused_then_the_errors_are_in_english(client, world, unchanged):
    client.cookies["django_language"] = "en"
    with unchanged():
        response = login(client, world, "staff_a").post(f"/places/{world.estate_a.pk}/add/", {"name": "1栋"})

    assert response.context["form"].errors == {"name": ["a place named '1栋' already exists there"]}


def test_given_a_bad_boundary_when_editing_an_estate_then_the_boundary_field_says_why(client, world, unchanged):
    with unchanged():
        response = login(client, world, "staff_a").post(
            f"/places/{world.estate_a.pk}/edit/", {"name": "祥和苑", "boundary": "{not json"})

    assert response.context["form"].errors == {"boundary": ["边界不是有效的JSON"]}


def test_given_new_values_when_editing_then_the_place_changes(client, world):
    boundary = {"type": "Polygon", "coordinates": [[[114.29, 29.83], [114.30, 29.83], [114.30, 29.84], [114.29, 29.83]]]}
    response = login(client, world, "staff_a").post(f"/places/{world.estate_a.pk}/edit/", {
        "name": "祥和苑", "year_built": "1994", "dwelling_count": "193", "boundary": json.dumps(boundary)})

    world.estate_a.refresh_from_db()
    assert response.status_code == 302
    assert (world.estate_a.year_built, world.estate_a.dwelling_count, world.estate_a.boundary) == (1994, 193, boundary)


@pytest.fixture
def dorm_estates(world):
    system = Actor.system("test")
    first = create_place(actor=system, kind="estate", parent=world.community_a, name="建委宿舍")
    second = create_place(actor=system, kind="estate", parent=world.community_a, name="邮政宿舍")
    create_place(actor=system, kind="building", parent=first, name="1栋")
    create_place(actor=system, kind="building", parent=second, name="1栋")
    return first, second


def test_given_a_street_admin_when_merging_two_estates_then_a_new_estate_holds_their_buildings(client, world,
                                                                                               dorm_estates):
    first, second = dorm_estates
    response = login(client, world, "street_admin").post(f"/places/{world.community_a.pk}/merge/", {
        "estates": [first.pk, second.pk], "into": "", "into_name": "和谐苑", "note": "拆墙并院"})

    merged = Place.objects.get(parent=world.community_a, name="和谐苑", status="active")
    assert response.status_code == 302 and response["Location"] == f"/places/{merged.pk}/"
    assert sorted(merged.children.values_list("name", flat=True)) == ["1栋", "邮政宿舍1栋"]
    assert set(Place.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"merged"}


def test_given_one_estate_when_merging_then_the_form_says_two_are_needed_and_nothing_moves(client, world, dorm_estates,
                                                                                           unchanged):
    with unchanged():
        response = login(client, world, "street_admin").post(f"/places/{world.community_a.pk}/merge/", {
            "estates": [dorm_estates[0].pk], "into_name": "和谐苑"})

    assert response.status_code == 422
    assert response.context["form"].errors == {"estates": ["至少需要两个小区才能合并"]}


def test_given_community_staff_when_the_merge_page_opens_then_it_is_forbidden(client, world):
    assert login(client, world, "staff_a").get(f"/places/{world.community_a.pk}/merge/").status_code == 403


def test_given_a_merged_estate_when_its_detail_opens_then_history_links_the_new_estate(client, world, dorm_estates):
    login(client, world, "street_admin").post(f"/places/{world.community_a.pk}/merge/", {
        "estates": [p.pk for p in dorm_estates], "into_name": "和谐苑"})

    html = client.get(f"/places/{dorm_estates[0].pk}/").content.decode()

    merged = Place.objects.get(name="和谐苑")
    assert f'该小区已并入 <a href="/places/{merged.pk}/">和谐苑</a>' in html
    assert "“建委宿舍”并入“和谐苑”" in html
