"""The ticket pages: a resident files, follows, confirms and rates; staff work the pool step by step; refused
steps say why and write nothing; other communities' tickets are 404; the KPI page and its export."""

import io
import json
import re

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from openpyxl import load_workbook
from PIL import Image

from linli.tickets import actions
from linli.tickets.models import Rating, Ticket, TicketPhoto

from .conftest import counts
from .estate_map import map_estate
from .images import GPS_IFD, jpeg

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


# ------------------------------------------------------------------------------------------ the place picker

def picker_data(body: str) -> dict:
    start = body.index('<script id="ticket-place-map-data" type="application/json">') + len(
        '<script id="ticket-place-map-data" type="application/json">')
    return json.loads(body[start:body.index("</script>", start)])


def filing(desk, **extra) -> dict:
    return {"kind": "repair", "category_id": desk.category("public-facilities").pk, "description": "灯不亮了", **extra}


def test_given_a_mapped_estate_when_a_resident_opens_the_form_then_home_comes_first_and_the_map_marks_the_spots(
        client, desk):
    spots = map_estate(desk.world)
    world = desk.world
    page = login(client, desk, "resident_a").get(reverse("tickets:new"))
    body = page.content.decode()
    assert page.status_code == 200
    radios = re.findall(r'<input type="radio" name="place_id" value="(\d+)"', body)
    # home, then its entrance, building and estate, then the rest of the estate; nothing of another estate
    assert [int(r) for r in radios] == [world.dwelling_a.pk, world.entrance_a.pk, world.building_a.pk,
                                        world.estate_a.pk, spots.building_2.pk]
    assert "祥和苑 1栋 1单元 101" in body and "我家" in body
    assert world.estate_b.pk not in [int(r) for r in radios] and "桂花苑快递柜" not in body
    data = picker_data(body)
    assert data["tiles"] == ""  # offline by default: no base layer, our own shapes only
    by_key = {s["key"]: s for s in data["spots"]}
    assert set(by_key) == {f"place-{world.dwelling_a.pk}", f"place-{world.building_a.pk}", f"place-{world.estate_a.pk}",
                           f"place-{spots.building_2.pk}", f"facility-{spots.express.pk}"}
    home = by_key[f"place-{world.dwelling_a.pk}"]
    assert (home["kind"], home["lng"], home["lat"]) == ("home", world.building_a.longitude, world.building_a.latitude)
    express = by_key[f"facility-{spots.express.pk}"]
    assert (express["place"], express["facility"], express["name"]) == (world.estate_a.pk, spots.express.pk, "快递点")
    assert [(a["place"], a["kind"]) for a in data["areas"]] == [(world.building_a.pk, "building"),
                                                                (world.estate_a.pk, "estate")]
    assert "vendor/leaflet/leaflet.js" in body and "tickets/place_picker.js" in body


def test_given_a_resident_when_they_choose_a_facility_on_the_map_then_the_ticket_is_there(client, desk, settings):
    settings.LINLI_MAP_TILES = "https://tiles.example.test/{z}/{x}/{y}.png"
    spots = map_estate(desk.world)
    login(client, desk, "resident_a")
    assert picker_data(client.get(reverse("tickets:new")).content.decode())["tiles"] == settings.LINLI_MAP_TILES
    page = client.post(reverse("tickets:new"), filing(desk, place_id=desk.world.estate_a.pk,
                                                       facility_id=spots.express.pk, description="快递柜门坏了"))
    assert page.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.place_id, ticket.longitude, ticket.latitude) == (
        desk.world.estate_a.pk, spots.express.longitude, spots.express.latitude)
    assert ticket.title == "快递点 · 快递柜门坏了" and ticket.channel == "app"


def test_given_a_resident_when_they_send_another_estates_place_then_the_field_says_why_and_nothing_is_written(
        client, desk):
    map_estate(desk.world)
    login(client, desk, "resident_a")
    before = counts()
    for place in (desk.world.estate_b, desk.world.dwelling_a2, desk.world.community_a):
        page = client.post(reverse("tickets:new"), filing(desk, place_id=place.pk))
        assert page.status_code == 422
        assert "只能选择您的住房或本小区的公共区域" in page.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.post(reverse("tickets:new"), filing(desk, place_id=desk.world.estate_b.pk))
    assert page.status_code == 422
    assert "Choose your own home or a public spot of your estate" in page.content.decode()
    assert "My home" in page.content.decode() and "Tap your home, a building or a facility" in page.content.decode()
    page = client.post(reverse("tickets:new"), filing(desk))
    assert "Choose a place: your home or a public spot of your estate" in page.content.decode()
    assert counts() == before


def test_given_a_resident_when_they_send_another_estates_facility_then_it_is_refused_and_nothing_is_written(
        client, desk):
    spots = map_estate(desk.world)
    login(client, desk, "resident_a")
    before = counts()
    for facility, place in ((spots.other_facility, desk.world.estate_a), (spots.express, desk.world.building_a)):
        page = client.post(reverse("tickets:new"), filing(desk, place_id=place.pk, facility_id=facility.pk))
        assert page.status_code == 422
        assert "所选设施不在本小区或不在所选地点" in page.content.decode()
    assert counts() == before


def test_given_staff_when_they_enter_a_ticket_then_they_keep_their_own_place_list_without_the_map(client, desk):
    map_estate(desk.world)
    body = login(client, desk, "staff_a").get(reverse("tickets:new")).content.decode()
    assert '<select name="place_id"' in body and 'name="channel"' in body
    assert "ticket-place-map" not in body and 'type="radio" name="place_id"' not in body


# ---------------------------------------------------------------------------------------------- staff photos

