"""Ticket set-up on a phone in Chromium: community staff find 工单设置 in the menu, add a category (a bad deadline
is refused naming the field, nothing saved), put a member off duty, and record a due return visit."""

from __future__ import annotations

import pytest

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.testing import PASSWORD, make_world
from linli.tickets import actions
from linli.tickets.models import Category, ReturnVisit

from .conftest import Screens, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def seed() -> ReturnVisit:
    world = make_world()
    system = Actor.system("browser-setup")
    company = actions.create_organisation(actor=system, kind="property_company", name="祥和物业", place=world.estate_a)
    committee = actions.create_organisation(actor=system, kind="community_committee", name="梅园社区居委会",
                                            place=world.community_a)
    for org, name in ((company, "property_a"), (committee, "staff_a")):
        actions.add_member(actor=system, organisation=org,
                           assignment=RoleAssignment.objects.get(user=world.users[name], active=True))
    resident, staff = world.actor("resident_a"), world.actor("property_a")
    ticket = actions.submit_ticket(actor=resident, kind="repair", place=world.dwelling_a, description="楼道灯不亮",
                                   category=Category.objects.get(place_path="", code="public-facilities"))
    ticket = actions.accept_ticket(actor=staff, ticket=ticket)
    ticket = actions.assign_ticket(actor=staff, ticket=ticket, assignee_id=world.users["property_a"].pk)
    ticket = actions.start_ticket(actor=staff, ticket=ticket)
    ticket = actions.resolve_ticket(actor=staff, ticket=ticket, note="已更换灯泡")
    actions.confirm_ticket(actor=resident, ticket=ticket)
    return ReturnVisit.objects.get(ticket=ticket)


def test_on_a_phone_staff_set_up_a_category_a_duty_roster_and_record_a_return_visit(open_page, live_server):
    visit = seed()
    screens = Screens("ticket-setup")
    page = open_page(width=390, height=844)
    log_in(page, live_server.url, "staff_a", PASSWORD)

    page.click("[data-nav-toggle]")
    page.click("#sidenav >> text=工单设置")
    page.click("text=添加类别")
    page.select_option("#id_place", label="梅园社区（社区）")
    page.fill("#id_code", "elevator")
    page.fill("#id_name", "电梯")
    page.fill("#id_resolution_hours", "0")
    page.click("#category-form button[type=submit]")
    summary = page.locator("#form-errors")
    assert "办结时限（小时）：办结时限应为1到8760之间的整数" in summary.inner_text()
    assert not Category.objects.filter(code="elevator").exists()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screens.shot(page, "category-refused")
    page.fill("#id_resolution_hours", "12")
    page.click("#category-form button[type=submit]")
    page.wait_for_selector("tr[data-category=elevator]")
    assert Category.objects.get(code="elevator").resolution_hours == 12
    screens.shot(page, "category-added")

    page.click("ul.subnav >> text=处理机构")
    page.click("#organisation-list >> text=祥和物业 >> nth=0")
    row = page.locator("tr[data-member=property_a]")
    assert "在岗" in row.inner_text()
    row.locator("text=设为离岗").click()
    page.wait_for_selector("tr[data-member=property_a] >> text=设为在岗")
    assert not RoleAssignment.objects.get(user__username="property_a").on_duty
    assert "当前无人在岗" in page.locator("#members").inner_text()
    screens.shot(page, "off-duty")

    page.click("[data-nav-toggle]")
    page.click("#sidenav >> text=回访")
    page.click(f"tr[data-visit='{visit.pk}'] >> text=记录回访")
    page.click("#visit-form button[type=submit]")
    assert "回访结果：请选择回访结果" in page.locator("#form-errors").inner_text()
    page.check("input[name=outcome][value=satisfied]")
    page.fill("#id_note", "居民说灯已经亮了")
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector("#visit-list")
    visit.refresh_from_db()
    assert (visit.status, visit.outcome, visit.note) == ("done", "satisfied", "居民说灯已经亮了")
    screens.shot(page, "visit-recorded")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.js_errors == []
