"""The ticket set-up pages (/tickets/manage/): staff add and change categories, organisations and their members
(who is on duty for round-robin), and record return visits; refused input names the field and the reason in
Chinese and English and writes nothing; other communities' rows are 404, rows above the user's area 403.
And the KPI page's chart data: the same numbers as the table it shows."""

import datetime as dt
import json
import re

import pytest
from django.conf import settings
from django.urls import reverse

from linli.accounts.models import RoleAssignment
from linli.core.models import AuditEntry
from linli.core.permissions import Role
from linli.core.testing import make_user
from linli.tickets import actions, queries
from linli.tickets.models import Category, Membership, Organisation, ReturnVisit

from .conftest import T0, counts

pytestmark = pytest.mark.django_db


def login(client, desk, name: str, language: str = "zh-hans"):
    client.force_login(desk.user(name))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def body(response) -> str:
    return response.content.decode()


def written() -> dict:
    """Rows of every table the set-up pages may write."""
    return {**counts(), "Category": Category.objects.count(), "Organisation": Organisation.objects.count(),
            "Membership": Membership.objects.filter(active=True).count(),
            "on_duty": RoleAssignment.objects.filter(on_duty=True).count()}


CATEGORY = {"code": "elevator", "name": "电梯", "name_en": "lifts", "dispatch_mode": "round_robin",
            "organisation_kind": "property_company", "response_minutes": "20", "resolution_hours": "12",
            "remind_before_minutes": "5", "reopen_window_days": "3", "sort": "5", "return_visit": "on",
            "active": "on"}


# ---------------------------------------------------------------------------------------------- categories

def test_given_community_staff_when_they_add_a_category_then_it_is_theirs_and_usable_in_their_community(client, desk):
    login(client, desk, "staff_a")
    page = client.get(reverse("tickets:manage_categories"))
    assert page.status_code == 200
    assert 'data-category="water-power"' in body(page) and "由上级设置" in body(page)  # a platform one: not theirs
    form = client.get(reverse("tickets:manage_category_new"))
    options = re.findall(r'<option value="(\d+)"', body(form))
    assert {int(o) for o in options} == {desk.world.community_a.pk, desk.world.estate_a.pk}  # their area only

    response = client.post(reverse("tickets:manage_category_new"), {**CATEGORY, "place": desk.world.community_a.pk})
    assert response.status_code == 302
    category = Category.objects.get(code="elevator")
    assert (category.place_id, category.place_path, category.name, category.name_en, category.dispatch_mode,
            category.organisation_kind, category.response_minutes, category.resolution_hours,
            category.remind_before_minutes, category.reopen_window_days, category.sort, category.return_visit,
            category.active) == (desk.world.community_a.pk, desk.world.community_a.path, "电梯", "lifts", "round_robin",
                                 "property_company", 20, 12, 5, 3, 5, True, True)
    assert AuditEntry.objects.filter(action="ticket.category.create", target_id=str(category.pk)).count() == 1
    listed = body(client.get(reverse("tickets:manage_categories")))
    assert 'data-category="elevator"' in listed and reverse("tickets:manage_category", args=[category.pk]) in listed
    assert category in queries.categories_at(desk.world.dwelling_a)
    assert category not in queries.categories_at(desk.world.dwelling_b)


def test_given_open_tickets_then_the_category_list_counts_only_those_of_the_users_pool(client, desk):
    desk.submit(code="noise", kind="complaint", description="梅园的噪音")
    desk.submit(by="staff_b", code="noise", place=desk.world.estate_b, channel="phone", description="桂花的噪音")
    desk.submit(by="staff_b", code="noise", place=desk.world.estate_b, channel="phone", description="桂花的噪音二")
    html = body(login(client, desk, "staff_a").get(reverse("tickets:manage_categories")))
    row = re.search(r'<tr data-category="noise">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-label="在办工单">(\d+)</td>', row).group(1) == "1"
    html = body(login(client, desk, "street_admin").get(reverse("tickets:manage_categories")))
    row = re.search(r'<tr data-category="noise">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-label="在办工单">(\d+)</td>', row).group(1) == "3"


