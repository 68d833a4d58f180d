"""A ticket followed to the end in Chromium, the resident on a phone: she files a repair choosing the place on the
map with a photo from her phone (GPS in its EXIF); property staff accept it and assign it (the category's dispatch
mode); the assignee, on his phone, starts and resolves it with a note and a photo; she confirms and rates it,
with every change in her inbox; the community's KPI page counts it."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.permissions import Role
from linli.core.testing import PASSWORD, make_user, make_world
from linli.notify.models import InboxItem
from linli.tickets import actions
from linli.tickets.models import Category, Rating, Ticket, TicketPhoto
from linli.tickets.tests.estate_map import map_estate
from linli.tickets.tests.images import GPS_IFD, jpeg

from .conftest import Screens, _new_page, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    """``phone()``: a phone-sized page (touch, mobile viewport) in its own context; ``desk()`` a desktop one.
    Script errors and assets that failed to load are collected in ``page.js_errors``."""
    contexts: list = []

    def open_one(*, mobile: bool = True):
        size, options = ((PHONE, {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}) if mobile
                         else ({"width": 1366, "height": 900}, {}))
        page = _new_page(browser, live_server.url, **size, language="zh-hans", **options)
        contexts.append(page.context)
        return page

    yield open_one
    for context in contexts:
        context.close()


def handlers(world):
    """The property company of 祥和苑 with property_a (dispatcher) and property_a2 (the one sent to fix it), and the
    community committee: setup data, as an installation would have it."""
    system = Actor.system("journey-setup")
    world.users["property_a2"] = make_user("property_a2", Role.PROPERTY_STAFF, world.estate_a, first_name="张师傅")
    company = actions.create_organisation(actor=system, kind="property_company", name="祥和物业", place=world.estate_a)
    committee = actions.create_organisation(actor=system, kind="community_committee", name="梅园社区居委会",
                                            place=world.community_a)
    for organisation, names in ((company, ["property_a", "property_a2"]), (committee, ["staff_a"])):
        for name in names:
            actions.add_member(actor=system, organisation=organisation,
                               assignment=RoleAssignment.objects.get(user=world.users[name], active=True))


def no_gps(name: str) -> bool:
    with default_storage.open(name) as fh:
        data = fh.read()
    image = Image.open(io.BytesIO(data))
    return image.format == "JPEG" and not image.getexif().get_ifd(GPS_IFD) and b"Exif" not in data[:200]


def thumbnail_width(page, selector: str) -> int:
    """The width of a thumbnail as the browser decoded it (waiting for the lazy image to load)."""
    page.locator(selector).scroll_into_view_if_needed()
    page.wait_for_function(f"document.querySelector({selector!r}).complete")
    return page.locator(selector).evaluate("img => img.naturalWidth")


def test_a_repair_from_a_phone_is_dispatched_resolved_with_photos_rated_and_counted(phone, live_server, settings,
                                                                                     tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    world = make_world()
    handlers(world)
    spots = map_estate(world)
    category = Category.objects.get(place_path="", code="public-facilities")
    assert category.dispatch_mode == "assign"
    screens = Screens("ticket")
    url = live_server.url
    photo = jpeg(1200, 900, gps=True, color=(90, 120, 160))
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(GPS_IFD)  # the phone's photo does carry a position

    # --- The resident, on her phone, files the repair: the place is tapped on the map (offline: no base layer).
    resident = phone()
    log_in(resident, url, "resident_a", PASSWORD)
    resident.goto(f"{url}/tickets/")
    resident.click("text=我要报事")
    resident.wait_for_selector("#ticket-place-map .spot-marker .spot-label")
    assert resident.locator("#ticket-place-map .leaflet-tile").count() == 0
    assert resident.locator("#place-options-common .place-option").first.inner_text().startswith("祥和苑 1栋 1单元 101")
    resident.select_option("#id_kind", "repair")
    resident.select_option("#id_category_id", label="公共设施")
    screens.shot(resident, "resident-form")
    resident.locator("#ticket-place-map .spot-label", has_text=re.compile(r"^1栋$")).tap()
    assert resident.locator(f"input[name=place_id][value='{world.building_a.pk}']").is_checked()
    assert resident.locator("#place-picked").inner_text() == "已选择：祥和苑 1栋"
    assert resident.locator("#ticket-place-map .spot-marker.selected").inner_text() == "1栋"
    # a facility tapped instead, then the building again from the map: the last tap counts
    resident.locator("#ticket-place-map .spot-label", has_text="快递点").tap()
    assert resident.locator("#place-picked").inner_text() == "已选择：快递点（祥和苑）"
    assert resident.locator("input[name=facility_id]").input_value() == str(spots.express.pk)
    resident.locator("#ticket-place-map .spot-label", has_text=re.compile(r"^1栋$")).tap()
    assert resident.locator("input[name=facility_id]").input_value() == ""
    resident.fill("#id_description", "1栋1单元楼道灯不亮，晚上看不见台阶")
    resident.set_input_files("#id_photos", files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    assert resident.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screens.shot(resident, "resident-place-chosen")
    resident.click("#ticket-form button[type=submit]")
    resident.wait_for_selector("#ticket-status")
    ticket = Ticket.objects.get()
    assert (ticket.place_id, ticket.channel, ticket.status, ticket.category_id) == (
        world.building_a.pk, "app", "submitted", category.pk)
    assert resident.locator("#ticket-status").inner_text() == "待受理"
    assert resident.locator("#ticket-place").inner_text().endswith("1栋")
    [report_photo] = TicketPhoto.objects.filter(ticket=ticket)
    assert report_photo.stage == "report" and no_gps(report_photo.file) and no_gps(report_photo.thumbnail)
    assert thumbnail_width(resident, "#photos-report img") == 320
    screens.shot(resident, "resident-submitted")

    # --- Property staff (desktop) accept it and assign it to 张师傅.
    staff = phone(mobile=False)
    log_in(staff, url, "property_a", PASSWORD)
    staff.goto(f"{url}/tickets/")
    staff.click(f"#ticket-results a:text('{ticket.number}')")
    staff.click(".step-accept button")
    staff.wait_for_selector(".step-assign")
    assert staff.locator("#ticket-status").inner_text() == "已受理"
    staff.select_option("#assign-assignee", label="张师傅")
    screens.shot(staff, "staff-assign")
    staff.click(".step-assign button")
    staff.wait_for_selector("text=已派单")
    assert staff.locator("#ticket-status").inner_text() == "已派单"

    # --- The assignee, on his phone, starts and resolves it with a note and a photo of the result.
    worker = phone()
    log_in(worker, url, "property_a2", PASSWORD)
    worker.goto(f"{url}/tickets/{ticket.pk}/")
    worker.click(".step-start button")
    worker.wait_for_selector(".step-resolve")
    worker.fill("#resolve-note", "更换了楼道灯泡和声控开关")
    worker.set_input_files("#resolve-photos", files=[
        {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg(800, 600, gps=True, color=(240, 220, 90))}])
    screens.shot(worker, "worker-resolve")
    worker.click(".step-resolve button")
    worker.wait_for_selector("#photos-resolve img")
    assert worker.locator("#ticket-status").inner_text() == "已办结待确认"
    [result_photo] = TicketPhoto.objects.filter(ticket=ticket, stage="resolve")
    assert result_photo.uploaded_by_id == world.users["property_a2"].pk and no_gps(result_photo.file)
    assert thumbnail_width(worker, "#photos-resolve img") == 320
    assert worker.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screens.shot(worker, "worker-resolved")

    # --- The resident sees the result with its photo, confirms it and rates it.
    resident.reload()
    assert "更换了楼道灯泡和声控开关" in resident.locator("main").inner_text()
    assert thumbnail_width(resident, "#photos-resolve img") == 320
    resident.click(".step-confirm button")
    resident.wait_for_selector("form.rating")
    assert resident.locator("#ticket-status").inner_text() == "已关闭"
    resident.select_option("#id_overall", "5")
    resident.select_option("#id_speed", "4")
    resident.select_option("#id_attitude", "5")
    resident.fill("#id_comment", "师傅来得很快。态度很好")
    screens.shot(resident, "resident-rating")
    resident.click("form.rating button[type=submit]")
    resident.wait_for_selector("#rating")
    assert resident.locator("#rating").inner_text() == "总体 5 · 速度 4 · 态度 5"
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.overall, rating.speed, rating.attitude, rating.comment) == (5, 4, 5, "师傅来得很快。态度很好")
    screens.shot(resident, "resident-rated")

    # --- Her inbox has a message for each change of her ticket.
    resident.goto(f"{url}/notifications/")
    items = resident.locator(".inbox-item")
    texts = [items.nth(i).inner_text() for i in range(items.count())]
    mine = [t for t in texts if ticket.number in t]
    assert len(mine) == InboxItem.objects.filter(user=world.users["resident_a"]).count() >= 5
    for status in ("待受理", "已受理", "已派单", "处理中", "已办结待确认", "已关闭"):
        assert any(f"状态更新：{status}" in t for t in mine), status
    screens.shot(resident, "resident-inbox")

    # --- The community's KPI page counts the ticket and its rating.
    day = ticket.created_at.astimezone().date().isoformat()
    kpi = phone(mobile=False)
    log_in(kpi, url, "staff_a", PASSWORD)
    kpi.goto(f"{url}/tickets/kpis/?since={day}&until={day}")
    assert kpi.locator("#kpi-table tr[data-kpi=tickets] td").last.inner_text() == "1"
    assert kpi.locator("#kpi-table tr[data-kpi=satisfaction_rate] td").last.inner_text() == "100.0%"
    assert kpi.locator("#kpi-table tr[data-kpi=handling_rate] td").last.inner_text() == "100.0%"
    screens.shot(kpi, "kpis")

    assert resident.js_errors == [] and staff.js_errors == [] and worker.js_errors == [] and kpi.js_errors == []
