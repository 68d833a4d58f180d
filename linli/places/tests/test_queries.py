"""Scoped reads of places, facilities and grids: other communities' rows do not exist for an actor (404)."""

from __future__ import annotations

import pytest

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.places.actions import create_facility, create_place, merge_estates, retire_place, save_grid
from linli.places.queries import (
    access_facility,
    access_grid,
    access_place,
    ancestors,
    community_of,
    place_children,
    root_places,
    visible_facilities,
    visible_grids,
    visible_places,
)

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _names(qs) -> set[str]:
    return {f"{p.kind}:{p.name}" for p in qs}


def test_given_community_staff_when_listing_places_then_their_subtree_and_its_ancestors_only(world):
    seen = _names(visible_places(world.actor("staff_a")))
    assert seen == {"district:咸安区", "street:浮山街道", "community:梅园社区", "estate:祥和苑", "building:1栋",
                    "entrance:1单元", "dwelling:101", "dwelling:102"}


def test_given_the_street_admin_when_listing_places_then_both_communities_are_seen(world):
    seen = _names(visible_places(world.actor("street_admin")))
    assert {"community:梅园社区", "community:桂花社区", "estate:桂花苑", "estate:祥和苑"} <= seen


def test_given_a_resident_when_listing_places_then_only_the_way_down_to_their_dwelling(world):
    seen = _names(visible_places(world.actor("resident_a")))
    assert seen == {"district:咸安区", "street:浮山街道", "community:梅园社区", "estate:祥和苑", "building:1栋",
                    "entrance:1单元", "dwelling:101"}


def test_given_a_place_of_another_community_when_accessed_then_not_found(world):
    with pytest.raises(NotFound):
        access_place(world.actor("staff_b"), world.estate_a.pk)
    with pytest.raises(NotFound):
        access_place(world.actor("nobody"), world.district.pk)
    with pytest.raises(NotFound):
        access_place(world.actor("staff_a"), "not-a-number")
    assert access_place(world.actor("staff_b"), world.street.pk) == world.street


def test_given_a_merged_estate_when_accessed_then_it_is_still_found_but_not_listed(world):
    second = create_place(actor=SYSTEM, kind="estate", parent=world.community_a, name="邮政宿舍")
    merge_estates(actor=SYSTEM, estates=[second], into=world.estate_a)
    actor = world.actor("staff_a")
    assert access_place(actor, second.pk).status == "merged"
    assert second.pk not in set(visible_places(actor).values_list("pk", flat=True))
    assert second.pk in set(visible_places(actor, include_inactive=True).values_list("pk", flat=True))


def test_given_roots_when_listed_then_the_assignment_places_or_every_district_for_global_roles(world):
    assert list(root_places(world.actor("staff_a"))) == [world.community_a]
    assert list(root_places(world.actor("sysadmin"))) == [world.district]
    assert list(root_places(world.actor("nobody"))) == []


def test_given_children_when_listed_then_each_carries_its_active_child_count(world):
    retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="拆除")
    children = list(place_children(world.actor("staff_a"), world.building_a))
    assert [(c.name, c.child_count) for c in children] == [("1单元", 1)]
    assert [c.name for c in place_children(world.actor("staff_a"), world.street)] == ["梅园社区"]


def test_given_a_dwelling_when_its_ancestors_and_community_are_asked_then_they_come_in_order(world):
    assert ancestors(world.dwelling_a) == [world.district, world.street, world.community_a, world.estate_a,
                                           world.building_a, world.entrance_a]
    assert community_of(world.dwelling_a) == world.community_a
    assert community_of(world.community_b) == world.community_b
    assert community_of(world.street) is None


def test_given_facilities_and_grids_in_two_communities_when_listed_then_each_staff_sees_their_own(world):
    fa = create_facility(actor=SYSTEM, place=world.estate_a, kind="kindergarten", name="梅园幼儿园")
    fb = create_facility(actor=SYSTEM, place=world.community_b, kind="pharmacy", name="桂花药房")
    ga = save_grid(actor=SYSTEM, community=world.community_a, name="梅园一网格", building_ids=[world.building_a.pk])
    gb = save_grid(actor=SYSTEM, community=world.community_b, name="桂花一网格", building_ids=[world.building_b.pk])
    assert list(visible_facilities(world.actor("staff_a"))) == [fa]
    assert list(visible_facilities(world.actor("staff_b"))) == [fb]
    assert set(visible_facilities(world.actor("street_admin"))) == {fa, fb}
    assert list(visible_grids(world.actor("staff_a"))) == [ga]
    assert access_facility(world.actor("property_a"), fa.pk) == fa
    with pytest.raises(NotFound):
        access_facility(world.actor("staff_a"), fb.pk)
    with pytest.raises(NotFound):
        access_grid(world.actor("staff_b"), ga.pk)
    assert access_grid(world.actor("staff_b"), gb.pk) == gb
