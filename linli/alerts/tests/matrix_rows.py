"""The rows tests/test_permission_matrix.py calls the alert routes on, per community: an open fire-lane alert
raised by a camera of the community's estate through the device pipeline, and a rule of the community."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from linli.alerts.actions import create_rule
from linli.alerts.models import Alert
from linli.core.actor import Actor
from linli.devices.actions import register_device
from linli.devices.adapters import parse_generic
from linli.devices.ingest import record_device_events
from linli.devices.pipeline import after_store

FIRE_LANE = {"kind": "camera.fire_lane", "time": "2026-04-23T10:00:00+08:00", "score": 0.9,
             "attrs": {"stationary_s": 300}}


def build_alert_rows(world: Any, side: str) -> dict[str, Any]:
    system = Actor.system("matrix-setup")
    estate = world.estate_a if side == "a" else world.estate_b
    community = world.community_a if side == "a" else world.community_b
    camera, _secret = register_device(actor=system, place=estate, kind="ai_camera", vendor="generic",
                                      serial=f"MATRIX-ALERT-CAM-{side}", name="矩阵告警摄像头")
    events = parse_generic(json.dumps(FIRE_LANE).encode(), default_device=camera.serial).events
    stored = record_device_events(device=camera, vendor="generic", source="generic", events=events,
                                  received_at=dt.datetime(2026, 4, 23, 2, 0, tzinfo=dt.UTC)).stored
    after_store(stored)
    rule = create_rule(actor=system, place=community, fields={
        "code": "loitering", "name": "徘徊", "event_kinds": ["camera.loitering"], "severity": "minor"})
    return {"alert": Alert.objects.get(device=camera), "rule": rule}
