"""The ticket KPI page in Chromium: community staff open it grouped by category and the ECharts charts draw the
very numbers of the table (rates against their target lines, median times, the trend), on a desktop and on a
phone, following the window's width; every request stays on the local server (ECharts comes from /static/)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.testing import PASSWORD, make_world
from linli.tickets import actions
from linli.tickets.models import Category

from .conftest import Screens, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
LOCAL_HOSTS = {"localhost", "127.0.0.1"}


def seed_tickets() -> None:
    """Three tickets of community A: public facilities closed on time and rated 5, parking resolved after its
    response deadline (not on time), an open noise complaint. One ticket of community B, never shown to A."""
    world = make_world()
    system = Actor.system("browser-setup")
    company = actions.create_organisation(actor=system, kind="property_company", name="祥和物业", place=world.estate_a)
    committee = actions.create_organisation(actor=system, kind="community_committee", name="梅园社区居委会",
                                            place=world.community_a)
    actions.create_organisation(actor=system, kind="community_committee", name="桂花社区居委会", place=world.community_b)
    for org, name in ((company, "property_a"), (committee, "staff_a")):
        actions.add_member(actor=system, organisation=org,
                           assignment=RoleAssignment.objects.get(user=world.users[name], active=True))
    resident, staff = world.actor("resident_a"), world.actor("property_a")
    start = timezone.now() - dt.timedelta(days=3)

    def work(code: str, kind: str, respond_after: dt.timedelta):
        ticket = actions.submit_ticket(actor=resident, kind=kind, category=Category.objects.get(place_path="", code=code),
                                       place=world.dwelling_a, description=f"{code} 的问题", now=start)
        ticket = actions.accept_ticket(actor=staff, ticket=ticket, now=start + respond_after)
        ticket = actions.assign_ticket(actor=staff, ticket=ticket, assignee_id=world.users["property_a"].pk,
                                       now=start + respond_after)
        ticket = actions.start_ticket(actor=staff, ticket=ticket, now=start + respond_after)
        return actions.resolve_ticket(actor=staff, ticket=ticket, note="已处理", now=start + dt.timedelta(hours=5))

    done = work("public-facilities", "repair", dt.timedelta(minutes=10))
    done = actions.confirm_ticket(actor=resident, ticket=done, now=start + dt.timedelta(hours=6))
    actions.rate_ticket(actor=resident, ticket=done, overall=5, speed=5, attitude=5)
    work("parking", "repair", dt.timedelta(hours=2))  # responded after 60 minutes: not on time
    actions.submit_ticket(actor=resident, kind="complaint", category=Category.objects.get(place_path="", code="noise"),
                          place=world.dwelling_a, description="夜间噪音", now=start)
    actions.submit_ticket(actor=world.actor("staff_b"), kind="repair", channel="phone", place=world.dwelling_b,
                          category=Category.objects.get(place_path="", code="noise"), description="桂花的工单")


def watch_hosts(page) -> list[str]:
    hosts: list[str] = []
    page.on("request", lambda r: urlparse(r.url).scheme in ("http", "https") and hosts.append(urlparse(r.url).hostname))
    return hosts


def table_row(page, kpi: str) -> list[str]:
    return page.locator(f"#kpi-table tr[data-kpi={kpi}] td").all_inner_texts()[2:]


def numbers(cells: list[str]) -> list[float | None]:
    return [None if c.strip() == "—" else float(c.strip().rstrip("%")) for c in cells]


def series(page, selector: str) -> list[dict]:
    """The series of the ECharts instance drawn in ``selector``: its name, data and target line."""
    return page.evaluate("""(selector) => {
        const chart = echarts.getInstanceByDom(document.querySelector(selector));
        if (!chart) return null;
        return chart.getOption().series.map(s => ({
            name: s.name, type: s.type,
            data: s.data.map(v => (v === null || v === undefined || v === '-') ? null : v),
            target: s.markLine && s.markLine.data.length ? (s.markLine.data[0].xAxis ?? s.markLine.data[0].yAxis) : null,
        }));
    }""", selector)


def chart_width(page, selector: str) -> int:
    return page.evaluate("(s) => echarts.getInstanceByDom(document.querySelector(s)).getWidth()", selector)


def test_staff_see_the_kpi_tables_numbers_drawn_as_charts_on_a_desktop_and_a_phone(open_page, live_server):
    seed_tickets()
    screens = Screens("kpi-charts")
    url = f"{live_server.url}/tickets/kpis/?group=category"

    page = open_page(width=1366, height=900)
    hosts = watch_hosts(page)
    log_in(page, live_server.url, "staff_a", PASSWORD)
    page.goto(url)
    page.wait_for_selector("[data-kpi-chart=rate][data-name=on_time_rate] canvas")
    headers = page.locator("#kpi-table thead th").all_inner_texts()[2:]
    assert headers == ["公共设施", "停车", "噪音", "合计"]
    assert table_row(page, "tickets") == ["1", "1", "1", "3"]

    on_time = series(page, "[data-kpi-chart=rate][data-name=on_time_rate]")
    assert on_time[0]["data"] == numbers(table_row(page, "on_time_rate")) == [100.0, 0.0, None, 50.0]
    assert on_time[0]["target"] == 100.0  # the dashed target line
    for name in ("handling_rate", "complaint_handling_rate", "satisfaction_rate", "reopen_rate"):
        drawn = series(page, f"[data-kpi-chart=rate][data-name={name}]")
        assert drawn[0]["data"] == numbers(table_row(page, name)), name
    assert series(page, "[data-kpi-chart=rate][data-name=satisfaction_rate]")[0]["target"] == 95.0
    for name in ("median_response_minutes", "median_resolution_hours"):
        drawn = series(page, f"[data-kpi-chart=median][data-name={name}]")
        assert drawn[0]["data"] == numbers(table_row(page, name)), name
    assert series(page, "[data-kpi-chart=median][data-name=median_response_minutes]")[0]["data"][:2] == [10.0, 120.0]

    trend = series(page, "[data-kpi-chart=trend]")
    assert [s["name"] for s in trend] == ["工单数", "及时率", "满意率"]
    assert sum(trend[0]["data"]) == 3 and trend[1]["target"] == 100.0
    wide = chart_width(page, "[data-kpi-chart=rate][data-name=on_time_rate]")
    screens.shot(page, "desktop")
    assert page.js_errors == []

    phone = open_page(width=390, height=844, language="en")
    hosts += watch_hosts(phone)
    log_in(phone, live_server.url, "staff_a", PASSWORD)
    phone.goto(url)
    phone.wait_for_selector("[data-kpi-chart=trend] canvas")
    narrow = chart_width(phone, "[data-kpi-chart=rate][data-name=on_time_rate]")
    assert 200 < narrow <= 390 < wide
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    drawn = series(phone, "[data-kpi-chart=rate][data-name=on_time_rate]")
    assert drawn[0]["data"] == numbers(table_row(phone, "on_time_rate"))
    assert [s["name"] for s in series(phone, "[data-kpi-chart=trend]")] == ["Tickets", "On-time rate",
                                                                            "Satisfaction rate"]
    screens.shot(phone, "phone")
    phone.set_viewport_size({"width": 844, "height": 390})  # turned sideways: the charts follow
    phone.wait_for_function("(w) => echarts.getInstanceByDom(document.querySelector("
                            "'[data-kpi-chart=rate][data-name=on_time_rate]')).getWidth() > w", arg=narrow)
    screens.shot(phone, "phone-landscape")
    assert phone.js_errors == []

    assert hosts and set(hosts) <= LOCAL_HOSTS, sorted(set(hosts) - LOCAL_HOSTS)
