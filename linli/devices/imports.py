"""Devices from a spreadsheet: the template, and an import that checks every row and then registers all devices or
none. Each refused cell is reported with its row, column and reason in Chinese and English.

Rows name their place below the place chosen for the import ("1栋/1单元", blank for the chosen place), their
gateway by serial (registered already, or another row of the sheet), a wristband's wearer by ID number.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any, cast

from django.db import transaction
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.errors import ErrorCollector, FieldError, ValidationFailed
from linli.core.identity import IdNumberError, clean_text, normalize_id_number
from linli.core.permissions import Perm
from linli.people.imports.reader import open_workbook
from linli.people.models import Resident
from linli.people.queries import visible_residents
from linli.places.choices import PlaceStatus
from linli.places.models import Place

from .actions import check_relations, clean_device_fields, clean_serial, create_devices
from .choices import GATEWAY_KINDS, DeviceKind, Vendor
from .models import Device

MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024
HEADER_SCAN_ROWS = 10
SHEET_TITLE = "设备"


@dataclass(frozen=True)
class Column:
    field: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    note_zh: str = ""
    note_en: str = ""


COLUMNS = (
    Column("name", "名称", "Name", ("设备名称", "name"), True, "如 3栋1单元门禁", "e.g. 3栋1单元门禁"),
    Column("kind", "类型", "Kind", ("设备类型", "kind", "type"), True,
           "人脸识别门禁 / 道闸 / AI摄像头 / 硬盘录像机 / 传感器网关 / 智能手环 / 燃气传感器 / 烟雾传感器",
           "face_terminal / barrier_gate / ai_camera / nvr / sensor_gateway / wristband / gas_sensor / smoke_sensor"),
    Column("vendor", "厂商", "Vendor", ("品牌", "vendor"), True, "通用格式 / 海康威视 / 大华 / Frigate / 其他",
           "generic / hikvision / dahua / frigate / other"),
    Column("serial", "序列号", "Serial", ("设备序列号", "MAC", "设备编号", "serial"), True,
           "设备上报时使用的标识：序列号，海康设备填 MAC 地址，Frigate 填摄像机名",
           "how the device names itself: its serial, a Hikvision device's MAC address, a Frigate camera's name"),
    Column("location", "安装位置", "Location", ("位置", "location"), False,
           "导入地点之下的位置，如 1栋/1单元；留空即导入地点本身",
           "the place below the chosen one, e.g. 1栋/1单元; blank: the chosen place"),
    Column("longitude", "经度", "Longitude", ("longitude", "lng"), False, "WGS-84，如 114.2961", "WGS-84, e.g. 114.2961"),
    Column("latitude", "纬度", "Latitude", ("latitude", "lat"), False, "WGS-84，如 29.8331", "WGS-84, e.g. 29.8331"),
    Column("gateway", "所属网关序列号", "Gateway serial", ("网关", "网关序列号", "gateway"), False,
           "通过网关或硬盘录像机上报的设备填写网关的序列号", "for devices reporting through a gateway or NVR"),
    Column("wearer", "佩戴人身份证号", "Wearer ID number", ("佩戴人", "wearer"), False,
           "仅智能手环；须是已登记的居民", "wristbands only; a registered resident"),
    Column("offline_after", "离线判定（分钟）", "Offline after (minutes)", ("离线判定", "offline_after"), False,
           "多久没有心跳视为离线，默认 10", "minutes without a sign of life before offline; default 10"),
)
BY_FIELD = {c.field: c for c in COLUMNS}

KIND_WORDS: dict[str, str] = {
    "人脸识别门禁": DeviceKind.FACE_TERMINAL, "人脸门禁": DeviceKind.FACE_TERMINAL, "门禁": DeviceKind.FACE_TERMINAL,
    "道闸": DeviceKind.BARRIER_GATE, "车牌识别": DeviceKind.BARRIER_GATE, "道闸/车牌识别": DeviceKind.BARRIER_GATE,
    "ai摄像头": DeviceKind.AI_CAMERA, "摄像头": DeviceKind.AI_CAMERA, "智能摄像头": DeviceKind.AI_CAMERA,
    "硬盘录像机": DeviceKind.NVR, "录像机": DeviceKind.NVR, "传感器网关": DeviceKind.SENSOR_GATEWAY,
    "网关": DeviceKind.SENSOR_GATEWAY, "智能手环": DeviceKind.WRISTBAND, "手环": DeviceKind.WRISTBAND,
    "燃气传感器": DeviceKind.GAS_SENSOR, "燃气报警器": DeviceKind.GAS_SENSOR, "烟雾传感器": DeviceKind.SMOKE_SENSOR,
    "烟感": DeviceKind.SMOKE_SENSOR, "烟雾报警器": DeviceKind.SMOKE_SENSOR,
    **{k.value: k for k in DeviceKind},
}
VENDOR_WORDS: dict[str, str] = {
    "通用格式": Vendor.GENERIC, "通用": Vendor.GENERIC, "海康威视": Vendor.HIKVISION, "海康": Vendor.HIKVISION,
    "大华": Vendor.DAHUA, "其他": Vendor.OTHER, **{v.value: v for v in Vendor},
}
_SEPARATORS = re.compile(r"[/／>＞\s]+")


def _key(value: object) -> str:
    return re.sub(r"[\s*＊:：()（）]", "", clean_text(value)).lower()


_HEADERS = {_key(name): c.field for c in COLUMNS for name in (c.zh, c.en, *c.aliases)}


# ------------------------------------------------------------------------------------------------ template

def template_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    ws.append([c.zh for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[get_column_letter(index)].width = 16
        if column.field == "serial":
            ws.column_dimensions[get_column_letter(index)].number_format = "@"
    for field, words in (("kind", ["人脸识别门禁", "道闸", "AI摄像头", "硬盘录像机", "传感器网关", "智能手环",
                                   "燃气传感器", "烟雾传感器"]),
                         ("vendor", ["通用格式", "海康威视", "大华", "Frigate", "其他"])):
        letter = get_column_letter([c.field for c in COLUMNS].index(field) + 1)
        choice = DataValidation(type="list", formula1=f'"{",".join(words)}"', allow_blank=True,
                                errorStyle="warning", showErrorMessage=True, error="请从列表中选择 / choose from the list")
        choice.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(choice)
    notes = wb.create_sheet("说明 Instructions")
    notes.append(["列 Column", "必填 Required", "说明", "Notes"])
    for column in COLUMNS:
        notes.append([f"{column.zh} {column.en}", "是 yes" if column.required else "", column.note_zh, column.note_en])
    notes.append([])
    notes.append(["", "", "有任何一行错误时不会导入任何设备，并列出每个错误的行、列和原因。",
                  "If any row has an error no device is imported, and every error is listed by row, column and reason."])
    notes.append(["", "", "导入完成后页面只显示一次各设备的密钥，请立即配置到设备上。",
                  "The devices' secrets are shown once after the import: configure them on the devices right away."])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ reading

@dataclass
class _Row:
    number: int
    cells: dict[str, Any]
    clean: dict[str, Any]
    place: Place | None = None
    wearer: Resident | None = None
    gateway: Device | None = None
    gateway_row: _Row | None = None


class _Sheet:
    def __init__(self, errors: ErrorCollector):
        self.errors = errors

    def add(self, row: int, field: str, code: str, zh: str, en: str) -> None:
        column = BY_FIELD[field]
        self.errors.add(f"rows.{row}.{field}", code, f"第 {row} 行“{column.zh}”：{zh}", f"row {row}, {column.en}: {en}")


def _file_error(code: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(FieldError("file", code, zh, en))


def read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The data rows of the first sheet with a header row, as {field: cell}, blank rows left out."""
    workbook = open_workbook(data)
    try:
        for sheet in workbook.sheets:
            columns: dict[str, int] | None = None
            rows: list[tuple[int, dict[str, Any]]] = []
            for number, cells in workbook.rows(sheet):
                if columns is None:
                    if number > HEADER_SCAN_ROWS:
                        break
                    found = {_HEADERS[_key(v)]: i for i, v in enumerate(cells) if v not in (None, "") and _key(v) in _HEADERS}
                    if {"name", "serial"} <= found.keys():
                        columns = found
                    continue
                values = {f: cells[i] if i < len(cells) else None for f, i in columns.items()}
                if any(clean_text(v) for v in values.values()):
                    rows.append((number, values))
                if len(rows) > MAX_ROWS:
                    raise _file_error("too_many_rows", f"一次最多导入 {MAX_ROWS} 台设备", f"at most {MAX_ROWS} devices at once")
            if columns is not None:
                missing = [c for c in COLUMNS if c.required and c.field not in columns]
                if missing:
                    raise _file_error("missing_columns", f"缺少必填列：{'、'.join(c.zh for c in missing)}",
                                      f"required columns are missing: {', '.join(c.en for c in missing)}")
                if not rows:
                    raise _file_error("empty", "表格中没有设备", "the sheet lists no device")
                return rows
    finally:
        workbook.close()
    raise _file_error("no_header", "找不到表头行（名称、类型、厂商、序列号），请使用导入模板",
                      "no header row (name, kind, vendor, serial) was found; use the import template")


