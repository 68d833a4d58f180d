"""Rule evaluation: the enabled rules compiled once per process and rebuilt when a rule changes, then matched
against stored device events in memory. Only a rule with "N repeats within M minutes" asks the database (one
count per candidate event)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from .models import Rule

EVENT_FIELDS = ("pk", "device_id", "kind", "occurred_at", "place_path", "score", "zone", "attrs", "subject_kind",
                "subject_ref", "resident_id")


@dataclass(frozen=True)
class CompiledRule:
    pk: int
    code: str
    name: str
    place_path: str
    enabled: bool
    kinds: frozenset[str]
    min_score: float | None
    zones: frozenset[str]
    min_stationary_seconds: int | None
    repeat_count: int
    repeat_minutes: int | None
    time_from: dt.time | None
    time_until: dt.time | None
    weekdays: frozenset[int]
    severity: str
    route_roles: tuple[str, ...]
    route_user_ids: tuple[int, ...]
    escalation: tuple[dict, ...]
    auto_resolve_minutes: int | None
    resolve_kinds: frozenset[str]


@dataclass(frozen=True)
class RuleSet:
    by_code: dict[str, tuple[CompiledRule, ...]]  # every rule of a code, the nearest place (longest path) first

    @property
    def kinds(self) -> set[str]:
        return {k for rules in self.by_code.values() for r in rules for k in r.kinds | r.resolve_kinds}

    def effective(self, place_path: str) -> list[CompiledRule]:
        """For each code, the rule nearest to ``place_path`` (above or at it), if that rule is enabled."""
        found = []
        for rules in self.by_code.values():
            nearest = next((r for r in rules if place_path.startswith(r.place_path)), None)
            if nearest is not None and nearest.enabled:
                found.append(nearest)
        return found


def compile_rule(rule: Rule, user_ids: Iterable[int]) -> CompiledRule:
    return CompiledRule(
        pk=rule.pk, code=rule.code, name=rule.name, place_path=rule.place_path, enabled=rule.enabled,
        kinds=frozenset(rule.event_kinds), min_score=rule.min_score, zones=frozenset(rule.zones),
        min_stationary_seconds=rule.min_stationary_seconds, repeat_count=rule.repeat_count,
        repeat_minutes=rule.repeat_minutes, time_from=rule.time_from, time_until=rule.time_until,
        weekdays=frozenset(rule.weekdays), severity=rule.severity, route_roles=tuple(rule.route_roles),
        route_user_ids=tuple(sorted(user_ids)), escalation=tuple(rule.escalation),
        auto_resolve_minutes=rule.auto_resolve_minutes, resolve_kinds=frozenset(rule.resolve_kinds),
    )


_lock = threading.Lock()
_cached: tuple[Any, RuleSet] | None = None
_STAMP_SQL = "SELECT count(*), max(updated_at), max(id) FROM {table}"


def current_rules() -> RuleSet:
    """The rule set, rebuilt only when a rule was added, changed or deleted (one small query to know)."""
    global _cached
    # hand-written: the ORM builds this aggregate anew on every call, which cost a processing pass more than the rest
    # of its rule handling
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL.format(table=connection.ops.quote_name(Rule._meta.db_table)))
        stamp = tuple(cursor.fetchone())
    with _lock:
        if _cached is not None and _cached[0] == stamp:
            return _cached[1]
    users: dict[int, list[int]] = defaultdict(list)
    for rule_id, user_id in Rule.route_users.through.objects.values_list("rule_id", "user_id"):
        users[rule_id].append(user_id)
    by_code: dict[str, list[CompiledRule]] = defaultdict(list)
    for rule in Rule.objects.all():
        by_code[rule.code].append(compile_rule(rule, users[rule.pk]))
    ruleset = RuleSet({code: tuple(sorted(rules, key=lambda r: -len(r.place_path))) for code, rules in by_code.items()})
    with _lock:
        _cached = (stamp, ruleset)
    return ruleset


# ----------------------------------------------------------------------------------------------- conditions

def stationary_seconds(attrs: dict) -> float | None:
    """How long the object has stood still: ``stationary_s`` (generic format), or Frigate's tracked
    ``duration_s`` when it reports the object as stationary."""
    value = attrs.get("stationary_s")
    if value is None and attrs.get("stationary") is True:
        value = attrs.get("duration_s")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def in_window(rule: CompiledRule, at: dt.datetime) -> bool:
    """The local (Asia/Shanghai) time of ``at`` inside the rule's window and weekdays; a window may span
    midnight (22:00-06:00: a night counts for the weekday it started on)."""
    local = timezone.localtime(at)
    day = local.weekday()
    if rule.time_from is not None and rule.time_until is not None:
        now = local.time()
        if rule.time_from <= rule.time_until:
            if not rule.time_from <= now < rule.time_until:
                return False
        elif now < rule.time_until:
            day = (day - 1) % 7
        elif now < rule.time_from:
            return False
    return not rule.weekdays or day in rule.weekdays


def conditions_hold(rule: CompiledRule, event: dict) -> bool:
    """Every condition of the rule but the repeat count, on one event (a dict of EVENT_FIELDS)."""
    if event["kind"] not in rule.kinds:
        return False
    if rule.min_score is not None and (event["score"] is None or event["score"] < rule.min_score):
        return False
    if rule.zones and event["zone"] not in rule.zones:
        return False
    if rule.min_stationary_seconds is not None:
        seconds = stationary_seconds(event["attrs"] or {})
        if seconds is None or seconds < rule.min_stationary_seconds:
            return False
    return in_window(rule, event["occurred_at"])


def repeats_hold(rule: CompiledRule, event: dict) -> bool:
    """At least ``repeat_count`` events of the rule's kinds from the device within ``repeat_minutes`` up to this
    one (this one included)."""
    if rule.repeat_count <= 1 or not rule.repeat_minutes:
        return True
    from linli.devices.models import DeviceEvent

    since = event["occurred_at"] - dt.timedelta(minutes=rule.repeat_minutes)
    qs = DeviceEvent.objects.filter(device_id=event["device_id"], kind__in=rule.kinds, occurred_at__gt=since,
                                    occurred_at__lte=event["occurred_at"])
    if rule.zones:
        qs = qs.filter(zone__in=rule.zones)
    return qs.count() >= rule.repeat_count


@dataclass(frozen=True)
class Match:
    rule: CompiledRule
    event: dict


def evaluate(event_ids: Sequence[int], events: Sequence[dict] | None = None, rules: RuleSet | None = None
             ) -> tuple[list[Match], list[tuple[str, int]]]:
    """The (rule, event) pairs that raise or repeat an alert, and the (rule code, device id) pairs whose alerts an
    event resolves (a device back online resolves its "device offline"). ``events``: the events of ``event_ids``
    as dicts of EVENT_FIELDS when the caller has read them already; ``rules``: the rule set it chose them by."""
    from linli.devices.models import DeviceEvent

    rules = rules or current_rules()
    kinds = rules.kinds
    if not event_ids or not kinds:
        return [], []
    if events is None:
        rows = list(DeviceEvent.objects.filter(pk__in=event_ids, kind__in=kinds).order_by("occurred_at", "pk")
                    .values(*EVENT_FIELDS))
    else:
        rows = sorted((e for e in events if e["kind"] in kinds), key=lambda e: (e["occurred_at"], e["pk"]))
    matches: list[Match] = []
    resolves: list[tuple[str, int]] = []
    effective: dict[str, list[CompiledRule]] = {}
    for event in rows:
        path = event["place_path"]
        if path not in effective:
            effective[path] = rules.effective(path)
        for rule in effective[path]:
            if event["kind"] in rule.resolve_kinds:
                resolves.append((rule.code, event["device_id"]))
            elif conditions_hold(rule, event) and repeats_hold(rule, event):
                matches.append(Match(rule, event))
    return matches, resolves
