"""The ticket pages: a resident files, follows, confirms and rates; staff work the pool step by step; refused
steps say why and write nothing; other communities' tickets are 404; the KPI page and its export."""

import io

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from linli.tickets import actions
from linli.tickets.models import Rating, Ticket, TicketPhoto

from .conftest import counts
from .images import jpeg

pytestmark = pytest.mark.django_db


def login(client, desk, name: str):
    client.force_login(desk.user(name))
    return client


def step(client, ticket, action: str, **data):
    return client.post(reverse("tickets:step", args=[ticket.pk, action]), data)


def test_given_a_resident_when_they_open_the_list_then_they_see_only_their_own_tickets(client, desk):
    mine = desk.submit(description="楼道灯坏了")
    other = desk.submit(by="staff_b", place=desk.world.estate_b, channel="phone", description="桂花小区路面破损")
    page = login(client, desk, "resident_a").get(reverse("tickets:list"))
    assert page.status_code == 200
    body = page.content.decode()
    assert mine.number in body and "楼道灯坏了" in body
    assert other.number not in body and "路面破损" not in body
    assert "我的工单" in body
    assert f'href="{reverse("tickets:list")}" class="current"' in body  # the nav entry


def test_given_staff_of_community_b_when_they_open_a_ticket_of_a_then_404_and_no_step(client, desk):
    ticket = desk.submit()
    login(client, desk, "staff_b")
    before = counts()
    assert client.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 404
    assert step(client, ticket, "accept").status_code == 404
    assert counts() == before
    assert Ticket.objects.get(pk=ticket.pk).status == "submitted"


def test_given_the_pool_when_staff_filter_by_status_then_only_matching_tickets_are_listed(client, desk):
    waiting = desk.submit(description="等待受理的工单")
    accepted = actions.accept_ticket(actor=desk.actor("staff_a"), ticket=desk.submit(description="已经受理的工单"))
    page = login(client, desk, "staff_a").get(reverse("tickets:list"), {"status": "accepted"})
    body = page.content.decode()
    assert page.status_code == 200
    assert accepted.number in body and waiting.number not in body
    assert "共 1 张工单" in body


def test_given_nobody_when_they_open_the_pages_then_403(client, desk):
    login(client, desk, "nobody")
    assert client.get(reverse("tickets:list")).status_code == 403
    assert client.get(reverse("tickets:new")).status_code == 403
    assert client.get(reverse("tickets:kpis")).status_code == 403


def test_given_a_reject_without_reason_then_the_error_is_shown_and_nothing_is_written(client, desk):
    ticket = desk.submit()
    login(client, desk, "staff_a")
    before = counts()
    page = step(client, ticket, "reject", reason="  ")
    assert page.status_code == 422
    assert "请填写原因" in page.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = step(client, ticket, "reject", reason="")
    assert page.status_code == 422
    assert "the reason is required" in page.content.decode()
    assert ">Reject</button>" in page.content.decode() and "Ticket pool" in page.content.decode()
    assert counts() == before
    assert Ticket.objects.get(pk=ticket.pk).status == "submitted"


def test_given_a_submitted_ticket_when_staff_resolve_it_then_409_names_the_status_and_nothing_is_written(client, desk):
    ticket = desk.submit()
    login(client, desk, "staff_a")
    before = counts()
    page = step(client, ticket, "resolve", note="已修好")
    assert page.status_code == 409
    assert "工单当前状态为“待受理”，不能执行“办结”" in page.content.decode()
    assert counts() == before


def test_given_an_assign_to_a_non_member_then_the_field_error_is_shown_and_nothing_is_written(client, desk):
    ticket = actions.accept_ticket(actor=desk.actor("property_a"), ticket=desk.submit(code="public-facilities"))
    login(client, desk, "property_a")
    before = counts()
    page = step(client, ticket, "assign", assignee_id=desk.user("staff_b").pk)
    assert page.status_code == 422
    assert "不是“祥和物业”的在岗成员" in page.content.decode()
    assert counts() == before


def test_given_a_resident_when_they_submit_with_a_photo_then_the_ticket_is_theirs_from_the_app(client, desk):
    login(client, desk, "resident_a")
    form = client.get(reverse("tickets:new"))
    assert form.status_code == 200
    assert desk.world.dwelling_a.name in form.content.decode()
    photo = io.BytesIO(jpeg())
    photo.name = "leak.jpg"
    page = client.post(reverse("tickets:new"), {
        "kind": "repair", "category_id": desk.category("public-facilities").pk, "place_id": desk.world.dwelling_a.pk,
        "description": "卫生间水管漏水", "preferred_from": "2026-04-24T09:00", "photos": [photo]})
    ticket = Ticket.objects.get()
    assert page.status_code == 302 and page["Location"] == reverse("tickets:detail", args=[ticket.pk])
    assert (ticket.reporter_id, ticket.channel, ticket.status) == (
        desk.actor("resident_a").resident_id, "app", "submitted")
    assert ticket.description == "卫生间水管漏水"
    assert TicketPhoto.objects.filter(ticket=ticket, stage="report").count() == 1


