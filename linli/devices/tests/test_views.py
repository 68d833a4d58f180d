"""The device console: lists in scope with constant query counts, registration and import showing secrets once,
re-keying and retiring, the quarantine list with reprocessing, the passage search with pictures."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from linli.core.actor import Actor
from linli.devices.actions import add_credential, register_vehicle
from linli.devices.models import Device, DeviceEvent, QuarantinedPayload
from linli.devices.tests.helpers import Registered, counts, register
from linli.devices.tests.payloads import fixture, form_part, multipart, tiny_jpeg

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
SYSTEM = Actor.system("test")


def login(client, world, name: str):
    client.force_login(world.users[name])
    return client


def test_given_devices_of_two_communities_when_staff_open_the_list_then_they_see_their_own(world, client):
    register(world.entrance_a, serial="DOOR-A", name="梅园3栋门禁")
    register(world.estate_b, serial="DOOR-B", name="桂花北门")

    html = login(client, world, "staff_a").get("/devices/").content.decode()

    assert "梅园3栋门禁" in html and "桂花北门" not in html
    assert "祥和苑 1栋 1单元" in html and "登记设备" in html


def test_given_a_grid_worker_when_opening_the_list_then_devices_show_but_no_registration(world, client):
    register(world.entrance_a, serial="DOOR-A", name="梅园3栋门禁")

    html = login(client, world, "grid_a").get("/devices/").content.decode()

    assert "梅园3栋门禁" in html and "登记设备" not in html
    assert client.get("/devices/new/").status_code == 403


def test_given_the_device_list_when_it_grows_then_the_page_costs_the_same_queries(world, client):
    login(client, world, "staff_a")
    register(world.entrance_a, serial="DOOR-0")
    with CaptureQueriesContext(connection) as few:
        client.get("/devices/")
    for i in range(1, 15):
        register(world.dwelling_a if i % 2 else world.estate_a, serial=f"DOOR-{i}")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/devices/")
    assert len(response.context["rows"]) == 15
    assert len(many.captured_queries) == len(few.captured_queries)


def test_given_the_registration_form_when_submitted_then_the_secret_is_shown_once_and_works(world, client):
    login(client, world, "property_a")

    response = client.post("/devices/new/", {"place": world.entrance_a.pk, "kind": "wristband", "vendor": "generic",
                                             "serial": "WB-2026-00417", "name": "王秀英手环", "offline_after": 10,
                                             "wearer_id_number": "421202195003150027"})

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    [row] = response.context["rows"]
    device = Device.objects.get(serial="WB-2026-00417")
    assert (row["device"].pk, device.wearer_id) == (device.pk, world.resident_a.pk)
    assert row["secret"] in response.content.decode()
    assert row["secret"] not in client.get(f"/devices/{device.pk}/").content.decode()
    pushed = Registered(device, row["secret"]).push(client, "generic", fixture("generic/heart_rate.json"))
    assert pushed.status_code == 200


def test_given_a_registration_with_a_taken_serial_when_submitted_then_422_naming_it_and_nothing_written(world, client):
    register(world.entrance_a, serial="DOOR-1")
    login(client, world, "staff_a")
    before = counts()

    response = client.post("/devices/new/", {"place": world.entrance_a.pk, "kind": "face_terminal",
                                             "vendor": "generic", "serial": "DOOR-1", "name": "重复",
                                             "offline_after": 10})

    assert response.status_code == 422
    assert response.context["form"].errors["serial"] == ["该厂商下已有相同序列号的在用设备"]
    assert counts() == before


def test_given_a_device_page_when_staff_rotate_and_retire_then_a_new_secret_shows_and_the_device_retires(
        world, client):
    door = register(world.entrance_a, serial="DOOR-1")
    login(client, world, "staff_a")

    page = client.get(f"/devices/{door.pk}/")
    rotated = client.post(f"/devices/{door.pk}/rotate/")
    retired = client.post(f"/devices/{door.pk}/retire/")

    assert page.status_code == 200 and "POST /api/v1/ingest/generic" in page.content.decode()
    new = rotated.context["rows"][0]["secret"]
    assert new != door.secret and new in rotated.content.decode()
    assert retired.status_code == 302
    assert Device.objects.get(pk=door.pk).retired_at is not None
    assert login(client, world, "staff_b").get(f"/devices/{door.pk}/").status_code == 404
    assert client.post(f"/devices/{door.pk}/rotate/").status_code == 404


def test_given_a_bad_sheet_when_imported_in_the_console_then_422_with_the_row_and_column_of_each_error(world, client):
    wb = Workbook()
    wb.active.append(["名称", "类型", "厂商", "序列号"])
    wb.active.append(["北门", "烤面包机", "通用", "X-1"])
    data = io.BytesIO()
    wb.save(data)
    login(client, world, "staff_a")

    response = client.post("/devices/import/", {"place": world.estate_a.pk,
                                                "file": SimpleUploadedFile("d.xlsx", data.getvalue())})

    assert response.status_code == 422
    assert response.context["row_errors"] == [{"row": 2, "column": "类型", "code": "invalid_choice",
                                               "message": "第 2 行“类型”：设备类型无效"}]
    assert Device.objects.count() == 0
    assert client.get("/devices/import/template.xlsx")["Content-Type"].startswith("application/vnd.openxmlformats")


def test_given_quarantined_payloads_when_listed_and_reprocessed_then_operators_see_the_reason_and_fix_it(
        world, client):
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-1")
    gateway.push(client, "generic", b'{"device": "SMK-1", "kind": "sensor.smoke", "time": "2026-04-23T03:00:00Z"}')
    item = QuarantinedPayload.objects.get()
    register(world.dwelling_a, kind="smoke_sensor", serial="SMK-1", gateway=gateway.device)
    login(client, world, "staff_a")

    listing = client.get("/devices/quarantine/").content.decode()
    detail = client.get(f"/devices/quarantine/{item.pk}/").content.decode()
    done = client.post(f"/devices/quarantine/{item.pk}/reprocess/", follow=True)

    assert "not_own_device" in listing and "该设备未登记在此网关之下" in listing
    assert "SMK-1" in detail and "sensor.smoke" in detail
    assert "已重新处理，存入 1 条事件" in done.content.decode()
    assert DeviceEvent.objects.get().kind == "sensor.smoke"
    assert login(client, world, "staff_b").get(f"/devices/quarantine/{item.pk}/").status_code == 404


def test_given_passages_with_pictures_when_searched_by_plate_then_rows_link_their_pictures(world, client):
    gate = register(world.estate_a, kind="barrier_gate", vendor="hikvision", serial="44:19:b6:0a:31:5c")
    register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345", owner=world.resident_a)
    body, content_type = multipart([
        form_part("anpr.xml", "application/xml", fixture("hikvision/anpr_isapi.xml"), "anpr.xml"),
        form_part("detectionPicture.jpg", "image/jpeg", tiny_jpeg(b"scene"), "detectionPicture.jpg")])
    gate.push(client, "hikvision", body, content_type)
    event = DeviceEvent.objects.get()

    response = login(client, world, "grid_a").get("/devices/passages/", {"plate": "鄂l12345"})

    html = response.content.decode()
    assert [r.pk for r in response.context["rows"]] == [event.pk]
    assert "王秀英" in html and f"/devices/events/{event.pk}/media/0/?thumb=1" in html
    assert client.get(f"/devices/events/{event.pk}/media/0/?thumb=1").status_code == 200
    assert login(client, world, "staff_b").get("/devices/passages/").context["rows"] == []


def test_given_the_passage_search_when_passages_multiply_then_the_page_costs_the_same_queries(world, client):
    door = register(world.entrance_a, serial="DOOR-A")
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", device=door.device)

    def pass_door(n: int) -> None:
        door.push(client, "generic", json.dumps({
            "kind": "passage.card", "time": f"2026-04-23T08:{n:02d}:00+08:00",
            "subject": {"kind": "resident", "ref": "C1", "ref_type": "card_no"}}).encode())

    pass_door(0)
    login(client, world, "staff_a")
    with CaptureQueriesContext(connection) as few:
        client.get("/devices/passages/")
    for n in range(1, 20):
        pass_door(n)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/devices/passages/")
    assert len(response.context["rows"]) == 20
    assert len(many.captured_queries) == len(few.captured_queries)


def test_given_a_resident_or_a_system_administrator_when_opening_passages_then_403(world, client):
    assert login(client, world, "resident_a").get("/devices/passages/").status_code == 403
    assert login(client, world, "sysadmin").get("/devices/passages/").status_code == 403
    assert client.get("/devices/").status_code == 200