# ------------------------------------------------------------------------------------------------ checking

def _word(value: Any, words: dict[str, str]) -> str:
    text = _key(value)
    return words.get(text, text)


def _places_under(root: Place) -> dict[tuple[int, str], Place]:
    places = Place.objects.filter(path__startswith=root.path, status=PlaceStatus.ACTIVE)
    return {(p.parent_id, p.name): p for p in places if p.pk != root.pk}


def _locate(root: Place, text: str, places: dict[tuple[int, str], Place]) -> Place | None:
    place = root
    for name in (n for n in _SEPARATORS.split(clean_text(text)) if n):
        found = places.get((place.pk, name))
        if found is None:
            return None
        place = found
    return place


def _wearers(actor: Actor, rows: list[_Row], sheet: _Sheet) -> None:
    hashes: dict[int, str] = {}
    for row in rows:
        value = row.cells.get("wearer")
        if clean_text(value):
            try:
                hashes[row.number] = lookup_hash("id", normalize_id_number(value)) or ""
            except IdNumberError as exc:
                sheet.add(row.number, "wearer", exc.code, exc.zh, exc.en)
    found = {r.id_hash: r for r in visible_residents(actor).filter(id_hash__in=set(hashes.values()))}
    for row in rows:
        if row.number in hashes and hashes[row.number]:
            row.wearer = found.get(hashes[row.number])
            if row.wearer is None:
                sheet.add(row.number, "wearer", "unknown", "没有此身份证号的居民", "no resident with this ID number")


