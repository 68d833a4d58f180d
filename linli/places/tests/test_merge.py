"""拆墙并院: merge_estates moves buildings, rewrites every path below them and every scoped row, keeps history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.core.permissions import Role
from linli.core.testing import make_user, random_id_number
from linli.people.actions import register_resident
from linli.people.models import Occupancy, Resident
from linli.people.queries import visible_residents
from linli.places.actions import create_facility, create_place, merge_estates, save_grid
from linli.places.models import Facility, Grid, Place, PlaceEvent
from linli.places.queries import visible_places

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@dataclass
class Dorms:
    e1: Place
    e2: Place
    e1_b1: Place
    e2_b1: Place
    e2_b2: Place
    e2_dwelling: Place
    r1: Resident
    r2: Resident
    r3: Resident
    facility: Facility
    grid: Grid
    users: dict[str, Any]


def _building(estate: Place, name: str) -> tuple[Place, Place]:
    building = create_place(actor=SYSTEM, kind="building", parent=estate, name=name, floors=6)
    entrance = create_place(actor=SYSTEM, kind="entrance", parent=building, name="1单元")
    return building, create_place(actor=SYSTEM, kind="dwelling", parent=entrance, name="101")


@pytest.fixture
def dorms(world) -> Dorms:
    ca = world.community_a
    e1 = create_place(actor=SYSTEM, kind="estate", parent=ca, name="建委宿舍", year_built=1988, dwelling_count=24)
    e2 = create_place(actor=SYSTEM, kind="estate", parent=ca, name="邮政宿舍", year_built=1992, dwelling_count=36)
    e1_b1, e1_d = _building(e1, "1栋")
    e2_b1, e2_d = _building(e2, "1栋")
    e2_b2, _ = _building(e2, "2栋")
    r1 = register_resident(actor=SYSTEM, place=e1_d, name="张建华", id_number=random_id_number(birth="19560304", seq=1),
                           relation="owner")
    r2 = register_resident(actor=SYSTEM, place=e2_d, name="刘桂兰", id_number=random_id_number(birth="19480812", seq=2,
                           male=False), relation="head")
    r3 = register_resident(actor=SYSTEM, place=e2, name="陈小明", id_number=random_id_number(birth="19900101", seq=3))
    facility = create_facility(actor=SYSTEM, place=e2, kind="express_point", name="邮政快递点")
    grid = save_grid(actor=SYSTEM, community=ca, name="宿舍网格", building_ids=[e1_b1.pk, e2_b1.pk])
    users = {
        "property_e1": make_user("property_e1", Role.PROPERTY_STAFF, e1),
        "property_both": make_user("property_both", Role.PROPERTY_STAFF, e1),
        "resident_e2": make_user("resident_e2", Role.RESIDENT, e2_d, resident=r2),
    }
    RoleAssignment.objects.create(user=users["property_both"], role=Role.PROPERTY_STAFF, place=e2, place_path=e2.path)
    return Dorms(e1, e2, e1_b1, e2_b1, e2_b2, e2_d, r1, r2, r3, facility, grid, users)


def _fresh(place: Place) -> Place:
    return Place.objects.get(pk=place.pk)


def _actor(user) -> Actor:
    if hasattr(user, "_linli_actor"):
        del user._linli_actor
    return Actor.for_user(user)


def test_given_two_dorm_estates_when_merged_then_buildings_move_under_the_new_estate_and_clashing_names_are_renamed(
    world, dorms
):
    target = merge_estates(actor=world.actor("street_admin"), estates=[dorms.e1, dorms.e2], into_name=" 和美苑 ",
                           note="拆除围墙11处")
    assert (target.kind, target.name, target.parent_id, target.status) == ("estate", "和美苑", world.community_a.pk, "active")
    assert target.path == f"{world.community_a.path}{target.pk}/"
    assert target.attrs == {"merged_from": [dorms.e1.pk, dorms.e2.pk]}
    assert (target.year_built, target.dwelling_count) == (1988, 60)
    buildings = {b.pk: (b.name, b.parent_id, b.path) for b in Place.objects.filter(kind="building", parent=target)}
    assert buildings == {
        dorms.e1_b1.pk: ("1栋", target.pk, f"{target.path}{dorms.e1_b1.pk}/"),
        dorms.e2_b1.pk: ("邮政宿舍1栋", target.pk, f"{target.path}{dorms.e2_b1.pk}/"),
        dorms.e2_b2.pk: ("邮政宿舍2栋", target.pk, f"{target.path}{dorms.e2_b2.pk}/"),
    }
    for old in (dorms.e1, dorms.e2):
        old = _fresh(old)
        assert (old.status, old.merged_into_id) == ("merged", target.pk)
    assert list(target.merged_from.order_by("pk")) == [_fresh(dorms.e1), _fresh(dorms.e2)]


def test_given_a_merge_when_done_then_every_path_below_and_every_scoped_row_follows(world, dorms):
    target = merge_estates(actor=world.actor("street_admin"), estates=[dorms.e1, dorms.e2], into_name="和美苑")
    dwelling = _fresh(dorms.e2_dwelling)
    entrance = dwelling.parent
    assert entrance.path == f"{target.path}{dorms.e2_b1.pk}/{entrance.pk}/"
    assert dwelling.path == f"{entrance.path}{dwelling.pk}/" and dwelling.depth == 6
    assert not Place.objects.filter(path__startswith=dorms.e1.path).exclude(pk=dorms.e1.pk).exists()
    assert not Place.objects.filter(path__startswith=dorms.e2.path).exclude(pk=dorms.e2.pk).exists()
    r2 = Resident.objects.get(pk=dorms.r2.pk)
    assert r2.place_path == dwelling.path
    assert list(Occupancy.objects.filter(resident=r2).values_list("place_path", flat=True)) == [dwelling.path]
    r3 = Resident.objects.get(pk=dorms.r3.pk)
    assert (r3.place_id, r3.place_path) == (target.pk, target.path)
    facility = Facility.objects.get(pk=dorms.facility.pk)
    assert (facility.place_id, facility.place_path) == (target.pk, target.path)
    grid = Grid.objects.get(pk=dorms.grid.pk)
    assert grid.place_path == world.community_a.path
    assert sorted(grid.buildings.values_list("pk", flat=True)) == sorted([dorms.e1_b1.pk, dorms.e2_b1.pk])
    resident_role = RoleAssignment.objects.get(user=dorms.users["resident_e2"])
    assert resident_role.place_path == dwelling.path
    e1_role = RoleAssignment.objects.get(user=dorms.users["property_e1"])
    assert (e1_role.place_id, e1_role.place_path, e1_role.active) == (target.pk, target.path, True)


def test_given_a_user_holding_the_same_role_on_two_merged_estates_when_merged_then_one_assignment_remains(world, dorms):
    merge_estates(actor=world.actor("street_admin"), estates=[dorms.e1, dorms.e2], into_name="和美苑")
    rows = RoleAssignment.objects.filter(user=dorms.users["property_both"]).order_by("pk")
    # The duplicate is retired (kept for the record) and, like every row on the old estate, follows it.
    assert [(r.active, r.place.name) for r in rows] == [(True, "和美苑"), (False, "和美苑")]
    entry = AuditEntry.objects.get(action="place.merge_estates")
    assert entry.after["duplicate_roles_retired"] == 1


def test_given_property_staff_of_an_old_estate_when_merged_then_they_see_the_moved_residents(world, dorms):
    before = set(visible_residents(_actor(dorms.users["property_e1"])).values_list("pk", flat=True))
    assert before == {dorms.r1.pk}
    merge_estates(actor=world.actor("street_admin"), estates=[dorms.e1, dorms.e2], into_name="和美苑")
    after = set(visible_residents(_actor(dorms.users["property_e1"])).values_list("pk", flat=True))
    assert after == {dorms.r1.pk, dorms.r2.pk, dorms.r3.pk}
    resident_view = set(visible_residents(_actor(dorms.users["resident_e2"])).values_list("pk", flat=True))
    assert resident_view == {dorms.r2.pk}
    assert not visible_residents(world.actor("staff_b")).filter(pk__in=after).exists()
    names = set(visible_places(_actor(dorms.users["property_e1"])).values_list("name", flat=True))
    assert {"和美苑", "邮政宿舍1栋", "邮政宿舍2栋"} <= names and "邮政宿舍" not in names


def test_given_a_merge_when_done_then_history_and_audit_entry_are_kept(world, dorms):
    old_b2_path = dorms.e2_b1.path
    target = merge_estates(actor=world.actor("street_admin"), estates=[dorms.e1, dorms.e2], into_name="和美苑",
                           note="拆墙并院")
    street_user = world.users["street_admin"]
    created = PlaceEvent.objects.get(place=target)
    assert (created.kind, created.new_name, created.note, created.actor) == ("created_by_merge", "和美苑", "拆墙并院", street_user)
    moved = PlaceEvent.objects.get(place=dorms.e2_b1)
    assert (moved.kind, moved.old_parent_id, moved.new_parent_id) == ("moved", dorms.e2.pk, target.pk)
    assert (moved.old_path, moved.new_path) == (old_b2_path, f"{target.path}{dorms.e2_b1.pk}/")
    assert (moved.old_name, moved.new_name) == ("1栋", "邮政宿舍1栋")
    merged = PlaceEvent.objects.get(place=dorms.e1)
    assert (merged.kind, merged.old_path, merged.new_path, merged.new_name) == (
        "merged_into", dorms.e1.path, target.path, "和美苑")
    assert PlaceEvent.objects.filter(kind="moved").count() == 3
    entry = AuditEntry.objects.get(action="place.merge_estates")
    assert entry.actor == street_user and entry.target_id == str(target.pk)
    assert entry.before == {"estates": [{"id": dorms.e1.pk, "name": "建委宿舍", "path": dorms.e1.path},
                                        {"id": dorms.e2.pk, "name": "邮政宿舍", "path": dorms.e2.path}]}
    assert entry.after == {"into": target.pk, "name": "和美苑", "buildings_moved": 3, "duplicate_roles_retired": 1,
                           "note": "拆墙并院"}
    assert AuditEntry.objects.filter(action="place.create", target_id=str(target.pk)).count() == 1


def test_given_an_existing_estate_as_target_when_merged_into_then_no_estate_is_created(world, dorms):
    places_before = Place.objects.count()
    target = merge_estates(actor=world.actor("street_admin"), estates=[dorms.e2], into=dorms.e1)
    assert target.pk == dorms.e1.pk and target.name == "建委宿舍" and target.status == "active"
    assert Place.objects.count() == places_before
    assert set(Place.objects.filter(parent=target).values_list("name", flat=True)) == {"1栋", "邮政宿舍1栋", "邮政宿舍2栋"}
    assert RoleAssignment.objects.filter(user=dorms.users["property_both"], active=True).count() == 1
    assert _fresh(dorms.e2).merged_into_id == dorms.e1.pk


def test_given_a_source_estate_with_the_new_name_when_merged_then_it_is_renamed_and_the_name_goes_to_the_new_estate(
    world, dorms
):
    target = merge_estates(actor=SYSTEM, estates=[dorms.e1, dorms.e2], into_name="建委宿舍")
    assert target.name == "建委宿舍" and target.pk not in (dorms.e1.pk, dorms.e2.pk)
    assert _fresh(dorms.e1).name == "建委宿舍（原）"


def test_given_another_estate_with_the_new_name_when_merging_then_into_name_is_a_duplicate(world, dorms, unchanged):
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        merge_estates(actor=SYSTEM, estates=[dorms.e1, dorms.e2], into_name="祥和苑")
    assert [(e.field, e.code) for e in exc.value.errors] == [("into_name", "duplicate")]
    assert _fresh(dorms.e1).status == "active"


def test_given_estates_of_two_communities_when_merging_then_refused_and_nothing_moves(world, dorms, unchanged):
    paths = dict(Place.objects.values_list("pk", "path"))
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        merge_estates(actor=world.actor("street_admin"), estates=[dorms.e1, world.estate_b], into_name="跨社区苑")
    assert [(e.field, e.code) for e in exc.value.errors] == [("estates", "different_communities")]
    assert dict(Place.objects.values_list("pk", "path")) == paths


@pytest.mark.parametrize(
    "case, expected",
    [("one", [("estates", "too_few")]), ("same_twice", [("estates", "too_few")]),
     ("building", [("estates", "wrong_kind")]), ("no_name", [("into_name", "required")])],
)
def test_given_bad_merge_input_when_merging_then_the_field_is_named_and_nothing_is_written(
    world, dorms, unchanged, case, expected
):
    estates = {"one": [dorms.e1], "same_twice": [dorms.e1, dorms.e1], "building": [dorms.e1, dorms.e1_b1],
               "no_name": [dorms.e1, dorms.e2]}[case]
    with unchanged(), pytest.raises(ValidationFailed) as exc:
        merge_estates(actor=SYSTEM, estates=estates, into_name="" if case == "no_name" else "新苑")
    assert [(e.field, e.code) for e in exc.value.errors] == expected


def test_given_merged_estates_when_merged_again_then_conflict_and_nothing_is_written(world, dorms, unchanged):
    merge_estates(actor=SYSTEM, estates=[dorms.e1, dorms.e2], into_name="和美苑")
    with unchanged(), pytest.raises(Conflict) as exc:
        merge_estates(actor=SYSTEM, estates=[dorms.e1, dorms.e2], into_name="和美苑二期")
    assert exc.value.code == "already_merged"
    with unchanged(), pytest.raises(Conflict):
        merge_estates(actor=SYSTEM, estates=[_fresh(dorms.e1), world.estate_a], into_name="和美苑二期")


@pytest.mark.parametrize("persona", ["staff_a", "property_a", "grid_a", "staff_b"])
def test_given_a_role_without_merge_rights_when_merging_then_permission_is_denied(world, dorms, unchanged, persona):
    with unchanged(), pytest.raises(PermissionDenied):
        merge_estates(actor=world.actor(persona), estates=[dorms.e1, dorms.e2], into_name="和美苑")


def test_given_an_estate_without_clashes_when_merged_then_its_buildings_keep_their_names(world, dorms):
    e3 = create_place(actor=SYSTEM, kind="estate", parent=world.community_a, name="龙祥小区")
    b9, _ = _building(e3, "9栋")
    target = merge_estates(actor=SYSTEM, estates=[dorms.e1, dorms.e2, e3], into_name="和美苑")
    assert _fresh(b9).name == "9栋" and _fresh(b9).parent_id == target.pk


def test_given_a_prefixed_name_already_taken_when_merged_then_a_number_is_added(world, dorms):
    create_place(actor=SYSTEM, kind="building", parent=dorms.e1, name="邮政宿舍1栋")
    merge_estates(actor=SYSTEM, estates=[dorms.e2], into=dorms.e1)
    names = set(Place.objects.filter(parent=dorms.e1, kind="building").values_list("name", flat=True))
    assert names == {"1栋", "邮政宿舍1栋", "邮政宿舍1栋（2）", "邮政宿舍2栋"}
