"""A community staff member's day in Chromium: log in, import the messy sheet keeping its valid rows, find a
resident, reveal the ID number (audited), and fail to open a resident of another community. Then the same
console on a phone."""

from __future__ import annotations

import pytest

from linli.core.models import AuditEntry
from linli.core.testing import PASSWORD, make_world
from linli.people.models import Resident
from linli.people.tests import sheets

from .conftest import Screens, log_in

# The live server needs committed rows; serialized_rollback restores the migrations' rows (the care tags) that a
# transactional test's flush removes.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_community_staff_imports_a_messy_sheet_finds_a_resident_and_stays_inside_their_community(open_page, live_server):
    world = make_world()
    screens = Screens("journey")
    page = open_page(width=1366, height=900)

    log_in(page, live_server.url, "staff_a", PASSWORD)
    assert page.locator(".user-roles").inner_text().split() == ["社区工作人员", "梅园社区"]
    screens.shot(page, "home")

    # Import the messy sheet into the community, fixing nothing.
    page.click("nav.sidenav >> text=导入")
    page.select_option("select[name=place]", label="梅园社区")
    page.set_input_files("input[name=file]", files=[
        {"name": "梅园社区居民登记表.xlsx", "mimeType": XLSX, "buffer": sheets.messy_sheet_bytes()}])
    screens.shot(page, "import-form")
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#job-status[data-status=validated]")
    rejected = page.locator("table.row-errors tbody tr")
    assert rejected.count() == len(sheets.MESSY_ERRORS)
    assert [rejected.nth(i).locator("td").first.inner_text() for i in range(rejected.count())] == [
        str(row) for row, _, _ in sheets.MESSY_ERRORS]
    assert page.locator("[data-counter=valid]").inner_text() == str(sheets.MESSY_VALID_ROWS)
    screens.shot(page, "rejected-rows")

    # Keep the valid rows and see the result.
    page.click("button[name=keep][value=valid]")
    page.wait_for_selector("#job-status[data-status=done]")
    assert page.locator("[data-counter=created]").inner_text() == str(sheets.MESSY_VALID_ROWS)
    assert Resident.objects.filter(name__in=[r[0] for r in sheets.MESSY_RESIDENTS]).count() == sheets.MESSY_VALID_ROWS
    screens.shot(page, "import-result")

    # Find a resident by name; the list refreshes in place (htmx) and shows masked values only.
    page.click("nav.sidenav >> text=居民")
    page.fill("#id_q", "赵丽华")
    page.wait_for_function("document.querySelector('#resident-results .result-count').innerText.includes('共 1 位')")
    name, id_number, phone = sheets.MESSY_RESIDENTS[3][:3]
    row = page.locator("#resident-results tbody tr")
    assert row.count() == 1
    assert id_number not in row.inner_text() and phone not in row.inner_text()
    assert id_number[:6] + "********" + id_number[-4:] in row.inner_text()
    screens.shot(page, "resident-found")

    # Open the resident: masked ID; "显示" reveals it in full and leaves an audit entry.
    row.locator(f"a:text('{name}')").click()
    masked = page.locator("#sensitive-id_number")
    assert masked.inner_text().startswith(id_number[:6] + "********" + id_number[-4:])
    assert not AuditEntry.objects.filter(action="resident.reveal.id_number").exists()
    masked.locator("button").click()
    page.wait_for_selector("[data-revealed=id_number]")
    assert page.locator("[data-revealed=id_number]").inner_text() == id_number
    resident = Resident.objects.get(name=name)
    entry = AuditEntry.objects.get(action="resident.reveal.id_number")
    assert (entry.actor_id, entry.target_id, entry.via) == (world.users["staff_a"].pk, str(resident.pk), "web")
    screens.shot(page, "resident-revealed")

    # A resident of community B does not exist for this user.
    response = page.goto(f"{live_server.url}/people/{world.resident_b.pk}/")
    assert response.status == 404
    assert "未找到该页面或记录" in page.locator("main").inner_text()
    assert "李建国" not in page.content()
    screens.shot(page, "other-community-404")

    # The same pages in English.
    page.goto(f"{live_server.url}/people/?q={name}")
    page.click("button[name=language][value=en]")
    page.wait_for_selector("text=Residents")
    assert page.locator("#resident-results .result-count").inner_text() == "1 resident"
    screens.shot(page, "resident-list-english")
    page.goto(f"{live_server.url}/people/import/")
    page.locator("table a").first.click()
    assert page.locator("[data-counter=created]").inner_text() == str(sheets.MESSY_VALID_ROWS)
    screens.shot(page, "import-result-english")

    assert page.js_errors == []


def test_on_a_phone_the_console_fits_and_the_navigation_folds_away(open_page, live_server):
    make_world()
    screens = Screens("phone")
    page = open_page(width=390, height=844)

    page.goto(f"{live_server.url}/login/")
    screens.shot(page, "login")
    log_in(page, live_server.url, "staff_a", PASSWORD)

    assert page.locator("#sidenav").is_hidden()
    page.click("[data-nav-toggle]")
    assert page.locator("#sidenav").is_visible()
    screens.shot(page, "navigation-open")
    page.click("#sidenav >> text=居民")
    assert page.locator("#sidenav").is_hidden()
    assert page.locator("#resident-results tbody tr").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screens.shot(page, "resident-list")

    page.click("#resident-results a:text('王秀英')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screens.shot(page, "resident-detail")
    assert page.js_errors == []
