"""Devices from a spreadsheet: the template reads back as an empty sheet, a good sheet registers every device with
its secret (a gateway of the sheet first), a sheet with any bad cell registers nothing and names each cell."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry
from linli.devices.imports import COLUMNS, import_devices, template_workbook
from linli.devices.models import Device
from linli.devices.tests.helpers import counts, register

pytestmark = pytest.mark.django_db
HEADER = ["名称", "类型", "厂商", "序列号", "安装位置", "经度", "纬度", "所属网关序列号", "佩戴人身份证号", "离线判定（分钟）"]
RA_ID = "421202195003150027"


def sheet(*rows: list, header: list | None = None, title_rows: int = 0) -> bytes:
    wb = Workbook()
    for _ in range(title_rows):
        wb.active.append(["梅园社区设备台账"])
    wb.active.append(header or HEADER)
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def errors_of(exc: ValidationFailed) -> list[tuple[str, str, str]]:
    return [(e.field, e.code, e.message_zh) for e in exc.errors]


def test_given_the_template_when_opened_then_it_has_the_header_and_instructions():
    wb = load_workbook(io.BytesIO(template_workbook()))

    assert [c.value for c in wb["设备"][1]] == [c.zh for c in COLUMNS] == HEADER
    assert wb.sheetnames == ["设备", "说明 Instructions"]


def test_given_a_good_sheet_when_imported_then_every_device_is_registered_with_a_secret(world):
    data = sheet(
        ["3栋门禁", "人脸门禁", "海康威视", "BC-5E-33-4A-7C-21", "1栋/1单元", 114.2961, 29.8331, None, None, None],
        ["王秀英手环", "智能手环", "通用", "WB-2026-00417", "1栋 1单元 101", None, None, "GW-MY-01", RA_ID, 30],
        ["梅园网关", "传感器网关", "generic", "GW-MY-01", None, None, None, None, None, None],
        title_rows=2,
    )

    created = import_devices(actor=world.actor("staff_a"), place=world.estate_a, data=data)

    by_serial = {d.serial: (d, s) for d, s in created}
    assert sorted(by_serial) == ["GW-MY-01", "WB-2026-00417", "bc:5e:33:4a:7c:21"]
    band = Device.objects.get(serial="WB-2026-00417")
    gateway = Device.objects.get(serial="GW-MY-01")
    assert (band.kind, band.place_id, band.wearer_id, band.gateway_id, band.offline_after) == (
        "wristband", world.dwelling_a.pk, world.resident_a.pk, gateway.pk, 30)
    door = Device.objects.get(serial="bc:5e:33:4a:7c:21")
    assert (door.vendor, door.place_id, door.longitude, door.latitude) == ("hikvision", world.entrance_a.pk, 114.2961,
                                                                           29.8331)
    assert gateway.place_id == world.estate_a.pk
    assert all(len(secret) == 24 for _d, secret in created)
    assert AuditEntry.objects.filter(action="device.import").count() == 3


def test_given_a_sheet_with_bad_cells_when_imported_then_nothing_is_registered_and_each_cell_is_named(world):
    register(world.estate_a, serial="DOOR-OLD")
    data = sheet(
        ["", "烤面包机", "索尼", "DOOR-1", "9栋", None, None, None, None, None],
        ["门禁2", "门禁", "通用", "DOOR-OLD", None, 200, 29.8, None, None, None],
        ["门禁3", "门禁", "通用", "DOOR-3", None, None, None, "GW-NONE", "421202195003150028", None],
        ["门禁4", "门禁", "通用", "DOOR-3", None, None, None, None, RA_ID, None],
    )
    before = counts()

    with pytest.raises(ValidationFailed) as exc:
        import_devices(actor=world.actor("staff_a"), place=world.estate_a, data=data)

    assert errors_of(exc.value) == [
        ("rows.2.kind", "invalid_choice", "第 2 行“类型”：设备类型无效"),
        ("rows.2.vendor", "invalid_choice", "第 2 行“厂商”：厂商无效"),
        ("rows.2.name", "required", "第 2 行“名称”：请填写不超过 100 字的名称"),
        ("rows.2.location", "unknown", "第 2 行“安装位置”：在导入地点之下找不到该位置"),
        ("rows.3.longitude", "out_of_range", "第 3 行“经度”：经度应在 -180 到 180 之间"),
        ("rows.5.serial", "duplicate", "第 5 行“序列号”：与第 4 行重复"),
        ("rows.3.serial", "registered", "第 3 行“序列号”：该序列号已登记"),
        ("rows.4.wearer", "check_digit", "第 4 行“佩戴人身份证号”：身份证号校验位不正确（可能录错一位）"),
        ("rows.4.gateway", "unknown", "第 4 行“所属网关序列号”：找不到该序列号的网关（已登记或在本表中）"),
        ("rows.5.wearer", "not_wristband", "第 5 行“佩戴人身份证号”：只有智能手环可以登记佩戴人"),
    ]
    assert exc.value.errors[0].message_en == "row 2, Kind: unknown kind '烤面包机'"
    assert counts() == before


def test_given_a_file_that_is_not_a_device_sheet_when_imported_then_the_file_is_refused(world):
    staff = world.actor("staff_a")
    for data, code in ((b"name,serial\n", "not_xlsx"), (sheet(["x"], header=["姓名", "身份证号"]), "no_header"),
                       (sheet(header=HEADER), "empty"), (sheet(["a", "门禁"], header=["名称", "序列号", "类型"]),
                                                         "missing_columns")):
        with pytest.raises(ValidationFailed) as exc:
            import_devices(actor=staff, place=world.estate_a, data=data)
        assert [(e.field, e.code) for e in exc.value.errors] == [("file", code)]
    assert Device.objects.count() == 0


def test_given_the_api_when_a_sheet_is_uploaded_then_201_with_secrets_or_422_with_every_error(world, client):
    client.force_login(world.users["property_a"])
    good = SimpleUploadedFile("devices.xlsx", sheet(["北门道闸", "道闸", "大华", "DH-GATE-1"] + [None] * 6))
    bad = SimpleUploadedFile("devices.xlsx", sheet(["北门道闸", "道闸", "大华", "DH-GATE-1"] + [None] * 6))

    created = client.post("/api/v1/devices/import", {"place_id": world.estate_a.pk, "file": good})
    refused = client.post("/api/v1/devices/import", {"place_id": world.estate_a.pk, "file": bad})

    assert created.status_code == 201
    [device] = created.json()["devices"]
    assert (created.json()["count"], device["serial"], len(device["secret"])) == (1, "DH-GATE-1", 24)
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("rows.2.serial", "registered")]


def test_given_a_place_outside_the_actor_area_when_a_sheet_is_uploaded_then_404(world, client):
    client.force_login(world.users["staff_b"])
    upload = SimpleUploadedFile("devices.xlsx", sheet(["北门道闸", "道闸", "大华", "DH-GATE-1"] + [None] * 6))

    response = client.post("/api/v1/devices/import", {"place_id": world.estate_a.pk, "file": upload})

    assert response.status_code == 404
    assert Device.objects.count() == 0
