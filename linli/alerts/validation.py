"""Checking a rule's fields: every error names its field, in Chinese and English; nothing is written on refusal."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from linli.core.errors import ErrorCollector
from linli.core.permissions import Role
from linli.devices.adapters import EventKind

from .choices import RouteRole, Severity

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
KINDS = frozenset(EventKind)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _time(errors: ErrorCollector, name: str, value: Any) -> dt.time | None:
    if value is None or isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        errors.add(name, "invalid", "时间格式应为 HH:MM", "a time is written HH:MM")
        return None


def _escalation(errors: ErrorCollector, table: Any) -> None:
    if not isinstance(table, list):
        errors.add("escalation", "invalid", "升级表应为列表", "escalation is a list")
        return
    last = 0
    for i, step in enumerate(table):
        minutes = step.get("after_minutes") if isinstance(step, dict) else None
        role = step.get("to_role") if isinstance(step, dict) else None
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= last:
            errors.add(f"escalation.{i}.after_minutes", "invalid", "升级时间（分钟）应为递增的正整数",
                       "after_minutes are positive whole minutes, increasing")
        else:
            last = minutes
        if role not in Role.values or role in (Role.RESIDENT, Role.SYSTEM_ADMIN):
            errors.add(f"escalation.{i}.to_role", "invalid_choice", "升级对象角色无效", f"unknown role {role!r}")


def check_rule(fields: dict[str, Any]) -> dict[str, Any]:
    """The rule's fields checked and normalised (times parsed); ValidationFailed naming each bad field."""
    errors = ErrorCollector()
    out = dict(fields)
    if not isinstance(fields.get("code"), str) or not CODE.match(fields["code"]):
        errors.add("code", "invalid", "代码为小写字母、数字和下划线", "a code is lower-case letters, digits and _")
    if not str(fields.get("name") or "").strip():
        errors.add("name", "required", "请填写名称", "give a name")
    kinds = fields.get("event_kinds")
    if not _strings(kinds) or not kinds or set(kinds) - KINDS:
        errors.add("event_kinds", "invalid_choice", "事件类型无效", "give known event kinds")
    if not _strings(fields.get("resolve_kinds", [])) or set(fields.get("resolve_kinds") or []) - KINDS:
        errors.add("resolve_kinds", "invalid_choice", "事件类型无效", "give known event kinds")
    score = fields.get("min_score")
    if score is not None and not (isinstance(score, (int, float)) and 0 <= score <= 1):
        errors.add("min_score", "out_of_range", "置信度应在0到1之间", "min_score is between 0 and 1")
    if not _strings(fields.get("zones", [])):
        errors.add("zones", "invalid", "区域应为文字列表", "zones is a list of names")
    if (fields.get("repeat_count") or 1) > 1 and not fields.get("repeat_minutes"):
        errors.add("repeat_minutes", "required", "多次触发须指定时间窗（分钟）", "repeats need repeat_minutes")
    out["time_from"] = _time(errors, "time_from", fields.get("time_from"))
    out["time_until"] = _time(errors, "time_until", fields.get("time_until"))
    if (out["time_from"] is None) != (out["time_until"] is None):
        errors.add("time_until", "required", "时间段须同时填写开始和结束", "give both time_from and time_until")
    days = fields.get("weekdays", [])
    if not isinstance(days, list) or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        errors.add("weekdays", "invalid", "星期应为0（周一）到6（周日）", "weekdays are 0 (Monday) to 6 (Sunday)")
    if fields.get("severity") not in Severity.values:
        errors.add("severity", "invalid_choice", "级别无效", "unknown severity")
    roles = fields.get("route_roles", [])
    if not _strings(roles) or set(roles) - set(RouteRole.values):
        errors.add("route_roles", "invalid_choice", "通知角色无效", "unknown role to route to")
    _escalation(errors, fields.get("escalation", []))
    errors.raise_if_any()
    return out
