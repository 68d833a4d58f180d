"""KPI figures on a hand-built set of tickets, with the values worked out by hand, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from openpyxl import load_workbook

from linli.tickets import actions, kpis

from .conftest import T0

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
PEOPLE = [("—", 2, 0), ("property_a", 3, 3)]  # t3 and t4 were never assigned
APRIL = kpis.KpiFilter(since=dt.date(2026, 4, 1), until=dt.date(2026, 4, 30))


def _handled(desk, code, *, respond, resolve=None, close=True, rate=None, kind="repair", reopen=False):
    a = desk.actor
    t = desk.submit(code=code, kind=kind, now=T0)
    t = actions.accept_ticket(actor=a("staff_a"), ticket=t, now=T0 + respond)
    if resolve is None:
        return t
    if t.status == "accepted":
        t = actions.assign_ticket(actor=a("staff_a"), ticket=t, assignee_id=desk.user("property_a").pk, now=T0 + respond)
    t = actions.start_ticket(actor=a(t.assignee.username), ticket=t, now=T0 + respond)
    t = actions.resolve_ticket(actor=a(t.assignee.username), ticket=t, note="好了", now=T0 + resolve)
    if close:
        t = actions.confirm_ticket(actor=a("resident_a"), ticket=t, now=T0 + resolve + M)
    if rate:
        actions.rate_ticket(actor=a("resident_a"), ticket=t, overall=rate, speed=rate, attitude=rate)
    if reopen:
        t = actions.reopen_ticket(actor=a("resident_a"), ticket=t, reason="又坏了", now=T0 + resolve + H)
    return t


@pytest.fixture
def book(desk):
    """t1 on time and rated 5; t2 answered late, rated 3; t3 a complaint still open; t4 rejected; t5 withdrawn
    (left out); t6 resolved on time then reopened; t7 in community B."""
    a = desk.actor
    _handled(desk, "parking", respond=10 * M, resolve=2 * H, rate=5)
    _handled(desk, "parking", respond=90 * M, resolve=4 * H, rate=3)
    _handled(desk, "noise", respond=20 * M, kind="complaint")
    actions.reject_ticket(actor=a("staff_a"), ticket=desk.submit(now=T0), reason="重复", now=T0 + 30 * M)
    actions.withdraw_ticket(actor=a("resident_a"), ticket=desk.submit(now=T0), now=T0 + M)
    _handled(desk, "parking", respond=40 * M, resolve=H, reopen=True)
    actions.submit_ticket(actor=a("staff_b"), kind="repair", category=desk.category("noise"),
                          place=desk.world.dwelling_b, description="夜间施工", channel="phone", now=T0)
    return desk


def test_given_the_hand_built_set_when_totalled_for_community_a_then_every_figure_is_the_hand_worked_one(book):
    table = kpis.kpi_table(book.actor("staff_a"), APRIL, "total")
    t = table.total
    assert (t.tickets, t.rejected, t.resolved, t.closed, t.on_time, t.rated, t.satisfied, t.reopened,
            t.complaints, t.complaints_closed) == (5, 1, 3, 2, 2, 2, 1, 1, 1, 0)
    assert (t.on_time_rate, t.handling_rate, t.complaint_handling_rate, t.satisfaction_rate, t.reopen_rate) == (
        0.6667, 0.5, 0.0, 0.5, 0.3333)
    # responses 600, 1200, 1800, 2400, 5400 s -> 30 min; resolutions 3600, 7200, 14400 s -> 2 h
    assert (t.median_response_minutes, t.median_resolution_hours) == (30.0, 2.0)
    assert table.targets == {"on_time_rate": 1.0, "complaint_handling_rate": 1.0, "satisfaction_rate": 0.95}


def test_given_the_set_when_grouped_by_category_then_each_category_has_its_own_figures(book):
    rows = {r.label: r for r in kpis.kpi_table(book.actor("staff_a"), APRIL, "category").rows}
    assert sorted(rows) == ["停车", "噪音", "环境卫生"]
    parking = rows["停车"]
    assert (parking.tickets, parking.resolved, parking.on_time, parking.median_response_minutes,
            parking.median_resolution_hours) == (3, 3, 2, 40.0, 2.0)
    assert (rows["噪音"].complaints, rows["环境卫生"].rejected) == (1, 1)


def test_given_an_english_page_when_grouped_by_category_then_categories_and_total_are_named_in_english(book):
    with translation.override("en"):
        table = kpis.kpi_table(book.actor("staff_a"), APRIL, "category")
    assert sorted(r.label for r in table.rows) == ["noise", "parking", "sanitation"]
    assert table.total.label == "Total"
    assert kpis.kpi_table(book.actor("staff_a"), APRIL, "category").total.label == "合计"


def test_given_the_street_when_grouped_by_place_then_each_community_is_a_row_and_b_is_counted(book):
    table = kpis.kpi_table(book.actor("street_admin"), kpis.KpiFilter(since=APRIL.since, until=APRIL.until,
                                                                       place_id=book.world.street.pk), "place")
    assert sorted((r.label, r.tickets) for r in table.rows) == [("桂花社区", 1), ("梅园社区", 5)]
    assert table.total.tickets == 6


def test_given_other_periods_and_groups_when_computed_then_figures_follow(book):
    may = kpis.kpi_table(book.actor("staff_a"), kpis.KpiFilter(since=dt.date(2026, 5, 1), until=dt.date(2026, 5, 31)))
    assert may.total.tickets == 0 and may.total.on_time_rate is None
    months = kpis.kpi_table(book.actor("staff_a"), APRIL, "month").rows
    assert [(r.key, r.tickets) for r in months] == [("2026-04", 5)]
    people = [(r.label, r.tickets, r.resolved) for r in kpis.kpi_table(book.actor("staff_a"), APRIL, "assignee").rows]
    assert people == PEOPLE


def test_given_the_table_when_exported_then_the_workbook_holds_the_rows_total_and_targets(book):
    table = kpis.kpi_table(book.actor("staff_a"), APRIL, "category")
    wb = load_workbook(__import__("io").BytesIO(kpis.kpi_xlsx(table)))
    sheet = wb["KPI"]
    assert sheet["A1"].value == "统计期间 2026-04-01 至 2026-04-30"
    assert sheet["A2"].value == "分组" and sheet["L2"].value == "及时率"
    last = sheet.max_row
    assert sheet.cell(row=last, column=1).value == "合计" and sheet.cell(row=last, column=2).value == 5
    assert [[c.value for c in r] for r in wb["目标"].iter_rows(min_row=2)] == [
        ["及时率", 1.0], ["投诉办结率", 1.0], ["满意率", 0.95]]
