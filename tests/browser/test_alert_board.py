"""The live alert board in Chromium: property staff keep /alerts/ open; a smoke sensor reports through the real
HTTP ingestion endpoint; the new critical alert appears in the list, in the counts and on the map without a
reload, highlighted and announced; they acknowledge it from the board. Then the board on a phone."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
from django.utils import timezone

from linli.alerts.models import Alert
from linli.alerts.tests.helpers import event, local
from linli.core.testing import PASSWORD, make_world
from linli.devices.adapters import parse_generic
from linli.devices.ingest import record_device_events
from linli.devices.tests.helpers import Registered, register

from .conftest import Screens, log_in

# The live server needs committed rows; serialized_rollback restores the migrations' rows (the shipped rules and
# care tags) that a transactional test's flush removes.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
LIVE_WITHIN_MS = 5_000  # the promise: the board shows a new alert within 5 seconds, without reloading
STILL = {"score": 0.9, "attrs": {"stationary_s": 300}}


def store(device, *events: dict) -> None:
    """Events stored as the ingestion stores them; their pipeline task runs when the transaction commits."""
    parsed = parse_generic(json.dumps({"events": list(events)}).encode(), default_device=device.serial)
    record_device_events(device=device, vendor=device.vendor, source="generic", events=parsed.events,
                         received_at=timezone.now())


def ingest(base_url: str, device: Registered, payload: dict) -> int:
    """POST one event in the generic format to the HTTP ingestion endpoint, as the device does."""
    token = base64.b64encode(f"{device.device.serial}:{device.secret}".encode()).decode()
    request = urllib.request.Request(f"{base_url}/api/v1/ingest/generic", data=json.dumps(payload).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_a_new_alert_reaches_the_open_board_and_its_map_without_a_reload_and_is_acknowledged_there(
        open_page, live_server):
    world = make_world()
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-N", name="北门摄像头")
    store(camera.device, event("camera.fire_lane", local(23, 10), **STILL))
    fire_lane = Alert.objects.get(kind="fire_lane", count=1)
    sensor = register(world.estate_a, kind="smoke_sensor", serial="SMOKE-1-1", name="1栋烟感",
                      longitude=114.2966, latitude=29.8334)
    screens = Screens("alert-board")
    page = open_page(width=1366, height=900)

    log_in(page, live_server.url, "property_a", PASSWORD)
    page.click("nav.sidenav >> text=告警")
    page.wait_for_selector(f"path.alert-marker-{fire_lane.pk}", state="attached")
    assert page.locator("#alert-board tbody tr[data-alert]").count() == 1
    assert page.locator("[data-severity-count=critical] .stat-num").inner_text() == "0"
    page.evaluate("window.boardNotReloaded = true")
    screens.shot(page, "board")

    # The sensor reports smoke over HTTP while the board is open.
    assert ingest(live_server.url, sensor, {"kind": "sensor.smoke", "time": timezone.now().isoformat(),
                                            "id": "smoke-live-1"}) == 200
    smoke = Alert.objects.get(kind="smoke_fire")
    row = f'#alert-board tr[data-alert="{smoke.pk}"]'
    page.wait_for_selector(row, timeout=LIVE_WITHIN_MS)
    page.wait_for_selector(f"path.alert-marker-{smoke.pk}", state="attached", timeout=LIVE_WITHIN_MS)

    assert page.evaluate("window.boardNotReloaded") is True
    assert page.locator("#alert-board tbody tr[data-alert]").first.get_attribute("data-alert") == str(smoke.pk)
    assert "is-new" in page.locator(row).get_attribute("class")
    assert "is-new" in page.locator(f"path.alert-marker-{smoke.pk}").get_attribute("class")
    assert page.locator("[data-severity-count=critical] .stat-num").inner_text() == "1"
    assert page.locator("#board-news").is_visible() and "烟火告警" in page.locator("#board-news").inner_text()
    assert page.locator("#alert-map").get_attribute("data-markers") == "2"
    screens.shot(page, "new-critical-alert")

    # Acknowledge it from the board.
    page.locator(row).locator("button:text('确认')").click()
    page.wait_for_selector(f'{row}[data-status="acknowledged"]')
    smoke.refresh_from_db()
    assert (smoke.status, smoke.acknowledged_by_id) == ("acknowledged", world.users["property_a"].pk)
    assert page.locator(f"{row} button:text('确认')").count() == 0
    assert "已确认告警" in page.locator(".messages").inner_text()
    screens.shot(page, "acknowledged")

    # Another community's alert does not exist for this user.
    camera_b = register(world.estate_b, kind="ai_camera", serial="CAM-B", name="桂花摄像头")
    store(camera_b.device, event("camera.smoke_fire", local(23, 11)))
    other = Alert.objects.get(device=camera_b.device)
    assert page.goto(f"{live_server.url}/alerts/{other.pk}/").status == 404
    assert page.js_errors == []


def test_on_a_phone_the_board_and_an_alert_fit_the_screen(open_page, live_server):
    world = make_world()
    sensor = register(world.estate_a, kind="smoke_sensor", serial="SMOKE-1-1", name="1栋烟感",
                      longitude=114.2966, latitude=29.8334)
    store(sensor.device, event("sensor.smoke", local(23, 11)))
    smoke = Alert.objects.get()
    screens = Screens("alert-phone")
    page = open_page(width=390, height=844)

    log_in(page, live_server.url, "grid_a", PASSWORD)
    page.goto(f"{live_server.url}/alerts/")
    page.wait_for_selector(f"path.alert-marker-{smoke.pk}", state="attached")
    assert page.locator("#alert-map").is_visible()
    assert page.locator(f'#alert-board tr[data-alert="{smoke.pk}"]').is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screens.shot(page, "board")

    page.click(f'#alert-board tr[data-alert="{smoke.pk}"] a.alert-title')
    page.wait_for_selector("#alert-steps")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screens.shot(page, "alert")
    assert page.js_errors == []


def test_community_staff_override_a_default_rule_and_set_a_residents_threshold(open_page, live_server):
    world = make_world()
    screens = Screens("alert-rules")
    page = open_page(width=1366, height=900)
    log_in(page, live_server.url, "staff_a", PASSWORD)

    page.goto(f"{live_server.url}/alerts/rules/")
    default = page.locator("#rule-results tr[data-code=fire_lane]")
    assert default.count() == 1 and "平台默认" in default.inner_text()
    screens.shot(page, "rules")
    default.locator("text=在此覆盖").click()
    assert page.locator("#id_code").input_value() == "fire_lane"
    page.select_option("#id_severity", "critical")
    page.fill("#id_min_score", "2")
    page.click("#rule-form button[type=submit]")
    assert "置信度应在0到1之间" in page.locator(".has-error").inner_text()
    screens.shot(page, "rule-refused")
    page.fill("#id_min_score", "0.8")
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("text=规则已保存")
    rows = page.locator("#rule-results tr[data-code=fire_lane]")
    assert rows.count() == 2
    assert "生效" in rows.nth(1).inner_text() and "已被覆盖" in rows.nth(0).inner_text()
    screens.shot(page, "rule-overridden")

    page.click("text=独居老人关怀")
    row = page.locator(f"#care-results tr[data-resident='{world.resident_a.pk}']")
    row.locator("input[name=hours]").fill("36")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("text=已保存 王秀英 的未出门阈值")
    assert "36 小时" in page.locator(f"#care-results tr[data-resident='{world.resident_a.pk}'] .care-threshold").inner_text()
    screens.shot(page, "care")
    assert page.js_errors == []
