"""Test personas: a small world with two communities and one user per role and scope boundary.

Used by the test suites and benchmarks. ``make_world()`` builds it through the real actions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from linli.core.actor import Actor
from linli.core.permissions import Role

PASSWORD = "linli-test-pass"


@dataclass
class World:
    district: Any
    street: Any
    community_a: Any
    community_b: Any
    estate_a: Any
    estate_b: Any
    building_a: Any
    entrance_a: Any
    dwelling_a: Any
    dwelling_a2: Any
    building_b: Any
    dwelling_b: Any
    resident_a: Any
    resident_b: Any
    users: dict[str, Any] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        user = self.users[name]
        if hasattr(user, "_linli_actor"):
            del user._linli_actor
        return Actor.for_user(user)


def make_user(username: str, role: str | None = None, place: Any = None, *, resident: Any = None, **extra: Any):
    from linli.accounts.models import Profile, RoleAssignment

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if role:
        RoleAssignment.objects.create(user=user, role=role, place=place, place_path=place.path if place else "")
    if resident is not None:
        Profile.objects.create(user=user, resident=resident)
    return user


def make_token(user, name: str = "test") -> str:
    from linli.accounts.actions import issue_token

    return issue_token(actor=Actor.for_user(user), user=user, name=name)[1]


def make_world() -> World:
    from linli.people.actions import register_resident
    from linli.places.actions import create_place

    system = Actor.system("test-setup")
    district = create_place(actor=system, kind="district", parent=None, name="咸安区", code="421202",
                            longitude=114.2988, latitude=29.8527)
    street = create_place(actor=system, kind="street", parent=district, name="浮山街道", code="421202001")
    ca = create_place(actor=system, kind="community", parent=street, name="梅园社区", code="421202001001")
    cb = create_place(actor=system, kind="community", parent=street, name="桂花社区", code="421202001002")
    ea = create_place(actor=system, kind="estate", parent=ca, name="祥和苑", year_built=1995,
                      longitude=114.2961, latitude=29.8331)
    eb = create_place(actor=system, kind="estate", parent=cb, name="桂花苑", year_built=1998)
    ba = create_place(actor=system, kind="building", parent=ea, name="1栋", floors=6)
    ena = create_place(actor=system, kind="entrance", parent=ba, name="1单元")
    da = create_place(actor=system, kind="dwelling", parent=ena, name="101")
    da2 = create_place(actor=system, kind="dwelling", parent=ena, name="102")
    bb = create_place(actor=system, kind="building", parent=eb, name="1栋")
    enb = create_place(actor=system, kind="entrance", parent=bb, name="1单元")
    db = create_place(actor=system, kind="dwelling", parent=enb, name="101")
    ra = register_resident(actor=system, place=da, name="王秀英", id_number="421202195003150027",
                           phone="13800138000", relation="head", tags=["elderly_alone"])
    rb = register_resident(actor=system, place=db, name="李建国", id_number="42120219850720001X",
                           phone="13900139000", relation="head")
    world = World(district=district, street=street, community_a=ca, community_b=cb, estate_a=ea, estate_b=eb,
                  building_a=ba, entrance_a=ena, dwelling_a=da, dwelling_a2=da2, building_b=bb, dwelling_b=db,
                  resident_a=ra, resident_b=rb)
    world.users = {
        "resident_a": make_user("resident_a", Role.RESIDENT, da, resident=ra),
        "grid_a": make_user("grid_a", Role.GRID_WORKER, ca),
        "property_a": make_user("property_a", Role.PROPERTY_STAFF, ea),
        "committee_a": make_user("committee_a", Role.OWNERS_COMMITTEE, ea),
        "staff_a": make_user("staff_a", Role.COMMUNITY_STAFF, ca),
        "staff_b": make_user("staff_b", Role.COMMUNITY_STAFF, cb),
        "street_admin": make_user("street_admin", Role.STREET_ADMIN, street),
        "district_admin": make_user("district_admin", Role.DISTRICT_ADMIN, district),
        "sysadmin": make_user("sysadmin", Role.SYSTEM_ADMIN, None),
        "nobody": make_user("nobody"),
    }
    return world


def random_id_number(region: str = "421202", birth: str = "19800101", seq: int | None = None, male: bool = True) -> str:
    from linli.core.identity import id_check_digit

    seq = seq if seq is not None else secrets.randbelow(50)
    order = seq * 2 + (1 if male else 0)
    first17 = f"{region}{birth}{order % 1000:03d}"
    return first17 + id_check_digit(first17)