def test_given_bad_numbers_and_no_name_then_each_field_says_why_in_chinese_and_english_and_nothing_is_written(
        client, desk):
    login(client, desk, "staff_a")
    before = written()
    bad = {**CATEGORY, "place": desk.world.community_a.pk, "name": "  ", "resolution_hours": "0",
           "response_minutes": "abc"}
    page = client.post(reverse("tickets:manage_category_new"), bad)
    assert page.status_code == 422
    html = body(page)
    assert "响应时限（分钟）</a>：应为整数" in html
    assert written() == before  # the form stops before the action on a number that is no number

    page = client.post(reverse("tickets:manage_category_new"), {**bad, "response_minutes": "20"})
    html = body(page)
    assert page.status_code == 422
    assert "办结时限（小时）</a>：办结时限应为1到8760之间的整数" in html
    assert "名称</a>：名称不能为空" in html
    assert written() == before

    login(client, desk, "staff_a", "en")
    page = client.post(reverse("tickets:manage_category_new"), bad)
    assert page.status_code == 422 and "Response deadline (minutes)</a>: must be a whole number" in body(page)
    page = client.post(reverse("tickets:manage_category_new"), {**bad, "response_minutes": "20"})
    html = body(page)
    assert page.status_code == 422
    assert "Resolution deadline (hours)</a>: resolution_hours must be a whole number from 1 to 8760" in html
    assert "Name</a>: the name is required" in html
    assert written() == before


def test_given_a_duplicate_code_or_a_place_outside_the_area_then_the_field_says_so_and_nothing_is_written(
        client, desk):
    login(client, desk, "staff_a")
    assert client.post(reverse("tickets:manage_category_new"),
                       {**CATEGORY, "place": desk.world.community_a.pk}).status_code == 302
    before = written()
    page = client.post(reverse("tickets:manage_category_new"), {**CATEGORY, "place": desk.world.community_a.pk})
    assert page.status_code == 422 and "英文代码</a>：此范围内已有相同代码的类别" in body(page)
    page = client.post(reverse("tickets:manage_category_new"), {**CATEGORY, "place": desk.world.community_b.pk})
    assert page.status_code == 422 and "适用范围</a>：请从列表中选择" in body(page)
    page = client.post(reverse("tickets:manage_category_new"), {**CATEGORY, "place": "global"})
    assert page.status_code == 422 and "适用范围</a>：请从列表中选择" in body(page)  # only system admins
    assert written() == before


def test_given_a_system_admin_then_they_add_a_category_for_the_whole_platform(client, desk):
    client.force_login(desk.user("sysadmin"))
    assert 'value="global"' in body(client.get(reverse("tickets:manage_category_new")))
    assert client.post(reverse("tickets:manage_category_new"), {**CATEGORY, "place": "global"}).status_code == 302
    category = Category.objects.get(code="elevator")
    assert (category.place_id, category.place_path) == (None, "")


def test_given_their_own_category_when_staff_change_it_then_it_is_saved_and_audited(client, desk):
    category = actions.create_category(actor=desk.actor("staff_a"), code="lift", name="电梯", place=desk.world.community_a)
    login(client, desk, "staff_a")
    form = body(client.get(reverse("tickets:manage_category", args=[category.pk])))
    assert 'value="电梯"' in form and 'name="code"' not in form  # the code and place stay
    response = client.post(reverse("tickets:manage_category", args=[category.pk]), {
        **CATEGORY, "name": "电梯故障", "resolution_hours": "6", "active": ""})
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.code, category.name, category.resolution_hours, category.active) == ("lift", "电梯故障", 6, False)
    entry = AuditEntry.objects.get(action="ticket.category.update")
    assert entry.after["resolution_hours"] == 6 and entry.after["active"] is False
    assert category not in queries.categories_at(desk.world.dwelling_a)  # switched off


