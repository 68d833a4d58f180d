"""The rules Linli ships, as data: written by the migration 0002_default_rules for every place (no place), and
overridable per community by a rule of the same code at its place."""

from __future__ import annotations

import datetime as dt
from typing import Any

FIRE_LANE_ESCALATION = [{"after_minutes": 15, "to_role": "community_staff"}]
SAFETY_ESCALATION = [{"after_minutes": 5, "to_role": "community_staff"}, {"after_minutes": 15, "to_role": "street_admin"}]

DEFAULT_RULES: list[dict[str, Any]] = [
    {"code": "fire_lane", "name": "消防通道占用", "name_en": "fire lane occupied",
     "event_kinds": ["camera.fire_lane"], "min_score": 0.6, "min_stationary_seconds": 120, "severity": "major",
     "route_roles": ["property_staff"], "escalation": FIRE_LANE_ESCALATION, "auto_resolve_minutes": 60},
    {"code": "bin_overflow", "name": "垃圾满溢", "name_en": "bin overflowing",
     "event_kinds": ["camera.bin_overflow"], "min_score": 0.6, "severity": "minor",
     "route_roles": ["property_staff"], "auto_resolve_minutes": 240},
    {"code": "thrown_object", "name": "高空抛物", "name_en": "object thrown from height",
     "event_kinds": ["camera.thrown_object"], "min_score": 0.5, "severity": "major",
     "route_roles": ["property_staff", "grid_worker"], "escalation": FIRE_LANE_ESCALATION},
    {"code": "smoke_fire", "name": "烟火告警", "name_en": "smoke or fire",
     "event_kinds": ["camera.smoke_fire", "sensor.smoke"], "severity": "critical",
     "route_roles": ["property_staff", "grid_worker", "community_staff"], "escalation": SAFETY_ESCALATION},
    {"code": "night_intrusion", "name": "夜间入侵", "name_en": "intrusion at night",
     "event_kinds": ["camera.intrusion", "camera.region_entrance", "camera.line_crossing"], "min_score": 0.6,
     "time_from": dt.time(22, 0), "time_until": dt.time(6, 0), "severity": "major",
     "route_roles": ["property_staff"], "auto_resolve_minutes": 30},
    {"code": "illegal_parking", "name": "违规停车", "name_en": "illegal parking",
     "event_kinds": ["camera.illegal_parking"], "min_score": 0.6, "min_stationary_seconds": 300,
     "severity": "warning", "route_roles": ["property_staff"], "auto_resolve_minutes": 120},
    {"code": "gas_leak", "name": "燃气泄漏", "name_en": "gas leak",
     "event_kinds": ["sensor.gas"], "severity": "critical",
     "route_roles": ["property_staff", "grid_worker", "community_staff"], "escalation": SAFETY_ESCALATION},
    {"code": "wristband_emergency", "name": "手环求救或跌倒", "name_en": "wristband SOS or fall",
     "event_kinds": ["wristband.sos", "wristband.fall"], "severity": "critical",
     "route_roles": ["grid_worker", "community_staff"], "escalation": SAFETY_ESCALATION},
    {"code": "device_offline", "name": "设备离线", "name_en": "device offline",
     "event_kinds": ["device.offline"], "severity": "warning", "route_roles": ["property_staff"],
     "resolve_kinds": ["device.online"]},
]
