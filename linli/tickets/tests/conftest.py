import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.core.permissions import Role
from linli.core.testing import make_user
from linli.notify.models import Message
from linli.tickets import actions
from linli.tickets.models import Category, Rating, ReturnVisit, Ticket, TicketEvent, TicketPhoto

# A fixed moment (local time Asia/Shanghai 2026-04-23 10:00) that tests pass as ``now``.
T0 = dt.datetime(2026, 4, 23, 10, 0, tzinfo=timezone.get_default_timezone())


@dataclass
class Desk:
    """The world plus the organisations that handle its tickets and a second property staffer."""

    world: Any
    property_a: Any  # organisations
    committee_a: Any
    property_b: Any
    committee_b: Any
    street_office: Any
    members: dict

    def actor(self, name: str) -> Actor:
        return self.world.actor(name)

    def user(self, name: str):
        return self.world.users[name]

    def category(self, code: str) -> Category:
        return Category.objects.get(place_path="", code=code)

    def submit(self, *, by: str = "resident_a", code: str = "sanitation", kind: str = "repair", place=None,
               now: dt.datetime = T0, **extra) -> Ticket:
        place = place or self.world.dwelling_a
        return actions.submit_ticket(actor=self.actor(by), kind=kind, category=self.category(code), place=place,
                                     description=extra.pop("description", "厨房水管漏水"), now=now, **extra)


@pytest.fixture
def desk(world) -> Desk:
    system = Actor.system("test-desk")
    users = world.users
    users["property_a2"] = make_user("property_a2", Role.PROPERTY_STAFF, world.estate_a)
    orgs = {
        "property_a": actions.create_organisation(actor=system, kind="property_company", name="祥和物业",
                                                  place=world.estate_a),
        "committee_a": actions.create_organisation(actor=system, kind="community_committee", name="梅园社区居委会",
                                                   place=world.community_a),
        "property_b": actions.create_organisation(actor=system, kind="property_company", name="桂花物业",
                                                  place=world.estate_b),
        "committee_b": actions.create_organisation(actor=system, kind="community_committee", name="桂花社区居委会",
                                                   place=world.community_b),
        "street_office": actions.create_organisation(actor=system, kind="street_office", name="浮山街道办",
                                                     place=world.street),
    }
    members = {}
    for org, names in (("property_a", ["property_a", "property_a2"]), ("committee_a", ["staff_a", "grid_a"]),
                       ("property_b", ["staff_b"]), ("committee_b", ["staff_b"]), ("street_office", ["street_admin"])):
        for name in names:
            assignment = RoleAssignment.objects.get(user=users[name], active=True)
            members[(org, name)] = actions.add_member(actor=system, organisation=orgs[org], assignment=assignment)
    return Desk(world=world, members=members, **orgs)


WATCHED = (Ticket, TicketEvent, TicketPhoto, Rating, ReturnVisit, Message, AuditEntry)


def counts() -> dict[str, int]:
    """Rows of every table a ticket action writes, in one query."""
    tables = ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(m._meta.db_table)})" for m in WATCHED)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tables}")
        return dict(zip((m.__name__ for m in WATCHED), cursor.fetchone(), strict=True))