def test_given_a_bad_change_then_nothing_is_saved(client, desk):
    category = actions.create_category(actor=desk.actor("staff_a"), code="lift", name="电梯", place=desk.world.community_a)
    login(client, desk, "staff_a", "en")
    before = written()
    page = client.post(reverse("tickets:manage_category", args=[category.pk]), {**CATEGORY, "reopen_window_days": "400"})
    assert page.status_code == 422
    assert "Reopen window (days)</a>: reopen_window_days must be a whole number from 0 to 365" in body(page)
    category.refresh_from_db()
    assert (category.name, category.reopen_window_days) == ("电梯", 7)
    assert written() == before and not AuditEntry.objects.filter(action="ticket.category.update").exists()


def test_given_a_platform_category_then_community_staff_may_see_but_not_change_it(client, desk):
    category = desk.category("noise")
    login(client, desk, "staff_a")
    before = written()
    assert client.get(reverse("tickets:manage_category", args=[category.pk])).status_code == 403
    assert client.post(reverse("tickets:manage_category", args=[category.pk]),
                       {**CATEGORY, "name": "改名"}).status_code == 403
    category.refresh_from_db()
    assert category.name == "噪音" and written() == before


def test_given_another_communitys_category_then_404_and_nothing_is_written(client, desk):
    theirs = actions.create_category(actor=desk.actor("staff_b"), code="lift", name="电梯", place=desk.world.community_b)
    login(client, desk, "staff_a")
    before = written()
    assert 'data-category="lift"' not in body(client.get(reverse("tickets:manage_categories")))
    assert client.get(reverse("tickets:manage_category", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("tickets:manage_category", args=[theirs.pk]),
                       {**CATEGORY, "name": "改名"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "电梯" and written() == before


@pytest.mark.parametrize("name", ["resident_a", "grid_a", "property_a", "nobody"])
def test_given_no_configure_right_then_the_category_and_organisation_pages_are_403(client, desk, name):
    login(client, desk, name)
    before = written()
    for url in ("tickets:manage_categories", "tickets:manage_category_new", "tickets:manage_organisations",
                "tickets:manage_organisation_new"):
        assert client.get(reverse(url)).status_code == 403, url
    assert client.post(reverse("tickets:manage_category_new"),
                       {**CATEGORY, "place": desk.world.community_a.pk}).status_code == 403
    assert client.post(reverse("tickets:manage_organisation", args=[desk.property_a.pk]),
                       {"name": "改名"}).status_code in (403, 404)
    assert written() == before


def test_given_the_navigation_then_staff_find_the_set_up_and_return_visits(client, desk):
    nav = body(login(client, desk, "staff_a").get(reverse("tickets:manage_categories")))
    assert f'href="{reverse("tickets:manage_categories")}" class="current"' in nav
    assert f'href="{reverse("tickets:manage_visits")}"' in nav
    grid = body(login(client, desk, "grid_a").get(reverse("tickets:manage_visits")))
    assert f'href="{reverse("tickets:manage_visits")}" class="current"' in grid
    assert f'href="{reverse("tickets:manage_categories")}"' not in grid  # no set-up for grid workers
    assert login(client, desk, "grid_a").get(reverse("tickets:manage")).url == reverse("tickets:manage_visits")


# ------------------------------------------------------------------------------------------- organisations

def test_given_community_staff_then_they_list_the_organisations_of_their_area_and_those_above(client, desk):
    login(client, desk, "staff_a")
    html = body(client.get(reverse("tickets:manage_organisations")))
    rows = re.findall(r'data-organisation="(\d+)"', html)
    assert [int(r) for r in rows] == [desk.street_office.pk, desk.committee_a.pk, desk.property_a.pk]
    assert reverse("tickets:manage_organisation", args=[desk.property_a.pk]) in html
    assert reverse("tickets:manage_organisation", args=[desk.street_office.pk]) not in html
    assert client.get(reverse("tickets:manage_organisation", args=[desk.street_office.pk])).status_code == 403
    assert client.get(reverse("tickets:manage_organisation", args=[desk.property_b.pk])).status_code == 404


def test_given_staff_when_they_add_an_organisation_then_it_handles_new_tickets_there(client, desk):
    login(client, desk, "staff_a")
    form = body(client.get(reverse("tickets:manage_organisation_new")))
    assert {int(o) for o in re.findall(r'<option value="(\d+)"', form)} == {desk.world.community_a.pk,
                                                                              desk.world.estate_a.pk}
    response = client.post(reverse("tickets:manage_organisation_new"), {
        "kind": "property_company", "name": "梅园社区物业服务中心", "place": desk.world.community_a.pk})
    organisation = Organisation.objects.get(name="梅园社区物业服务中心")
    assert response.status_code == 302 and response.url == reverse("tickets:manage_organisation", args=[organisation.pk])
    assert (organisation.kind, organisation.place_id, organisation.active) == (
        "property_company", desk.world.community_a.pk, True)
    assert AuditEntry.objects.filter(action="ticket.organisation.create", target_id=str(organisation.pk)).exists()


def test_given_a_committee_on_an_estate_or_no_name_then_the_fields_say_why_and_nothing_is_written(client, desk):
    login(client, desk, "staff_a")
    before = written()
    page = client.post(reverse("tickets:manage_organisation_new"), {
        "kind": "community_committee", "name": "", "place": desk.world.estate_a.pk})
    html = body(page)
    assert page.status_code == 422
    assert "所在地点</a>：该类机构不能设在此类地点" in html and "名称</a>：名称不能为空且不超过120个字" in html
    login(client, desk, "staff_a", "en")
    page = client.post(reverse("tickets:manage_organisation_new"), {
        "kind": "community_committee", "name": "", "place": desk.world.estate_a.pk})
    html = body(page)
    assert "Place</a>: a community_committee is not set up on a estate" in html
    assert "Name</a>: the name is required (at most 120 characters)" in html
    page = client.post(reverse("tickets:manage_organisation_new"), {
        "kind": "property_company", "name": "外区物业", "place": desk.world.estate_b.pk})
    assert page.status_code == 422 and "Place</a>: choose from the list" in body(page)
    assert written() == before


def test_given_an_organisation_when_staff_switch_it_off_then_it_takes_no_new_tickets(client, desk):
    login(client, desk, "staff_a")
    url = reverse("tickets:manage_organisation", args=[desk.committee_a.pk])
    before = written()
    page = client.post(url, {"name": desk.committee_a.name + " ", "active": ""})  # the same name, switched off
    assert page.status_code == 302
    desk.committee_a.refresh_from_db()
    assert (desk.committee_a.name, desk.committee_a.active) == ("梅园社区居委会", False)
    assert queries.responsible_organisation(desk.world.dwelling_a, "community_committee") is None
    entry = AuditEntry.objects.get(action="ticket.organisation.update")
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})
    assert written() == {**before, "AuditEntry": before["AuditEntry"] + 1}
    assert "已停用" in body(client.get(url))


def test_given_a_name_taken_at_the_place_then_the_rename_is_refused_and_nothing_is_written(client, desk):
    other = actions.create_organisation(actor=desk.actor("staff_a"), kind="property_company", name="另一家物业",
                                        place=desk.world.estate_a)
    login(client, desk, "staff_a")
    before = written()
    page = client.post(reverse("tickets:manage_organisation", args=[other.pk]), {"name": "祥和物业", "active": "on"})
    assert page.status_code == 422 and "名称</a>：此地点已有同名机构" in body(page)
    other.refresh_from_db()
    assert other.name == "另一家物业" and written() == before


def test_given_members_when_staff_add_one_set_them_off_duty_and_remove_one_then_round_robin_follows(client, desk):
    newcomer = make_user("property_a3", Role.PROPERTY_STAFF, desk.world.estate_a, first_name="小李")
    login(client, desk, "staff_a")
    url = reverse("tickets:manage_organisation", args=[desk.property_a.pk])
    page = body(client.get(url))
    assert 'data-member="property_a"' in page and 'data-member="property_a2"' in page
    assignment = RoleAssignment.objects.get(user=newcomer, active=True)
    options = [int(o) for o in re.findall(r'<option value="(\d+)"', page)]
    assert assignment.pk in options
    assert RoleAssignment.objects.get(user=desk.user("staff_b")).pk not in options  # another community

    assert client.post(reverse("tickets:manage_member_add", args=[desk.property_a.pk]),
                       {"assignment": assignment.pk}).status_code == 302
    membership = Membership.objects.get(organisation=desk.property_a, user=newcomer, active=True)
    on_duty = [m.user.username for m in queries.on_duty_members(desk.property_a)]
    assert sorted(on_duty) == ["property_a", "property_a2", "property_a3"]

    first = desk.members[("property_a", "property_a")]
    assert client.post(reverse("tickets:manage_member_duty", args=[desk.property_a.pk, first.pk]),
                       {"on_duty": "0"}).status_code == 302
    assert client.post(reverse("tickets:manage_member_remove", args=[desk.property_a.pk, membership.pk])
                       ).status_code == 302
    assert [m.user.username for m in queries.on_duty_members(desk.property_a)] == ["property_a2"]
    page = body(client.get(url))
    assert 'data-member="property_a3"' not in page and "离岗" in page
    assert {e.action for e in AuditEntry.objects.filter(action__startswith="ticket.member.")} >= {
        "ticket.member.add", "ticket.member.duty", "ticket.member.remove"}


def test_given_a_member_picked_from_elsewhere_or_twice_then_the_form_says_why_and_nothing_is_written(client, desk):
    login(client, desk, "staff_a")
    before = written()
    url = reverse("tickets:manage_member_add", args=[desk.property_a.pk])
    page = client.post(url, {"assignment": RoleAssignment.objects.get(user=desk.user("staff_b")).pk})
    assert page.status_code == 422 and "人员</a>：请从列表中选择" in body(page)
    page = client.post(url, {"assignment": ""})
    assert page.status_code == 422 and "人员</a>：请选择人员" in body(page)
    assigned = RoleAssignment.objects.get(user=desk.user("property_a"))  # already a member: not offered
    page = client.post(url, {"assignment": assigned.pk})
    assert page.status_code == 422
    assert written() == before


def test_given_another_communitys_organisation_then_its_members_pages_are_404_and_nothing_is_written(client, desk):
    login(client, desk, "staff_a")
    before = written()
    member = desk.members[("property_b", "staff_b")]
    assert client.post(reverse("tickets:manage_member_duty", args=[desk.property_b.pk, member.pk]),
                       {"on_duty": "0"}).status_code == 404
    assert client.post(reverse("tickets:manage_member_remove", args=[desk.property_b.pk, member.pk])).status_code == 404
    assert client.post(reverse("tickets:manage_member_add", args=[desk.property_b.pk]),
                       {"assignment": RoleAssignment.objects.get(user=desk.user("staff_a")).pk}).status_code == 404
    # a member of B's organisation named through A's organisation is not found either
    assert client.post(reverse("tickets:manage_member_remove", args=[desk.property_a.pk, member.pk])).status_code == 404
    assert written() == before


# ------------------------------------------------------------------------------------------- return visits

def closed_ticket(desk, now=T0, description="楼道灯不亮"):
    """A public-facilities ticket (return visit due) resolved and confirmed at ``now``."""
    ticket = desk.submit(code="public-facilities", now=now, description=description)
    staff = desk.actor("property_a")
    ticket = actions.accept_ticket(actor=staff, ticket=ticket, now=now)
    ticket = actions.assign_ticket(actor=staff, ticket=ticket, assignee_id=desk.user("property_a").pk, now=now)
    ticket = actions.start_ticket(actor=staff, ticket=ticket, now=now)
    ticket = actions.resolve_ticket(actor=staff, ticket=ticket, note="已更换灯泡", now=now)
    return actions.confirm_ticket(actor=desk.actor("resident_a"), ticket=ticket, now=now)


def test_given_due_and_overdue_visits_then_staff_see_them_and_record_the_outcome(client, desk):
    old = closed_ticket(desk, now=T0, description="三个月前的工单")  # due days ago: overdue
    recent = closed_ticket(desk, now=dt.datetime.now(dt.UTC), description="刚关闭的工单")
    login(client, desk, "grid_a")
    html = body(client.get(reverse("tickets:manage_visits")))
    assert old.number in html and recent.number in html and "1 个回访已逾期" in html
    overdue = body(client.get(reverse("tickets:manage_visits"), {"status": "overdue"}))
    assert old.number in overdue and recent.number not in overdue

    visit = ReturnVisit.objects.get(ticket=old)
    page = client.post(reverse("tickets:manage_visit", args=[visit.pk]), {"outcome": "satisfied", "note": "居民很满意"})
    assert page.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.outcome, visit.note, visit.completed_by_id) == (
        "done", "satisfied", "居民很满意", desk.user("grid_a").pk)
    assert old.events.filter(kind="return_visit").get().data == {"outcome": "satisfied", "round": 0}
    done = body(client.get(reverse("tickets:manage_visits"), {"status": "done"}))
    assert old.number in done and recent.number not in done
    assert old.number not in body(client.get(reverse("tickets:manage_visits")))


