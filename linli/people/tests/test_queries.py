"""Scoped reads of residents: who sees whom, and the list filters (place, tag, age, free text)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.identity import id_check_digit
from linli.people.actions import add_emergency_contact, add_occupancy, register_resident, update_resident
from linli.people.models import Occupancy
from linli.people.queries import (
    ResidentFilter,
    access_contact,
    access_occupancy,
    access_resident,
    birth_bounds,
    household,
    search_residents,
    tag_and_descendants,
    visible_residents,
    with_list_relations,
)

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
TODAY = dt.date(2026, 11, 21)


def _id(birth: dt.date, seq: int, male: bool) -> str:
    first17 = f"421202{birth:%Y%m%d}{seq * 2 + (1 if male else 0):03d}"
    return first17 + id_check_digit(first17)


def _names(qs) -> list[str]:
    return sorted(r.name for r in qs)


@pytest.fixture
def people(world):
    """Residents of A around the age-60 boundary on TODAY, a family in A's 102, and resident_b in B."""
    d2 = world.dwelling_a2
    made = {
        "turns_60_today": register_resident(actor=SYSTEM, place=d2, name="刘满六十", relation="head",
                                            id_number=_id(dt.date(1966, 11, 21), 1, True), phone="13600136000"),
        "turns_60_tomorrow": register_resident(actor=SYSTEM, place=d2, name="刘明天", relation="member",
                                               id_number=_id(dt.date(1966, 11, 22), 2, False), tags=["party_member"]),
        "turned_61_today": register_resident(actor=SYSTEM, place=d2, name="刘六一", relation="member",
                                             id_number=_id(dt.date(1965, 11, 21), 3, True), tags=["aged_80"]),
        "child": register_resident(actor=SYSTEM, place=d2, name="刘小宝", relation="member",
                                   id_number=_id(dt.date(2016, 11, 22), 4, True), tags=["left_behind_child"]),
    }
    return made


def test_given_the_personas_when_listing_residents_then_each_sees_exactly_their_scope(world, people):
    a_all = {"王秀英", "刘满六十", "刘明天", "刘六一", "刘小宝"}
    assert set(_names(visible_residents(world.actor("staff_a")))) == a_all
    assert set(_names(visible_residents(world.actor("grid_a")))) == a_all
    assert set(_names(visible_residents(world.actor("property_a")))) == a_all
    assert _names(visible_residents(world.actor("staff_b"))) == ["李建国"]
    assert set(_names(visible_residents(world.actor("street_admin")))) == a_all | {"李建国"}
    assert set(_names(visible_residents(world.actor("district_admin")))) == a_all | {"李建国"}
    assert _names(visible_residents(world.actor("resident_a"))) == ["王秀英"]
    for nobody in ("committee_a", "sysadmin", "nobody"):
        assert _names(visible_residents(world.actor(nobody))) == []


def test_given_a_resident_of_a_when_staff_of_b_open_it_then_not_found(world):
    with pytest.raises(NotFound):
        access_resident(world.actor("staff_b"), world.resident_a.pk)
    with pytest.raises(NotFound):
        access_resident(world.actor("resident_a"), world.resident_b.pk)
    with pytest.raises(NotFound):
        access_resident(world.actor("staff_a"), "abc")
    found = access_resident(world.actor("resident_a"), world.resident_a.pk)
    assert found == world.resident_a and [t.tag.code for t in found.open_tags] == ["elderly_alone"]


def test_given_the_age_boundary_when_searching_60_and_over_then_birthdays_count_exactly(world, people):
    over_60 = search_residents(world.actor("staff_a"), ResidentFilter(age_min=60), today=TODAY)
    assert _names(over_60) == ["刘六一", "刘满六十", "王秀英"]
    up_to_60 = search_residents(world.actor("staff_a"), ResidentFilter(age_min=60, age_max=60), today=TODAY)
    assert _names(up_to_60) == ["刘满六十"]
    under_10 = search_residents(world.actor("staff_a"), ResidentFilter(age_max=9), today=TODAY)
    assert _names(under_10) == ["刘小宝"]
    assert _names(search_residents(world.actor("staff_a"), ResidentFilter(age_max=10), today=TODAY)) == ["刘小宝"]


def test_given_birth_bounds_when_computed_on_a_leap_day_then_february_28_stands_in():
    assert birth_bounds(60, 60, TODAY) == (dt.date(1965, 11, 22), dt.date(1966, 11, 21))
    assert birth_bounds(1, None, dt.date(2028, 2, 29)) == (None, dt.date(2027, 2, 28))
    assert birth_bounds(None, 0, dt.date(2028, 2, 29)) == (dt.date(2027, 3, 1), None)


def test_given_a_parent_tag_when_searching_then_residents_with_its_children_tags_are_found(world, people):
    assert tag_and_descendants("nonexistent") == []
    elderly = search_residents(world.actor("staff_a"), ResidentFilter(tag="elderly"))
    assert _names(elderly) == ["刘六一", "王秀英"]
    assert _names(search_residents(world.actor("staff_a"), ResidentFilter(tag="party_member"))) == ["刘明天"]
    assert _names(search_residents(world.actor("staff_b"), ResidentFilter(tag="elderly"))) == []