@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.LINLI_TICKET_PHOTO_MAX_BYTES = 200_000
    return tmp_path


def in_progress(desk) -> Ticket:
    ticket = actions.accept_ticket(actor=desk.actor("property_a"), ticket=desk.submit(code="public-facilities"))
    ticket = actions.assign_ticket(actor=desk.actor("property_a"), ticket=ticket,
                                   assignee_id=desk.user("property_a2").pk)
    return actions.start_ticket(actor=desk.actor("property_a2"), ticket=ticket)


def upload(name: str, data: bytes) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_given_the_assignee_when_they_resolve_with_photos_then_the_photos_are_kept_without_exif(client, desk, media):
    ticket = in_progress(desk)
    worker = login(client, desk, "property_a2")
    detail = worker.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'class="form step step-resolve" enctype="multipart/form-data"' in detail
    page = step(worker, ticket, "resolve", note="更换了灯泡",
                photos=[upload("after1.jpg", jpeg(640, 480, gps=True)), upload("after2.jpg", jpeg(100, 80))])
    assert page.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution_note) == ("resolved", "更换了灯泡")
    photos = list(TicketPhoto.objects.filter(ticket=ticket).order_by("id"))
    assert [(p.stage, p.width, p.uploaded_by_id) for p in photos] == [
        ("resolve", 640, desk.user("property_a2").pk), ("resolve", 100, desk.user("property_a2").pk)]
    for p in photos:
        with default_storage.open(p.file) as fh:
            data = fh.read()
        assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD) == {} and b"Exif" not in data[:200]
    assert [e.action for e in ticket.events.order_by("at", "id")][-2:] == ["photo", "resolve"]
    # The resident sees the result photos as thumbnails on the page and can open them; staff of B cannot.
    resident = login(client, desk, "resident_a")
    body = resident.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    thumbs = re.findall(r'<ul class="chips photos" id="photos-resolve">(.*?)</ul>', body, re.S)
    assert len(thumbs) == 1 and thumbs[0].count("<img ") == 2 and "办结照片" in body
    thumb = re.search(r'<img src="([^"]+)"', thumbs[0]).group(1).replace("&amp;", "&")
    shown = resident.get(thumb)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(shown.streaming_content))).size == (320, 240)
    assert login(client, desk, "staff_b").get(thumb).status_code == 404


@pytest.mark.parametrize("name,data,reason_zh,reason_en", [
    ("notes.jpg", b"%PDF-1.4 not a photo", "文件不是JPEG、PNG、WEBP或GIF图片", "the file is not a JPEG, PNG, WEBP or GIF image"),
    ("huge.jpg", None, "照片不能超过", "a photo may be at most"),
])
def test_given_a_bad_photo_when_the_assignee_resolves_then_the_field_says_why_and_nothing_is_written(
        client, desk, media, name, data, reason_zh, reason_en):
    ticket = in_progress(desk)
    if data is None:  # over the limit
        data = jpeg(1600, 1200, color=(10, 20, 30)) + bytes(250_000)
    worker = login(client, desk, "property_a2")
    files_before, before = stored_files(media), counts()
    page = step(worker, ticket, "resolve", note="修好了", photos=[upload("ok.jpg", jpeg()), upload(name, data)])
    body = page.content.decode()
    assert page.status_code == 422
    assert f"{name}：{reason_zh}" in body and 'id="resolve-photos"' in body
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = step(worker, ticket, "resolve", note="", photos=[upload(name, data)])
    body = page.content.decode()
    assert page.status_code == 422 and f"{name}: {reason_en}" in body and "describe what was done" in body
    assert counts() == before and stored_files(media) == files_before
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"


def test_given_staff_on_site_when_they_add_photos_from_the_page_then_they_are_kept_and_shown(client, desk, media):
    ticket = desk.submit(code="public-facilities")
    staff = login(client, desk, "property_a")
    detail = staff.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert f'action="{reverse("tickets:photos", args=[ticket.pk])}"' in detail
    page = staff.post(reverse("tickets:photos", args=[ticket.pk]),
                      {"stage": "report", "photos": [upload("scene.jpg", jpeg(200, 150, gps=True))]})
    assert page.status_code == 302
    [photo] = TicketPhoto.objects.filter(ticket=ticket)
    assert (photo.stage, photo.uploaded_by_id) == ("report", desk.user("property_a").pk)
    body = staff.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'id="photos-report"' in body and "报事照片" in body


def test_given_ten_photos_or_none_when_added_from_the_page_then_refused_and_nothing_is_written(client, desk, media):
    ticket = desk.submit(code="public-facilities")
    staff = login(client, desk, "property_a")
    before = counts()
    page = staff.post(reverse("tickets:photos", args=[ticket.pk]),
                      {"stage": "report", "photos": [upload(f"p{i}.jpg", jpeg()) for i in range(10)]})
    assert page.status_code == 422 and "最多9张" in page.content.decode()
    page = staff.post(reverse("tickets:photos", args=[ticket.pk]), {"stage": "report"})
    assert page.status_code == 422 and "请选择照片" in page.content.decode()
    assert counts() == before and stored_files(media) == []


def test_given_a_closed_ticket_when_photos_are_posted_then_409_and_nothing_is_written(client, desk, media):
    ticket = desk.submit(code="public-facilities")
    system_steps(desk, ticket)
    staff = login(client, desk, "property_a")
    assert 'id="photo-upload"' not in staff.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    before = counts()
    page = staff.post(reverse("tickets:photos", args=[ticket.pk]),
                      {"stage": "resolve", "photos": [upload("late.jpg", jpeg())]})
    assert page.status_code == 409 and "不能上传办结照片" in page.content.decode()
    assert counts() == before and stored_files(media) == []
