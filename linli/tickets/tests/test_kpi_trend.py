"""The KPI table with its trend computed in the same queries (the KPI page): the trend is the same as the one
computed alone, per day, week and month, its buckets add up to the total, and every group's medians are those
of the group's tickets alone (on PostgreSQL the medians come from a query of their own)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from linli.tickets import actions, kpi_charts, kpis

from .conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
SPRING = kpis.KpiFilter(since=dt.date(2026, 3, 20), until=dt.date(2026, 5, 10))


@pytest.fixture
def spread(desk):
    """Tickets on five days over March to May, answered and resolved after different times, two rated."""
    a = desk.actor
    plan = [(-30, "parking", 10, 3, 5), (-30, "noise", 50, 5, None), (0, "parking", 20, 2, 2), (1, "noise", 35, None, None),
            (8, "parking", 15, 9, 4), (14, "sanitation", 70, None, None), (14, "parking", 5, 1, None)]
    for days, code, respond, resolve, rate in plan:
        now = T0 + dt.timedelta(days=days)
        t = actions.accept_ticket(actor=a("staff_a"), ticket=desk.submit(code=code, now=now), now=now + respond * M)
        if resolve is None:
            continue
        if t.status == "accepted":
            who = "property_a" if t.organisation_id == desk.property_a.pk else "grid_a"
            t = actions.assign_ticket(actor=a("staff_a"), ticket=t, assignee_id=desk.user(who).pk,
                                      now=now + respond * M)
        t = actions.start_ticket(actor=a(t.assignee.username), ticket=t, now=now + respond * M)
        t = actions.resolve_ticket(actor=a(t.assignee.username), ticket=t, note="好了", now=now + resolve * H)
        t = actions.confirm_ticket(actor=a("resident_a"), ticket=t, now=now + resolve * H + M)
        if rate:
            actions.rate_ticket(actor=a("resident_a"), ticket=t, overall=rate, speed=rate, attitude=rate)
    return desk


@pytest.mark.parametrize("group", ["total", "category", "place", "month", "assignee"])
def test_given_tickets_over_months_when_the_table_brings_its_trend_then_it_is_the_trend_computed_alone(
        spread, group):
    actor = spread.actor("staff_a")
    table = kpis.kpi_table(actor, SPRING, group, trend=kpi_charts.trend_unit(SPRING.since, SPRING.until))
    along = kpi_charts.trend_of(table)
    alone = kpi_charts.kpi_trend(actor, SPRING, SPRING.since, SPRING.until)
    assert along.unit == "week"  # 52 days: per week
    assert along.starts == alone.starts and along.starts[0] == dt.date(2026, 3, 16)  # the Monday before
    fields = ["tickets", "rejected", "resolved", "closed", "on_time", "rated", "satisfied"]
    assert [[getattr(r, f) for f in fields] for r in along.rows] == [[getattr(r, f) for f in fields] for r in alone.rows]
    assert sum(r.tickets for r in along.rows) == table.total.tickets == 7
    assert [r.tickets for r in along.rows if r.tickets] == [2, 2, 1, 2]


@pytest.mark.parametrize("unit", ["day", "month"])
def test_given_a_trend_per_day_or_month_then_its_buckets_are_the_days_or_months_of_the_tickets(spread, unit):
    table = kpis.kpi_table(spread.actor("staff_a"), SPRING, "category", trend=unit)
    found = {day: row["tickets"] for day, row in table.trend.items() if row["tickets"]}
    if unit == "day":
        assert found == {dt.date(2026, 3, 24): 2, dt.date(2026, 4, 23): 1, dt.date(2026, 4, 24): 1,
                         dt.date(2026, 5, 1): 1, dt.date(2026, 5, 7): 2}
    else:
        assert found == {dt.date(2026, 3, 1): 2, dt.date(2026, 4, 1): 2, dt.date(2026, 5, 1): 3}


def test_given_groups_when_computed_together_then_each_groups_medians_are_its_own_tickets_medians(spread):
    actor = spread.actor("staff_a")
    table = kpis.kpi_table(actor, SPRING, "category", trend="week")
    assert len(table.rows) == 3
    for row in table.rows:
        alone = kpis.kpi_table(actor, dataclasses.replace(SPRING, category_id=int(row.key))).total
        assert (row.tickets, row.median_response_minutes, row.median_resolution_hours) == (
            alone.tickets, alone.median_response_minutes, alone.median_resolution_hours)
    parking = next(r for r in table.rows if r.label == "停车管理" or r.tickets == 4)
    assert (parking.median_response_minutes, parking.median_resolution_hours) == (12.5, 2.5)  # (10+15)/2, (2+3)/2
    assert (table.total.median_response_minutes, table.total.median_resolution_hours) == (20.0, 3.0)


def test_given_tickets_over_three_months_when_grouped_by_month_then_each_month_is_a_row_in_order(spread):
    rows = kpis.kpi_table(spread.actor("staff_a"), SPRING, "month", trend="week").rows
    assert [(r.key, r.label, r.tickets, r.resolved) for r in rows] == [
        ("2026-03", "2026-03", 2, 2), ("2026-04", "2026-04", 2, 1), ("2026-05", "2026-05", 3, 2)]