def _gateways(actor: Actor, rows: list[_Row], sheet: _Sheet) -> None:
    in_sheet = {r.clean.get("serial"): r for r in rows if r.clean.get("kind") in GATEWAY_KINDS}
    wanted = {}
    for row in rows:
        if clean_text(row.cells.get("gateway")):
            wanted[row.number] = clean_serial(row.cells["gateway"], ErrorCollector(), "gateway")
    registered = {d.serial: d for d in Device.objects.filter(actor.scope_q(Perm.DEVICE_VIEW), kind__in=GATEWAY_KINDS,
                                                             serial__in=set(wanted.values()), retired_at__isnull=True)}
    for row in rows:
        serial = wanted.get(row.number)
        if not serial:
            continue
        if serial in registered:
            row.gateway = registered[serial]
        elif serial in in_sheet and in_sheet[serial] is not row and not clean_text(in_sheet[serial].cells.get("gateway")):
            row.gateway_row = in_sheet[serial]
        else:
            sheet.add(row.number, "gateway", "unknown", "找不到该序列号的网关（已登记或在本表中）",
                      "no gateway with this serial (registered, or in this sheet)")


def check_rows(actor: Actor, root: Place, raw_rows: list[tuple[int, dict[str, Any]]]) -> list[_Row]:
    """Every row checked; ValidationFailed naming each bad cell when any is bad."""
    errors = ErrorCollector()
    sheet = _Sheet(errors)
    places = _places_under(root)
    rows = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in raw_rows:
        row_errors = ErrorCollector()
        data = {"name": cells.get("name"), "serial": cells.get("serial"),
                "kind": _word(cells.get("kind"), KIND_WORDS), "vendor": _word(cells.get("vendor"), VENDOR_WORDS)}
        for field in ("longitude", "latitude", "offline_after"):
            if clean_text(cells.get(field)):
                data[field] = cells.get(field)
        row = _Row(number, cells, clean_device_fields(data, row_errors, partial=False))
        for error in row_errors.errors:
            sheet.add(number, error.field if error.field in BY_FIELD else "name", error.code, error.message_zh,
                      error.message_en)
        row.place = _locate(root, cells.get("location") or "", places)
        if row.place is None:
            sheet.add(number, "location", "unknown", "在导入地点之下找不到该位置", "no such place below the chosen one")
        key = (row.clean.get("vendor", ""), row.clean.get("serial", ""))
        if all(key) and key in seen:
            sheet.add(number, "serial", "duplicate", f"与第 {seen[key]} 行重复", f"repeats row {seen[key]}")
        seen.setdefault(key, number)
        rows.append(row)
    taken = set(Device.objects.filter(retired_at__isnull=True, serial__in={k[1] for k in seen})
                .values_list("vendor", "serial"))
    for row in rows:
        if (row.clean.get("vendor"), row.clean.get("serial")) in taken:
            sheet.add(row.number, "serial", "registered", "该序列号已登记", "this serial is already registered")
    _wearers(actor, rows, sheet)
    _gateways(actor, rows, sheet)
    for row in rows:
        if row.place is None or "kind" not in row.clean:
            continue
        if not actor.can(Perm.DEVICE_MANAGE, row.place.path):
            sheet.add(row.number, "location", "forbidden", "您无权在此位置登记设备", "you may not register devices here")
        relation = ErrorCollector()
        check_relations(relation, kind=row.clean["kind"], place=row.place, wearer=row.wearer, gateway=row.gateway)
        for error in relation.errors:
            sheet.add(row.number, {"wearer": "wearer", "gateway": "gateway"}.get(error.field, "location"), error.code,
                      error.message_zh, error.message_en)
    errors.raise_if_any()
    return rows


def import_devices(*, actor: Actor, place: Place, data: bytes) -> list[tuple[Device, str]]:
    """Register every device of the sheet under ``place``, or none when any row is bad. Returns the devices with
    their secrets (shown once)."""
    actor.require(Perm.DEVICE_MANAGE, place.path)
    if len(data) > MAX_BYTES:
        raise _file_error("too_large", "文件过大（最大 5 MB）", "the file is too large (at most 5 MB)")
    rows = check_rows(actor, place, read_rows(data))
    # Gateways named by other rows of the sheet are registered first, so their devices can point at them.
    created: dict[int, Device] = {}
    result = []
    with transaction.atomic():
        for batch in ([r for r in rows if r.gateway_row is None], [r for r in rows if r.gateway_row is not None]):
            specs = [(cast(Place, row.place), row.wearer,
                      row.gateway or (created[row.gateway_row.number] if row.gateway_row else None), row.clean)
                     for row in batch]
            made = create_devices(actor=actor, devices=specs, action="device.import")
            created.update((row.number, device) for row, (device, _secret) in zip(batch, made, strict=True))
            result += made
    return result