def test_given_a_resident_when_they_submit_without_description_then_the_field_says_so_and_nothing_is_written(
        client, desk):
    login(client, desk, "resident_a")
    before = counts()
    page = client.post(reverse("tickets:new"), {
        "kind": "repair", "category_id": desk.category("public-facilities").pk, "place_id": desk.world.dwelling_a.pk,
        "description": " "})
    assert page.status_code == 422
    assert counts() == before


def test_given_a_resident_when_they_pick_another_estates_place_then_it_is_refused_and_nothing_is_written(
        client, desk):
    login(client, desk, "resident_a")
    before = counts()
    page = client.post(reverse("tickets:new"), {
        "kind": "repair", "category_id": desk.category("public-facilities").pk, "place_id": desk.world.estate_b.pk,
        "description": "别的小区"})
    assert page.status_code == 422  # not among the choices
    assert counts() == before


def test_given_staff_when_they_enter_a_phone_call_then_the_channel_and_caller_are_recorded(client, desk):
    login(client, desk, "staff_a")
    page = client.post(reverse("tickets:new"), {
        "kind": "complaint", "category_id": desk.category("noise").pk, "place_id": desk.world.estate_a.pk,
        "description": "夜间施工噪音", "channel": "phone", "reporter_name": "王阿姨"})
    ticket = Ticket.objects.get()
    assert page.status_code == 302
    assert (ticket.channel, ticket.reporter_name, ticket.reporter_id, ticket.organisation_id) == (
        "phone", "王阿姨", None, desk.committee_a.pk)


def test_given_the_whole_flow_through_the_pages_then_the_resident_confirms_and_rates(client, desk):
    ticket = desk.submit(code="public-facilities")
    staff = login(client, desk, "property_a")
    detail = staff.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'action="{reverse("tickets:step", args=[ticket.pk, "accept"])}"' in detail
    assert step(staff, ticket, "accept").status_code == 302
    assert step(staff, ticket, "assign", assignee_id=desk.user("property_a2").pk).status_code == 302
    worker = login(client, desk, "property_a2")
    assert step(worker, ticket, "start").status_code == 302
    assert step(worker, ticket, "resolve", note="更换了水管").status_code == 302
    resident = login(client, desk, "resident_a")
    detail = resident.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "更换了水管" in detail and "确认办结" in detail and "重新打开" in detail
    assert step(resident, ticket, "confirm").status_code == 302
    page = resident.post(reverse("tickets:rate", args=[ticket.pk]),
                         {"overall": "5", "speed": "4", "attitude": "5", "comment": "很及时"})
    assert page.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id) == ("closed", desk.user("property_a2").pk)
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.overall, rating.speed, rating.attitude, rating.comment) == (5, 4, 5, "很及时")
    detail = resident.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "总体 5 · 速度 4 · 态度 5" in detail and "提交评价" not in detail
    history = [e.action for e in ticket.events.order_by("at", "id")]
    assert history == ["submit", "accept", "assign", "start", "resolve", "confirm", "rate"]


def test_given_a_rated_ticket_when_rated_again_then_409_and_nothing_is_written(client, desk):
    ticket = desk.submit(code="public-facilities")
    system_steps(desk, ticket)
    resident = login(client, desk, "resident_a")
    data = {"overall": "5", "speed": "5", "attitude": "5"}
    assert resident.post(reverse("tickets:rate", args=[ticket.pk]), data).status_code == 302
    before = counts()
    page = resident.post(reverse("tickets:rate", args=[ticket.pk]), data)
    assert page.status_code == 409 and "该工单已评价过" in page.content.decode()
    assert counts() == before


def system_steps(desk, ticket) -> None:
    ticket = actions.accept_ticket(actor=desk.actor("property_a"), ticket=ticket)
    ticket = actions.assign_ticket(actor=desk.actor("property_a"), ticket=ticket, assignee_id=desk.user("property_a").pk)
    ticket = actions.start_ticket(actor=desk.actor("property_a"), ticket=ticket)
    ticket = actions.resolve_ticket(actor=desk.actor("property_a"), ticket=ticket, note="好了")
    actions.confirm_ticket(actor=desk.actor("resident_a"), ticket=ticket)


def test_given_staff_with_kpi_rights_then_the_kpi_page_and_export_show_the_period(client, desk):
    ticket = desk.submit(code="public-facilities")
    system_steps(desk, ticket)
    day = ticket.created_at.astimezone().date().isoformat()
    login(client, desk, "staff_a")
    page = client.get(reverse("tickets:kpis"), {"since": day, "until": day})
    body = page.content.decode()
    assert page.status_code == 200 and "及时率" in body and "100.0%" in body
    export = client.get(reverse("tickets:kpi_export"), {"since": day, "until": day})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content))["KPI"]
    assert sheet.cell(row=3, column=1).value == "合计" and sheet.cell(row=3, column=2).value == 1
    resident = login(client, desk, "resident_a")
    assert resident.get(reverse("tickets:kpis")).status_code == 403
