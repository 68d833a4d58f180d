"""The rows tests/test_permission_matrix.py calls the device routes on, per community: a door with a resolved
passage, a quarantined payload, a credential, a vehicle and a visitor pass; and a one-device import sheet."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook

from linli.core.actor import Actor
from linli.devices.actions import add_credential, issue_visitor_pass, register_device, register_vehicle
from linli.devices.adapters import Quarantine, parse_generic
from linli.devices.ingest import quarantine_payload, record_device_events

PASSAGE = (b'{"kind": "passage.card", "time": "2026-04-23T08:00:00+08:00", '
           b'"subject": {"kind": "resident", "ref": "M-1", "ref_type": "card_no"}}')
BROKEN = b'{"kind": "passage.card", "time": '


def build_device_rows(world: Any, side: str) -> dict[str, Any]:
    system = Actor.system("matrix-setup")
    estate = world.estate_a if side == "a" else world.estate_b
    resident = world.resident_a if side == "a" else world.resident_b
    door, _secret = register_device(actor=system, place=estate, kind="face_terminal", vendor="generic",
                                    serial=f"MATRIX-DOOR-{side}", name="矩阵门禁")
    credential = add_credential(actor=system, resident=resident, ref_type="card_no", ref="M-1", device=door)
    received = dt.datetime(2026, 4, 23, 0, 1, tzinfo=dt.UTC)
    stored = record_device_events(device=door, vendor="generic", source="generic", received_at=received,
                                  events=parse_generic(PASSAGE, default_device=door.serial).events).stored
    try:
        parse_generic(BROKEN)
    except Quarantine as error:
        item = quarantine_payload(device=door, source="generic", body=BROKEN, content_type="application/json",
                                  error=error, received_at=received)
    return {
        "device": door,
        "event": door.events.get(pk=stored[0]),
        "quarantine": item,
        "credential": credential,
        "vehicle": register_vehicle(actor=system, place=estate, plate=f"鄂L0000{1 if side == 'a' else 2}"),
        "pass": issue_visitor_pass(actor=system, place=estate, name="刘先生"),
        "resident": resident,
    }


def device_sheet(serial: str) -> bytes:
    wb = Workbook()
    wb.active.append(["名称", "类型", "厂商", "序列号"])
    wb.active.append(["矩阵摄像头", "AI摄像头", "通用", serial])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