def test_given_a_place_when_searching_then_only_residents_below_it_and_a_place_outside_scope_is_not_found(world, people):
    in_101 = search_residents(world.actor("staff_a"), ResidentFilter(place_id=world.dwelling_a.pk))
    assert _names(in_101) == ["王秀英"]
    in_building = search_residents(world.actor("staff_a"), ResidentFilter(place_id=world.building_a.pk))
    assert len(in_building) == 5
    with pytest.raises(NotFound):
        search_residents(world.actor("staff_b"), ResidentFilter(place_id=world.building_a.pk))


def test_given_free_text_when_searching_then_names_full_id_numbers_and_phones_are_found(world, people):
    staff_a = world.actor("staff_a")
    assert _names(search_residents(staff_a, ResidentFilter(q="刘"))) == ["刘六一", "刘小宝", "刘明天", "刘满六十"]
    assert _names(search_residents(staff_a, ResidentFilter(q=" 秀英 "))) == ["王秀英"]
    assert _names(search_residents(staff_a, ResidentFilter(q="421202195003150027"))) == ["王秀英"]
    assert _names(search_residents(staff_a, ResidentFilter(q="４２１２０２１９５００３１５００２７"))) == ["王秀英"]
    assert _names(search_residents(staff_a, ResidentFilter(q="+86 136 0013 6000"))) == ["刘满六十"]
    # Partial numbers never match (they are only stored as keyed hashes) and B's resident stays invisible.
    assert _names(search_residents(staff_a, ResidentFilter(q="42120219500315"))) == []
    assert _names(search_residents(staff_a, ResidentFilter(q="42120219850720001X"))) == []
    assert _names(search_residents(world.actor("staff_b"), ResidentFilter(q="13900139000"))) == ["李建国"]


def test_given_status_and_sex_filters_when_searching_then_moved_out_residents_are_hidden_by_default(world, people):
    update_resident(actor=SYSTEM, resident=people["child"], status="moved_out")
    staff_a = world.actor("staff_a")
    assert "刘小宝" not in _names(search_residents(staff_a, ResidentFilter()))
    assert _names(search_residents(staff_a, ResidentFilter(status="moved_out"))) == ["刘小宝"]
    assert "刘小宝" in _names(search_residents(staff_a, ResidentFilter(status=None)))
    assert _names(search_residents(staff_a, ResidentFilter(sex="F"))) == ["刘明天", "王秀英"]


def test_given_a_household_when_read_then_its_open_occupancies_within_scope(world, people):
    rows = household(world.actor("staff_a"), world.dwelling_a2.pk)
    assert sorted((o.resident.name, o.relation) for o in rows) == [
        ("刘六一", "member"), ("刘小宝", "member"), ("刘明天", "member"), ("刘满六十", "head")]
    assert list(household(world.actor("staff_b"), world.dwelling_a2.pk)) == []


def test_given_occupancies_and_contacts_of_a_when_staff_of_b_open_them_then_not_found(world):
    occ = Occupancy.objects.get(resident=world.resident_a)
    contact = add_emergency_contact(actor=SYSTEM, resident=world.resident_a, name="王小明", phone="13900139009")
    assert access_occupancy(world.actor("staff_a"), occ.pk) == occ
    assert access_contact(world.actor("grid_a"), contact.pk) == contact
    with pytest.raises(NotFound):
        access_occupancy(world.actor("staff_b"), occ.pk)
    with pytest.raises(NotFound):
        access_contact(world.actor("staff_b"), contact.pk)


def test_given_an_owner_living_elsewhere_when_the_owned_dwelling_is_read_then_the_occupancy_is_in_its_scope(world):
    add_occupancy(actor=SYSTEM, resident=world.resident_b, dwelling=world.dwelling_a2, relation="owner")
    rows = household(world.actor("staff_a"), world.dwelling_a2.pk)
    assert [(o.resident.name, o.relation) for o in rows] == [("李建国", "owner")]
    # The owner's own record stays in B: A's staff see the ownership, not the person's file.
    with pytest.raises(NotFound):
        access_resident(world.actor("staff_a"), world.resident_b.pk)


def test_given_many_residents_when_the_list_is_read_then_the_query_count_does_not_grow(world):
    actor = world.actor("staff_a")

    def run() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = list(with_list_relations(search_residents(actor, ResidentFilter(tag="elderly"))))
            for r in rows:
                _ = (r.place.name, [t.tag.name for t in r.open_tags])
        return len(ctx.captured_queries)

    few = run()
    assert few == 3  # the tag tree, the residents with their home place, their open tags with the tag names
    for i in range(12):
        register_resident(actor=SYSTEM, place=world.dwelling_a2, name=f"老人{chr(0x4e00 + i)}", tags=["elderly_alone", "aged_80"])
    assert run() == few
