"""The place tree's actions: create, update, retire, facilities and grids (merges: test_merge.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from linli.core.actor import Actor
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.places.actions import (
    create_facility,
    create_place,
    refresh_dwelling_counts,
    retire_place,
    save_grid,
    update_facility,
    update_place,
)
from linli.places.models import Grid
from linli.places.paths import natural_key

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def codes(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


# ---------------------------------------------------------------- create_place

def test_given_community_staff_when_an_estate_is_created_then_its_path_depth_and_audit_entry_are_set(world):
    estate = create_place(actor=world.actor("staff_a"), kind="estate", parent=world.community_a, name=" 梅园小区 ",
                          year_built="1996", longitude="114.3012", latitude=29.8315, area_m2="12500.456")
    estate.refresh_from_db()
    assert estate.path == f"{world.community_a.path}{estate.pk}/"
    assert estate.depth == 3 and estate.name == "梅园小区" and estate.year_built == 1996
    assert (estate.longitude, estate.latitude) == (114.3012, 29.8315)
    assert estate.area_m2 == Decimal("12500.46")
    entry = AuditEntry.objects.get(action="place.create", target_id=str(estate.pk))
    assert entry.actor == world.users["staff_a"]
    assert entry.place_path == estate.path
    assert entry.after["name"] == "梅园小区" and entry.after["path"] == estate.path and entry.after["area_m2"] == "12500.46"


@pytest.mark.parametrize(
    "kind, parent_attr",
    [("building", "community_a"), ("estate", "street"), ("dwelling", "building_a"), ("street", "street"),
     ("district", "district"), ("community", None)],
)
def test_given_the_wrong_parent_kind_when_a_place_is_created_then_parent_is_refused_and_nothing_is_written(
    world, unchanged, kind, parent_attr
):
    parent = getattr(world, parent_attr) if parent_attr else None
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind=kind, parent=parent, name="新地点")
    assert codes(exc.value) == [("parent", "wrong_kind")]
    assert exc.value.errors[0].message_zh and exc.value.errors[0].message_en


def test_given_an_unknown_kind_when_a_place_is_created_then_kind_is_refused(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind="village", parent=world.street, name="某村")
    assert codes(exc.value) == [("kind", "invalid_choice")]


def test_given_a_sibling_with_the_same_name_when_a_place_is_created_then_name_is_a_duplicate(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind="building", parent=world.estate_a, name="1栋")
    assert codes(exc.value) == [("name", "duplicate")]
    # The same name under another parent is fine.
    other = create_place(actor=SYSTEM, kind="building", parent=world.estate_b, name="2栋")
    assert other.parent == world.estate_b


def test_given_coordinates_out_of_range_when_a_place_is_created_then_each_coordinate_is_named(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind="estate", parent=world.community_a, name="远方", longitude=181, latitude=-90.5)
    assert codes(exc.value) == [("longitude", "out_of_range"), ("latitude", "out_of_range")]
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind="estate", parent=world.community_a, name="远方", longitude="东经114度")
    assert codes(exc.value) == [("longitude", "not_a_number")]


def test_given_several_bad_fields_when_a_place_is_created_then_all_are_reported_at_once(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind="estate", parent=world.community_a, name="  ", year_built=1700, floors="six",
                     boundary={"type": "Point", "coordinates": [114.3, 29.8]}, area_m2="-5", attrs=["x"])
    assert codes(exc.value) == [("name", "required"), ("boundary", "geojson"), ("year_built", "out_of_range"),
                                ("floors", "not_an_integer"), ("area_m2", "not_a_number"), ("attrs", "not_an_object")]


def test_given_a_polygon_boundary_when_an_estate_is_created_then_it_is_stored_as_geojson(world):
    ring = [[114.30, 29.83], [114.302, 29.83], [114.302, 29.832], [114.30, 29.832], [114.30, 29.83]]
    estate = create_place(actor=SYSTEM, kind="estate", parent=world.community_a, name="界内",
                          boundary={"type": "Polygon", "coordinates": [ring]})
    estate.refresh_from_db()
    assert estate.boundary == {"type": "Polygon", "coordinates": [ring]}


def test_given_a_district_admin_when_a_new_district_is_created_then_it_needs_global_rights(world, unchanged):
    with unchanged(), pytest.raises(PermissionDenied):
        create_place(actor=world.actor("district_admin"), kind="district", parent=None, name="嘉鱼县", code="421221")
    district = create_place(actor=world.actor("sysadmin"), kind="district", parent=None, name="嘉鱼县", code="421221")
    assert district.path == f"/{district.pk}/" and district.depth == 0 and district.parent is None


def test_given_staff_of_another_community_when_they_create_inside_a_then_permission_is_denied(world, unchanged):
    with unchanged(), pytest.raises(PermissionDenied):
        create_place(actor=world.actor("staff_b"), kind="building", parent=world.estate_a, name="9栋")
    with unchanged(), pytest.raises(PermissionDenied):
        create_place(actor=world.actor("grid_a"), kind="building", parent=world.estate_a, name="9栋")


def test_given_a_retired_parent_when_a_child_is_created_then_parent_is_refused(world, unchanged):
    shed = create_place(actor=SYSTEM, kind="building", parent=world.estate_a, name="车棚楼")
    retire_place(actor=SYSTEM, place=shed, reason="拆除")
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_place(actor=SYSTEM, kind="entrance", parent=shed, name="1单元")
    assert codes(exc.value) == [("parent", "inactive")]


def test_given_a_retired_dwelling_when_its_number_is_used_again_then_the_new_dwelling_is_created(world):
    retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="两户合并为一户")
    again = create_place(actor=SYSTEM, kind="dwelling", parent=world.entrance_a, name="102")
    assert again.pk != world.dwelling_a2.pk and again.status == "active"


def test_given_building_names_when_sorted_then_numbers_sort_naturally():
    assert natural_key("2栋") < natural_key("10栋") < natural_key("11栋")
    assert natural_key("1单元101") == "000001单元000101"


# ---------------------------------------------------------------- update_place

def test_given_a_change_when_a_place_is_updated_then_only_changed_keys_are_audited(world):
    place = update_place(actor=world.actor("staff_a"), place=world.building_a, name="1号楼", floors=7, code="")
    assert (place.name, place.floors, place.sort_key) == ("1号楼", 7, "000001号楼")
    entry = AuditEntry.objects.get(action="place.update")
    assert entry.before == {"name": "1栋", "floors": 6}
    assert entry.after == {"name": "1号楼", "floors": 7}


def test_given_no_change_when_a_place_is_updated_then_no_audit_entry_is_written(world, unchanged):
    with unchanged():
        update_place(actor=world.actor("staff_a"), place=world.building_a, name="1栋", floors=6)


def test_given_a_sibling_name_when_a_place_is_renamed_then_name_is_a_duplicate_and_nothing_changes(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        update_place(actor=SYSTEM, place=world.dwelling_a2, name="101")
    assert codes(exc.value) == [("name", "duplicate")]
    world.dwelling_a2.refresh_from_db()
    assert world.dwelling_a2.name == "102"


def test_given_bad_values_when_a_place_is_updated_then_fields_are_named_and_nothing_changes(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        update_place(actor=SYSTEM, place=world.estate_a, latitude=95, year_built="nineteen")
    assert codes(exc.value) == [("latitude", "out_of_range"), ("year_built", "not_an_integer")]
    world.estate_a.refresh_from_db()
    assert (world.estate_a.latitude, world.estate_a.year_built) == (29.8331, 1995)


def test_given_a_retired_place_when_updated_then_conflict(world, unchanged):
    retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="拆除")
    with unchanged(), pytest.raises(Conflict):
        update_place(actor=SYSTEM, place=world.dwelling_a2, name="103")


@pytest.mark.parametrize("persona", ["staff_b", "grid_a", "property_a", "committee_a", "resident_a", "nobody"])
def test_given_a_role_without_edit_rights_there_when_updating_then_permission_is_denied(world, unchanged, persona):
    with unchanged(), pytest.raises(PermissionDenied):
        update_place(actor=world.actor(persona), place=world.estate_a, name="改名")


# ---------------------------------------------------------------- retire_place

def test_given_an_empty_dwelling_when_retired_then_status_and_audit_entry_record_the_reason(world):
    place = retire_place(actor=world.actor("staff_a"), place=world.dwelling_a2, reason="改为活动室")
    assert place.status == "retired"
    entry = AuditEntry.objects.get(action="place.retire")
    assert entry.before == {"status": "active"} and entry.after == {"status": "retired", "reason": "改为活动室"}


def test_given_a_retired_place_when_retired_again_then_conflict_and_one_audit_entry(world):
    retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="拆除")
    with pytest.raises(Conflict):
        retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="拆除")
    assert AuditEntry.objects.filter(action="place.retire").count() == 1


def test_given_a_place_with_active_children_when_retired_then_conflict(world, unchanged):
    with unchanged(), pytest.raises(Conflict) as exc:
        retire_place(actor=SYSTEM, place=world.entrance_a, reason="拆除")
    assert exc.value.code == "has_children"
    world.entrance_a.refresh_from_db()
    assert world.entrance_a.status == "active"


def test_given_no_reason_or_no_rights_when_retiring_then_refused(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="  ")
    assert codes(exc.value) == [("reason", "required")]
    with unchanged(), pytest.raises(PermissionDenied):
        retire_place(actor=world.actor("staff_b"), place=world.dwelling_a2, reason="拆除")


def test_given_new_dwellings_when_counts_are_refreshed_then_estate_and_building_hold_the_number(world):
    create_place(actor=SYSTEM, kind="dwelling", parent=world.entrance_a, name="201")
    updated = refresh_dwelling_counts(actor=world.actor("staff_a"), place=world.community_a)
    assert updated == 2
    world.estate_a.refresh_from_db()
    world.building_a.refresh_from_db()
    assert (world.estate_a.dwelling_count, world.building_a.dwelling_count) == (3, 3)
    assert refresh_dwelling_counts(actor=world.actor("staff_a"), place=world.community_a) == 0


# ---------------------------------------------------------------- facilities

def test_given_an_estate_when_a_parking_facility_is_added_then_it_carries_place_path_and_capacity(world):
    facility = create_facility(actor=world.actor("staff_a"), place=world.estate_a, kind="parking", name=" 祥和苑停车场 ",
                               capacity="100", longitude=114.2963, latitude=29.8329, floor_area_m2="1250.5")
    facility.refresh_from_db()
    assert (facility.name, facility.capacity, facility.place_path) == ("祥和苑停车场", 100, world.estate_a.path)
    assert facility.floor_area_m2 == Decimal("1250.50")
    entry = AuditEntry.objects.get(action="facility.create")
    assert entry.after["kind"] == "parking" and entry.after["capacity"] == 100 and entry.place_path == world.estate_a.path


def test_given_bad_facility_data_when_created_then_every_field_is_named_and_nothing_is_written(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        create_facility(actor=SYSTEM, place=world.dwelling_a, kind="casino", name="", capacity=-3, latitude=120,
                        land_area_m2="lots")
    assert codes(exc.value) == [("kind", "invalid_choice"), ("name", "required"), ("latitude", "out_of_range"),
                                ("land_area_m2", "not_a_number"), ("capacity", "not_an_integer"),
                                ("place", "wrong_kind")]


def test_given_staff_of_b_when_adding_a_facility_in_a_then_permission_is_denied(world, unchanged):
    with unchanged(), pytest.raises(PermissionDenied):
        create_facility(actor=world.actor("staff_b"), place=world.estate_a, kind="canteen", name="食堂")


def test_given_a_facility_when_updated_then_the_diff_is_audited(world):
    facility = create_facility(actor=SYSTEM, place=world.community_a, kind="canteen", name="长者食堂")
    facility = update_facility(actor=world.actor("staff_a"), facility=facility, opening_hours="11:00-13:00", active=False)
    assert (facility.opening_hours, facility.active) == ("11:00-13:00", False)
    entry = AuditEntry.objects.get(action="facility.update")
    assert entry.before == {"opening_hours": "", "active": True}
    assert entry.after == {"opening_hours": "11:00-13:00", "active": False}
    with pytest.raises(PermissionDenied):
        update_facility(actor=world.actor("staff_b"), facility=facility, name="偷改")


# ---------------------------------------------------------------- grids

def test_given_buildings_of_the_community_when_a_grid_is_saved_then_buildings_and_workers_are_set(world):
    second = create_place(actor=SYSTEM, kind="building", parent=world.estate_a, name="2栋")
    grid = save_grid(actor=world.actor("staff_a"), community=world.community_a, name=" 第一网格 ", code="G01",
                     building_ids=[world.building_a.pk, second.pk], worker_ids=[world.users["grid_a"].pk])
    assert (grid.name, grid.code, grid.place_path) == ("第一网格", "G01", world.community_a.path)
    assert sorted(grid.buildings.values_list("pk", flat=True)) == sorted([world.building_a.pk, second.pk])
    assert list(grid.workers.all()) == [world.users["grid_a"]]
    entry = AuditEntry.objects.get(action="grid.save")
    assert entry.before is None and entry.after["workers"] == [world.users["grid_a"].pk]


def test_given_a_building_of_another_community_when_a_grid_is_saved_then_building_ids_is_refused(world, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        save_grid(actor=SYSTEM, community=world.community_a, name="越界网格",
                  building_ids=[world.building_a.pk, world.building_b.pk])
    assert codes(exc.value) == [("building_ids", "outside")]
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        save_grid(actor=SYSTEM, community=world.community_a, name="非楼栋", building_ids=[world.dwelling_a.pk])
    assert codes(exc.value) == [("building_ids", "outside")]
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        save_grid(actor=SYSTEM, community=world.community_a, name="", building_ids=[987654], worker_ids=[987654])
    assert codes(exc.value) == [("name", "required"), ("building_ids", "outside"), ("worker_ids", "unknown")]


def test_given_an_existing_grid_when_saved_again_then_buildings_change_and_workers_stay(world):
    grid = save_grid(actor=SYSTEM, community=world.community_a, name="一网格", building_ids=[world.building_a.pk],
                     worker_ids=[world.users["grid_a"].pk])
    grid = save_grid(actor=SYSTEM, community=world.community_a, name="一网格", building_ids=[], grid=grid)
    assert list(grid.buildings.all()) == [] and list(grid.workers.all()) == [world.users["grid_a"]]
    entry = AuditEntry.objects.filter(action="grid.save").first()
    assert entry.before == {"name": "一网格", "buildings": [world.building_a.pk]}
    assert entry.after == {"name": "一网格", "buildings": []}


def test_given_grids_when_one_is_renamed_to_the_other_or_moved_then_refused(world, unchanged):
    save_grid(actor=SYSTEM, community=world.community_a, name="一网格", building_ids=[])
    two = save_grid(actor=SYSTEM, community=world.community_a, name="二网格", building_ids=[])
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        save_grid(actor=SYSTEM, community=world.community_a, name="一网格", building_ids=[], grid=two)
    assert codes(exc.value) == [("name", "duplicate")]
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        save_grid(actor=SYSTEM, community=world.community_b, name="二网格", building_ids=[], grid=two)
    assert codes(exc.value) == [("community", "moved")]
    with unchanged(), pytest.raises(PermissionDenied):
        save_grid(actor=world.actor("staff_b"), community=world.community_a, name="三网格", building_ids=[])
    assert sorted(Grid.objects.values_list("name", flat=True)) == ["一网格", "二网格"]