def test_given_no_outcome_or_a_long_note_then_the_visit_form_says_why_and_nothing_is_written(client, desk):
    visit = ReturnVisit.objects.get(ticket=closed_ticket(desk))
    url = reverse("tickets:manage_visit", args=[visit.pk])
    login(client, desk, "staff_a")
    before = written()
    page = client.post(url, {"note": "打了电话"})
    assert page.status_code == 422 and "回访结果</a>：请选择回访结果" in body(page)
    page = client.post(url, {"outcome": "satisfied", "note": "长" * 2001})
    assert page.status_code == 422 and "回访记录</a>：回访记录不能超过2000个字" in body(page)
    login(client, desk, "staff_a", "en")
    page = client.post(url, {"note": "called"})
    assert page.status_code == 422 and "Outcome</a>: choose the outcome of the visit" in body(page)
    page = client.post(url, {"outcome": "maybe"})
    assert page.status_code == 422 and "Outcome</a>: choose from the list" in body(page)
    page = client.post(url, {"outcome": "satisfied", "note": "x" * 2001})
    assert "Note of the visit</a>: the note is longer than 2000 characters" in body(page)
    visit.refresh_from_db()
    assert visit.status == "pending" and written() == before


def test_given_a_done_visit_when_recorded_again_then_409_and_nothing_is_written(client, desk):
    visit = ReturnVisit.objects.get(ticket=closed_ticket(desk))
    url = reverse("tickets:manage_visit", args=[visit.pk])
    login(client, desk, "staff_a")
    assert client.post(url, {"outcome": "unreachable"}).status_code == 302
    before = written()
    page = client.post(url, {"outcome": "satisfied"})
    assert page.status_code == 409 and "该回访已完成" in body(page)
    visit.refresh_from_db()
    assert visit.outcome == "unreachable" and written() == before


