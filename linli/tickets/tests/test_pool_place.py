"""The ticket pool's place column: the path from the estate down ("祥和苑 1栋 1单元 101"), not only the last name,
read in the list's own query (the page's query count does not grow with its rows)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.core.actor import Actor
from linli.places.actions import create_place
from linli.tickets import queries
from linli.tickets.models import Ticket

pytestmark = pytest.mark.django_db

PLACE_CELL = re.compile(r'<td data-label="地点">([^<]*)</td>')


def place_cells(client) -> list[str]:
    page = client.get(reverse("tickets:list"))
    assert page.status_code == 200
    return PLACE_CELL.findall(page.content.decode())


def test_given_tickets_at_a_dwelling_a_building_and_an_estate_when_staff_open_the_pool_then_each_shows_its_path(
        client, desk):
    w = desk.world
    desk.submit(description="厨房水管漏水")
    desk.submit(by="staff_a", place=w.building_a, channel="phone", description="楼道灯坏了")
    desk.submit(by="staff_a", place=w.estate_a, channel="walk_in", description="小区路面破损")
    desk.submit(by="staff_a", place=w.community_a, channel="grid_patrol", code="noise", description="广场舞太吵")
    client.force_login(desk.user("staff_a"))

    cells = place_cells(client)

    assert cells == ["梅园社区", "祥和苑", "祥和苑 1栋", "祥和苑 1栋 1单元 101"]  # newest first


def test_given_a_resident_when_they_open_their_tickets_then_the_place_shows_estate_building_entrance_dwelling(
        client, desk):
    desk.submit(description="卫生间下水道堵塞")
    client.force_login(desk.user("resident_a"))

    assert place_cells(client) == ["祥和苑 1栋 1单元 101"]


def test_given_more_tickets_in_more_places_when_the_pool_is_opened_then_it_takes_the_same_number_of_queries(
        client, desk):
    w = desk.world
    desk.submit(description="第一张")
    client.force_login(desk.user("staff_a"))
    place_cells(client)  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert len(place_cells(client)) == 1
    system = Actor.system("test")
    for n in range(2, 8):
        dwelling = create_place(actor=system, kind="dwelling", parent=w.entrance_a, name=f"{n}01")
        desk.submit(by="staff_a", place=dwelling, channel="phone", description=f"第{n}张")
    desk.submit(by="staff_a", place=w.building_a, channel="phone", description="楼栋")

    with CaptureQueriesContext(connection) as many:
        cells = place_cells(client)

    assert len(cells) == 8
    assert cells[1:7] == [f"祥和苑 1栋 1单元 {n}01" for n in range(7, 1, -1)]
    assert len(many.captured_queries) == len(one.captured_queries)


def test_given_the_list_query_then_each_row_carries_its_label_without_another_query(desk, django_assert_num_queries):
    w = desk.world
    desk.submit(description="厨房水管漏水")
    desk.submit(by="staff_a", place=w.entrance_a, channel="phone", description="单元门坏了")

    with django_assert_num_queries(1):
        rows = list(queries.with_list_relations(Ticket.objects.order_by("pk")))
        labels = [(t.place_label, t.place.name, t.category.name) for t in rows]

    assert labels == [("祥和苑 1栋 1单元 101", "101", "环境卫生"), ("祥和苑 1栋 1单元", "1单元", "环境卫生")]


def test_given_staff_assigned_a_ticket_outside_their_area_when_they_list_then_it_is_in_their_pool(desk):
    mine = desk.submit(by="staff_b", place=desk.world.dwelling_b, channel="phone", description="桂花苑的")
    elsewhere = desk.submit(description="祥和苑的")
    staff_b = desk.actor("staff_b")
    assert [t.pk for t in queries.search_tickets(staff_b, queries.TicketFilter())] == [mine.pk]

    Ticket.objects.filter(pk=elsewhere.pk).update(assignee=desk.user("staff_b"))  # e.g. kept after a transfer
    pool = queries.search_tickets(staff_b, queries.TicketFilter())

    assert [t.pk for t in pool] == [elsewhere.pk, mine.pk]
    assert pool.count() == 2
    assert set(queries.visible_tickets(staff_b).values_list("pk", flat=True)) == {mine.pk, elsewhere.pk}


def test_given_a_district_admin_of_the_whole_platform_when_they_list_then_they_see_every_ticket(desk):
    from linli.core.permissions import Role
    from linli.core.testing import make_user

    a = desk.submit(description="一")
    b = desk.submit(by="staff_b", place=desk.world.dwelling_b, channel="phone", description="二")
    everywhere = Actor.for_user(make_user("global_admin", Role.DISTRICT_ADMIN, None))

    assert [t.pk for t in queries.search_tickets(everywhere, queries.TicketFilter())] == [b.pk, a.pk]
    assert queries.visible_tickets(everywhere).count() == 2


def test_given_more_tickets_than_the_bound_when_counted_then_the_count_says_more(desk, monkeypatch):
    for n in range(4):
        desk.submit(description=f"第{n}张")
    pool = queries.search_tickets(desk.actor("staff_a"), queries.TicketFilter())
    assert pool.count() == 4
    monkeypatch.setattr(queries, "COUNT_EXACT_UP_TO", 3)

    assert pool.count() == 4  # 3 + 1: more than 3
    assert queries.search_tickets(desk.actor("staff_a"), queries.TicketFilter(q="第1张")).count() == 1
    monkeypatch.setattr(queries, "COUNT_EXACT_UP_TO", 2)
    assert pool.count() == 3
