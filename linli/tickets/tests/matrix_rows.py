"""The ticket rows the permission matrix (tests/test_permission_matrix.py) calls its routes on, per community:
organisations and members, a ticket in each status the routes need, a photo, a return visit and a category.

Side a: resident_a reports through the app; property_a is the assignee. Side b: staff_b enters the ticket for
resident_b (who has no account) and handles it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.permissions import Role
from linli.core.testing import make_user
from linli.tickets import actions
from linli.tickets.models import Category

from .images import jpeg


def build_ticket_rows(world, side: str) -> dict:
    system = Actor.system("matrix-setup")
    community = world.community_a if side == "a" else world.community_b
    estate = world.estate_a if side == "a" else world.estate_b
    worker = "property_a" if side == "a" else "staff_b"
    fixer = make_user(f"fixer_{side}", Role.PROPERTY_STAFF, estate)
    company = actions.create_organisation(actor=system, kind="property_company", name=f"物业{side}", place=estate)
    committee = actions.create_organisation(actor=system, kind="community_committee", name=f"居委会{side}",
                                            place=community)
    for user in (world.users[worker], fixer):
        actions.add_member(actor=system, organisation=company,
                           assignment=RoleAssignment.objects.get(user=user, active=True))
    staff = Actor.for_user(world.users["staff_a" if side == "a" else "staff_b"])
    handler = Actor.for_user(world.users[worker])
    category = Category.objects.get(place_path="", code="public-facilities")  # assign mode, return visit due
    grab_category = Category.objects.get(place_path="", code="sanitation")

    def submit(cat=category, photos=()):
        place = world.dwelling_a if side == "a" else world.dwelling_b
        if side == "a":
            return actions.submit_ticket(actor=world.actor("resident_a"), kind="repair", category=cat, place=place,
                                         description="楼道灯不亮", photos=photos)
        return actions.submit_ticket(actor=staff, kind="repair", category=cat, place=place, description="楼道灯不亮",
                                     channel="phone", reporter=world.resident_b, photos=photos)

    def accepted(cat=category):
        return actions.accept_ticket(actor=staff, ticket=submit(cat))

    def dispatched():
        return actions.assign_ticket(actor=staff, ticket=accepted(), assignee_id=world.users[worker].pk)

    def in_progress():
        return actions.start_ticket(actor=handler, ticket=dispatched())

    def resolved():
        return actions.resolve_ticket(actor=handler, ticket=in_progress(), note="已更换灯泡")

    rows = {
        "submitted": submit(photos=[actions.Upload("a.jpg", jpeg())]),
        "accepted": accepted(),
        "accepted_grab": accepted(grab_category),
        "dispatched": dispatched(),
        "in_progress": in_progress(),
        "paused": actions.pause_ticket(actor=handler, ticket=in_progress(), reason="等配件"),
        "resolved": resolved(),
    }
    if side == "a":
        rows["closed"] = actions.confirm_ticket(actor=world.actor("resident_a"), ticket=resolved())
    else:
        rows["closed"] = actions.auto_close_ticket(ticket=resolved(), now=timezone.now() + dt.timedelta(days=30))
    rows["photo"] = rows["submitted"].photos.get()
    rows["visit"] = rows["closed"].return_visits.get()
    rows["committee"] = committee
    rows["fixer"] = fixer
    rows["worker"] = worker
    rows["reporter"] = "resident_a" if side == "a" else None
    rows["category"] = actions.create_category(actor=system, code=f"lift-{side}", name="电梯", place=community)
    return rows