def test_given_another_community_or_a_resident_then_visits_are_404_or_403(client, desk):
    visit = ReturnVisit.objects.get(ticket=closed_ticket(desk))
    url = reverse("tickets:manage_visit", args=[visit.pk])
    before = written()
    login(client, desk, "staff_b")
    assert visit.ticket.number not in body(client.get(reverse("tickets:manage_visits")))
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "satisfied"}).status_code == 404
    login(client, desk, "resident_a")
    assert client.get(reverse("tickets:manage_visits")).status_code == 403
    assert client.post(url, {"outcome": "satisfied"}).status_code == 403
    assert written() == before


# ---------------------------------------------------------------------------------------------- KPI charts

def chart_data(html: str) -> dict:
    found = re.search(r'<script id="kpi-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries no chart data"
    return json.loads(found.group(1))


def table_cells(html: str, kpi: str) -> list[str]:
    row = re.search(rf'<tr data-kpi="{kpi}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)][2:]


def test_given_tickets_in_two_categories_then_the_charts_carry_the_tables_numbers(client, desk):
    closed_ticket(desk, description="已关闭")  # public facilities: on time, closed
    desk.submit(code="noise", kind="complaint", description="夜间噪音")  # open complaint
    desk.submit(by="staff_b", place=desk.world.estate_b, channel="phone", description="桂花小区的工单")
    day = T0.date()
    login(client, desk, "staff_a")
    page = client.get(reverse("tickets:kpis"), {"since": day - dt.timedelta(days=20), "until": day,
                                                "group": "category"})
    html = body(page)
    assert page.status_code == 200
    data = chart_data(html)
    assert data["groups"] == ["公共设施", "噪音", "合计"]
    assert table_cells(html, "tickets") == ["1", "1", "2"]  # staff_b's ticket is not counted
    for rate in data["rates"]:
        shown = [None if c == "—" else float(c.rstrip("%")) for c in table_cells(html, rate["name"])]
        assert rate["values"] == shown, rate["name"]
    assert [r["values"] for r in data["rates"] if r["name"] == "on_time_rate"] == [[100.0, None, 100.0]]
    assert {r["name"]: r["target"] for r in data["rates"]}["satisfaction_rate"] == 95.0
    for median in data["medians"]:
        shown = [None if c == "—" else float(c) for c in table_cells(html, median["name"])]
        assert median["values"] == shown, median["name"]
    trend = data["trend"]
    assert trend["unit"] == "week" and sum(trend["tickets"]) == 2
    assert trend["tickets"][-1] == 2 and trend["starts"][-1] == "2026-04-20"  # the Monday of T0's week
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html and "/static/linli/ticket-kpis.js" in html


def test_given_the_english_page_then_the_chart_labels_are_english(client, desk):
    login(client, desk, "staff_a", "en")
    data = chart_data(body(client.get(reverse("tickets:kpis"))))
    assert data["lang"] == "en" and data["groups"] == ["Total"]
    assert [r["label"] for r in data["rates"]][0] == "On-time rate"
    assert data["text"]["target"] == "Target" and data["trend"]["unit"] == "week"


def test_given_a_resident_then_the_kpi_page_is_403(client, desk):
    login(client, desk, "resident_a")
    assert client.get(reverse("tickets:kpis")).status_code == 403


def test_given_short_and_long_periods_then_the_trend_is_per_day_or_per_month_with_every_bucket(client, desk):
    desk.submit(description="当天的工单")  # created at T0 (2026-04-23)
    login(client, desk, "staff_a")
    week = chart_data(body(client.get(reverse("tickets:kpis"), {"since": "2026-04-20", "until": "2026-04-26"})))
    assert week["trend"]["unit"] == "day"
    assert week["trend"]["starts"] == [f"2026-04-{d}" for d in range(20, 27)]
    assert week["trend"]["tickets"] == [0, 0, 0, 1, 0, 0, 0]
    assert week["trend"]["on_time_rate"] == [None] * 7  # nothing resolved
    year = chart_data(body(client.get(reverse("tickets:kpis"), {"since": "2025-10-15", "until": "2026-05-10"})))
    assert year["trend"]["unit"] == "month"  # 208 days: past 26 weeks
    assert year["trend"]["labels"] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04",
                                       "2026-05"]
    assert year["trend"]["tickets"] == [0, 0, 0, 0, 0, 0, 1, 0]
