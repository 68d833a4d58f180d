"""KPIs grouped by place: one row per child place over the tickets inside its subtree (tickets at the parent
itself count only in the total), whichever way the rows are computed (one grouped query under a place, the
total for an actor's single top place, one query per top place otherwise)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.permissions import Role
from linli.places.actions import create_place
from linli.tickets import actions, kpis

from .conftest import T0

pytestmark = pytest.mark.django_db

APRIL = dict(since=dt.date(2026, 4, 1), until=dt.date(2026, 4, 30))
M = dt.timedelta(minutes=1)


def figures(row: kpis.KpiRow) -> tuple:
    return (row.key, row.label, row.tickets, row.rejected, row.resolved, row.closed, row.on_time, row.rated,
            row.satisfied, row.reopened, row.complaints, row.complaints_closed, row.median_response_minutes,
            row.median_resolution_hours)


@pytest.fixture
def spread(desk):
    """Community A: two tickets at the dwelling (one resolved after 3 h, answered after 10 and 30 min), one at
    the estate, one at the community itself; community B: one; a second, empty estate in A."""
    a = desk.actor
    w = desk.world
    first = desk.submit(code="parking", now=T0)
    first = actions.accept_ticket(actor=a("staff_a"), ticket=first, now=T0 + 10 * M)
    first = actions.assign_ticket(actor=a("staff_a"), ticket=first, assignee_id=desk.user("property_a").pk,
                                  now=T0 + 10 * M)
    first = actions.start_ticket(actor=a("property_a"), ticket=first, now=T0 + 20 * M)
    actions.resolve_ticket(actor=a("property_a"), ticket=first, note="好了", now=T0 + 180 * M)
    second = desk.submit(code="parking", now=T0)
    actions.accept_ticket(actor=a("staff_a"), ticket=second, now=T0 + 30 * M)
    desk.submit(by="staff_a", place=w.estate_a, channel="walk_in", now=T0)
    desk.submit(by="staff_a", place=w.community_a, channel="grid_patrol", code="noise", kind="complaint", now=T0)
    desk.submit(by="staff_b", place=w.dwelling_b, channel="phone", code="noise", now=T0)
    empty = create_place(actor=Actor.system("test"), kind="estate", parent=w.community_a, name="新安苑")
    return desk, empty


def test_given_a_community_when_grouped_by_place_then_estates_are_rows_and_its_own_tickets_only_in_the_total(spread):
    desk, empty = spread
    w = desk.world
    table = kpis.kpi_table(desk.actor("staff_a"), kpis.KpiFilter(place_id=w.community_a.pk, **APRIL), "place")

    assert [figures(r) for r in table.rows] == [
        (str(empty.pk), "新安苑", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None),
        # answered after 10 and 30 min (median 20), resolved after 3 h on time (parking: 60 min, 48 h)
        (str(w.estate_a.pk), "祥和苑", 3, 0, 1, 0, 1, 0, 0, 0, 0, 0, 20.0, 3.0),
    ]
    assert (table.total.tickets, table.total.complaints) == (4, 1)


def test_given_the_street_when_grouped_by_place_then_each_community_row_is_its_own_total(spread):
    desk, _empty = spread
    w = desk.world
    street = kpis.kpi_table(desk.actor("street_admin"), kpis.KpiFilter(place_id=w.street.pk, **APRIL), "place")
    a = kpis.kpi_table(desk.actor("street_admin"), kpis.KpiFilter(place_id=w.community_a.pk, **APRIL)).total
    b = kpis.kpi_table(desk.actor("street_admin"), kpis.KpiFilter(place_id=w.community_b.pk, **APRIL)).total

    rows = {r.label: figures(r)[2:] for r in street.rows}
    assert rows == {"梅园社区": figures(a)[2:], "桂花社区": figures(b)[2:]}
    assert (rows["梅园社区"][0], rows["桂花社区"][0]) == (4, 1)
    assert street.total.tickets == 5


def test_given_no_place_when_an_actor_with_one_area_groups_by_place_then_the_one_row_is_the_total(spread):
    desk, _empty = spread
    table = kpis.kpi_table(desk.actor("district_admin"), kpis.KpiFilter(**APRIL), "place")

    assert [figures(r) for r in table.rows] == [(str(desk.world.district.pk), "咸安区") + figures(table.total)[2:]]
    assert table.total.tickets == 5


def test_given_no_place_when_an_actor_with_two_areas_groups_by_place_then_each_area_is_a_row(spread):
    desk, _empty = spread
    w = desk.world
    RoleAssignment.objects.create(user=desk.user("staff_a"), role=Role.COMMUNITY_STAFF, place=w.community_b,
                                  place_path=w.community_b.path)
    fresh = get_user_model().objects.get(pk=desk.user("staff_a").pk)  # not the cached actor of the fixture
    table = kpis.kpi_table(Actor.for_user(fresh), kpis.KpiFilter(**APRIL), "place")

    assert sorted((r.label, r.tickets, r.resolved) for r in table.rows) == [("桂花社区", 1, 0), ("梅园社区", 4, 1)]
    assert table.total.tickets == 5


def test_given_the_whole_platform_when_grouped_by_place_then_each_top_place_is_a_row(spread):
    desk, _empty = spread
    other = create_place(actor=Actor.system("test"), kind="district", parent=None, name="通山县", code="421224")
    table = kpis.kpi_table(Actor.system("kpi"), kpis.KpiFilter(**APRIL), "place")

    rows = {r.key: (r.label, r.tickets) for r in table.rows}
    assert rows == {str(desk.world.district.pk): ("咸安区", 5), str(other.pk): ("通山县", 0)}


@pytest.mark.parametrize("group", ["category", "month", "assignee", "kind", "organisation", "place"])
def test_given_a_period_without_tickets_when_grouped_then_no_group_has_tickets_and_the_total_is_zero(spread, group):
    desk, _empty = spread
    table = kpis.kpi_table(desk.actor("staff_a"), kpis.KpiFilter(since=dt.date(2026, 5, 1), until=dt.date(2026, 5, 31),
                                                                place_id=desk.world.community_a.pk), group)

    assert [r.tickets for r in table.rows] == ([0, 0] if group == "place" else [])
    assert (table.total.tickets, table.total.median_response_minutes, table.total.on_time_rate) == (0, None, None)


@pytest.mark.parametrize("group", ["category", "month", "assignee", "kind", "organisation"])
def test_given_the_spread_when_grouped_then_the_groups_add_up_to_the_total(spread, group):
    desk, _empty = spread
    table = kpis.kpi_table(desk.actor("street_admin"), kpis.KpiFilter(**APRIL), group)
    alone = kpis.kpi_table(desk.actor("street_admin"), kpis.KpiFilter(**APRIL), "total").total

    assert sum(r.tickets for r in table.rows) == table.total.tickets == 5
    assert figures(table.total) == figures(alone)
