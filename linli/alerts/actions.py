"""Writes of the alerts app. Raising and repeating alerts from rule matches, their transitions (acknowledge,
resolve, false alarm), comments, turning an alert into a ticket, escalation and automatic resolution, and rules.

Every transition is a compare-and-set on the stored status and writes, in one transaction, the history row, the
audit entry and the outbox messages of the people told."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Case, DateTimeField, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import Conflict, invalid
from linli.core.identity import clean_text
from linli.core.permissions import Perm
from linli.notify.actions import notify_users

from .choices import ACTIVE, AlertStatus, HistoryKind, Severity, SubjectKind
from .models import Alert, AlertEvent, Rule
from .queries import users_for_roles
from .rules import CompiledRule, Match, RuleSet

SYSTEM = Actor.system("alerts")
NOTE_MAX = 500
SWEEP_BATCH = 200


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _local(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def record_history(alert: Alert, kind: str, actor: Actor, at: dt.datetime, note: str = "", **data: Any) -> AlertEvent:
    user = actor.user if actor.user is not None and actor.user.pk else None
    return AlertEvent.objects.create(alert=alert, kind=kind, at=at, actor=user, actor_label=actor.label[:150],
                                     note=note, data=data)


def message_context(alert: Alert) -> dict[str, str]:
    return {"kind": alert.title, "place": alert.place.name, "time": _local(alert.first_seen_at),
            "level": str(Severity(alert.severity).label)}


# ------------------------------------------------------------------------------------------- raise / repeat

@dataclass
class Occurrence:
    """Events of one batch that count on one alert: the same rule code, device and subject."""

    rule: CompiledRule
    device_id: int
    place_id: int
    place_path: str
    subject_kind: str
    subject_ref: str
    resident_id: int | None
    first: dt.datetime
    last: dt.datetime
    last_event_id: int
    count: int = 1
    event_ids: list[int] = field(default_factory=list)

    @property
    def subject_key(self) -> str:
        return {SubjectKind.RESIDENT: "r", SubjectKind.PLATE: "p"}.get(self.subject_kind, "") + self.subject_ref

    @property
    def source_key(self) -> str:
        return f"d{self.device_id}"


def _subject(event: dict) -> tuple[str, str]:
    if event["subject_kind"] == "plate" and event["subject_ref"]:
        return SubjectKind.PLATE, event["subject_ref"]
    if event["resident_id"] is not None:
        return SubjectKind.RESIDENT, str(event["resident_id"])
    return SubjectKind.NONE, ""


def group_matches(matches: Sequence[Match], places: dict[int, int]) -> list[Occurrence]:
    """One occurrence per (rule code, device, subject); ``places`` maps device ids to their place ids."""
    found: dict[tuple[str, int, str, str], Occurrence] = {}
    for m in matches:
        e = m.event
        kind, ref = _subject(e)
        key = (m.rule.code, e["device_id"], kind, ref)
        held = found.get(key)
        if held is None:
            found[key] = Occurrence(rule=m.rule, device_id=e["device_id"], place_id=places[e["device_id"]],
                                    place_path=e["place_path"], subject_kind=kind, subject_ref=ref,
                                    resident_id=e["resident_id"], first=e["occurred_at"], last=e["occurred_at"],
                                    last_event_id=e["pk"], event_ids=[e["pk"]])
            continue
        held.count += 1
        held.event_ids.append(e["pk"])
        held.first = min(held.first, e["occurred_at"])
        if e["occurred_at"] >= held.last:
            held.last, held.last_event_id = e["occurred_at"], e["pk"]
    return list(found.values())


def _repeat(occ: Occurrence, now: dt.datetime) -> Alert | None:
    """Count the occurrence on the active alert of its key with one UPDATE; None when there is none."""
    key = {"kind": occ.rule.code, "source_key": occ.source_key, "subject_key": occ.subject_key}
    pk = Alert.objects.filter(status__in=ACTIVE, **key).values_list("pk", flat=True).first()
    if pk is None:
        return None
    latest = Greatest(F("last_seen_at"), Value(occ.last, output_field=DateTimeField()))
    changes: dict[str, Any] = {
        "count": F("count") + occ.count, "last_seen_at": latest, "updated_at": now,
        "last_event_id": Case(When(last_seen_at__lte=occ.last, then=Value(occ.last_event_id)),
                              default=F("last_event_id"), output_field=BigIntegerField()),
    }
    if occ.rule.auto_resolve_minutes:
        changes["auto_resolve_at"] = latest + dt.timedelta(minutes=occ.rule.auto_resolve_minutes)
    if Alert.objects.filter(pk=pk, status__in=ACTIVE).update(**changes) != 1:
        return None
    alert = Alert.objects.select_related("place").get(pk=pk)
    record_history(alert, HistoryKind.REPEATED, SYSTEM, now, count=occ.count, event_ids=occ.event_ids)
    return alert


def _escalate_at(escalation: Iterable[dict], level: int, first: dt.datetime) -> dt.datetime | None:
    table = list(escalation)
    return first + dt.timedelta(minutes=table[level]["after_minutes"]) if level < len(table) else None


def _open(occ: Occurrence, now: dt.datetime) -> Alert | None:
    """A new alert for the occurrence; None when another process opened the same key first."""
    rule = occ.rule
    recipients = sorted(users_for_roles(occ.place_path, rule.route_roles) | set(rule.route_user_ids))
    auto = occ.last + dt.timedelta(minutes=rule.auto_resolve_minutes) if rule.auto_resolve_minutes else None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=rule.code, rule_id=rule.pk, severity=rule.severity, title=rule.name, device_id=occ.device_id,
                source_key=occ.source_key, subject_kind=occ.subject_kind, subject_ref=occ.subject_ref,
                subject_key=occ.subject_key, resident_id=occ.resident_id, place_id=occ.place_id,
                place_path=occ.place_path, count=occ.count, first_seen_at=occ.first, last_seen_at=occ.last,
                last_event_id=occ.last_event_id, escalate_at=_escalate_at(rule.escalation, 0, occ.first),
                auto_resolve_at=auto, recipient_ids=recipients,
            )
    except IntegrityError:
        return None
    alert = Alert.objects.select_related("place").get(pk=alert.pk)
    record_history(alert, HistoryKind.OPENED, SYSTEM, now, count=occ.count, event_ids=occ.event_ids)
    audit.record(SYSTEM, "alert.open", target=alert, after={"kind": alert.kind, "severity": alert.severity,
                                                            "count": alert.count, "recipients": recipients})
    notify_users(actor=SYSTEM, users=recipients, template="alert.opened", context=message_context(alert), cause=alert,
                 dedupe_key=f"alert:{alert.pk}:opened", now=now)
    return alert


def raise_or_repeat(occ: Occurrence, now: dt.datetime | None = None) -> Alert:
    """Count the occurrence on the active alert of its (kind, source, subject), or open one. Race-safe: the
    conditional unique constraint lets one process open it; the loser counts on the winner's alert."""
    now = _now(now)
    with transaction.atomic():
        while True:
            alert = _repeat(occ, now) or _open(occ, now)
            if alert is not None:
                return alert


def repeat_all(occurrences: Sequence[Occurrence], now: dt.datetime) -> dict[int, int]:
    """Count every occurrence whose key has an active alert on it, with a constant number of statements (one
    locking read in id order, one UPDATE, one history insert): what ``_repeat`` does one by one. Returns the
    alert ids by the occurrence's index; the others have no active alert and are opened by the caller."""
    if not occurrences:
        return {}
    wanted = {(o.rule.code, o.source_key, o.subject_key): i for i, o in enumerate(occurrences)}
    active = (Alert.objects.select_for_update().filter(status__in=ACTIVE, kind__in={k[0] for k in wanted},
                                                       source_key__in={k[1] for k in wanted})
              .order_by("pk").values_list("pk", "kind", "source_key", "subject_key", "last_seen_at"))
    found: dict[int, int] = {}  # occurrence index -> alert id
    values: list[tuple] = []
    for pk, kind, source_key, subject_key, last_seen in active:
        i = wanted.get((kind, source_key, subject_key))
        if i is None:
            continue
        occ = occurrences[i]
        found[i] = pk
        latest = max(last_seen, occ.last)
        auto = latest + dt.timedelta(minutes=occ.rule.auto_resolve_minutes) if occ.rule.auto_resolve_minutes else None
        values.append((pk, occ.count, latest, occ.last_event_id if last_seen <= occ.last else None, auto))
    if not found:
        return {}
    from linli.devices.storage import row_source

    source, params = row_source((("id", "bigint"), ("n", "integer"), ("last_seen", "timestamptz"),
                                 ("last_event", "bigint"), ("auto", "timestamptz")), values)
    table = connection.ops.quote_name(Alert._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v (id, n, last_seen, last_event, auto) AS ({source}) "
            f'UPDATE {table} SET "count" = {table}."count" + v.n, last_seen_at = v.last_seen, '
            f"last_event_id = COALESCE(v.last_event, {table}.last_event_id), "
            f"auto_resolve_at = COALESCE(v.auto, {table}.auto_resolve_at), updated_at = %s "
            f"FROM v WHERE {table}.id = v.id", [*params, connection.ops.adapt_datetimefield_value(now)])
    _repeated_history(found, occurrences, now)
    return found


def _repeated_history(found: dict[int, int], occurrences: Sequence[Occurrence], now: dt.datetime) -> None:
    """The "repeated" history rows of ``repeat_all``, in one INSERT of one array per column: a pass counts on every
    alert its events hit, and making a model instance per row cost more than the rest of counting."""
    from linli.devices.storage import row_source

    label = SYSTEM.label[:150]
    rows = [(pk, HistoryKind.REPEATED._value_, now, label,
             json.dumps({"count": occurrences[i].count, "event_ids": occurrences[i].event_ids}, separators=(",", ":")))
            for i, pk in found.items()]
    source, params = row_source((("alert_id", "bigint"), ("kind", "text"), ("at", "timestamptz"),
                                 ("actor_label", "text"), ("data", "jsonb")), rows)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"WITH v (c0, c1, c2, c3, c4) AS ({source}) "
                       f"INSERT INTO {quote(AlertEvent._meta.db_table)} (alert_id, kind, at, actor_label, note, data) "
                       f"SELECT c0, c1, c2, c3, '', c4 FROM v", params)


WRITERS_LOCK = 0x6C696E6C69  # "linli": the advisory lock of _one_writer_at_a_time


def _one_writer_at_a_time() -> None:
    """PostgreSQL: the rules' alert writes of one transaction at a time, until it ends. Two processing passes (the
    worker's threads, or several workers) opening and counting the same alerts locked their rows and keys in
    different orders (a batch's locking read in id order, then opening and counting one by one) and deadlocked; the
    loser's batches then waited for the sweeper. The next pass waits here holding no alert, after it has read and
    evaluated its events. SQLite has one writer at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITERS_LOCK])


def process_events(event_ids: Sequence[int], now: dt.datetime | None = None,
                   events: Sequence[dict] | None = None, rules: RuleSet | None = None) -> list[int]:
    """Stored events through the rules (called by linli.devices.pipeline.after_store): alerts opened or repeated,
    alerts resolved by an event (a device back online), and care alerts resolved by the resident's passage.
    ``events``: the events of the rules' kinds as dicts of linli.alerts.rules.EVENT_FIELDS, when the caller has
    read them already (others may be left out), and ``rules`` the rule set it read them by.
    Returns the ids of the alerts opened or repeated."""
    from linli.devices.models import Device

    from .care import resolve_seen
    from .rules import evaluate

    now = _now(now)
    matches, resolves = evaluate(event_ids, events, rules)
    devices = {m.event["device_id"] for m in matches}
    places = dict(Device.objects.filter(pk__in=devices).values_list("pk", "place_id")) if devices else {}
    occurrences = group_matches(matches, places)
    with transaction.atomic(savepoint=False):
        _one_writer_at_a_time()
        repeated = repeat_all(occurrences, now)
        alerts = [repeated.get(i) or raise_or_repeat(occ, now).pk for i, occ in enumerate(occurrences)]
    for code, device_id in resolves:
        for alert in Alert.objects.filter(kind=code, source_key=f"d{device_id}", status__in=ACTIVE):
            close_alert(actor=SYSTEM, alert=alert, status=AlertStatus.RESOLVED, note="resolved by the device",
                        now=now, check=False)
    # Only passages of residents with an active not-seen alert can resolve one (usually nobody has one): those are
    # read only when someone is waiting.
    from .choices import NOT_SEEN

    waiting = set(Alert.objects.filter(kind=NOT_SEEN, status__in=ACTIVE).values_list("resident_id", flat=True))
    if waiting:
        resolve_seen(event_ids, now, residents=waiting)
    return alerts


# ---------------------------------------------------------------------------------------------- transitions

def _clean_note(note: str, required: bool = False) -> str:
    text = clean_text(note or "")
    if required and not text:
        raise invalid("note", "required", "请填写内容", "write something")
    if len(text) > NOTE_MAX:
        raise invalid("note", "too_long", f"说明不能超过{NOTE_MAX}个字", f"the note is longer than {NOTE_MAX} characters")
    return text


def _illegal(alert: Alert, status: str) -> Conflict:
    zh, en = STEP_NAMES[status]
    return Conflict(f"告警当前状态为“{AlertStatus(alert.status).label}”，不能{zh}",
                    f"the alert is {alert.status.replace('_', ' ')}: it cannot be {en}", code="illegal_transition")


STEP_NAMES = {AlertStatus.ACKNOWLEDGED: ("确认", "acknowledged"), AlertStatus.RESOLVED: ("解除", "resolved"),
              AlertStatus.FALSE_ALARM: ("标记误报", "marked a false alarm")}
FROM = {AlertStatus.ACKNOWLEDGED: (AlertStatus.OPEN,), AlertStatus.RESOLVED: ACTIVE, AlertStatus.FALSE_ALARM: ACTIVE}


def _tell(alert: Alert, actor: Actor, status: str, note: str, now: dt.datetime) -> None:
    me = actor.user.pk if actor.user is not None else None
    users = [u for u in alert.recipient_ids if u != me]
    context = {**message_context(alert), "status": status, "by": actor.label, "note": note}
    notify_users(actor=actor, users=users, template="alert.status_changed", context=context, cause=alert,
                 dedupe_key=f"alert:{alert.pk}:{status}", now=now)


def close_alert(*, actor: Actor, alert: Alert, status: str, note: str = "", now: dt.datetime | None = None,
                check: bool = True, **expected: Any) -> Alert:
    """acknowledge (open -> acknowledged), resolve or mark a false alarm (open/acknowledged -> resolved /
    false_alarm). ``expected`` adds stored values the compare-and-set must still find (a sweep's due time)."""
    now = _now(now)
    if check:
        actor.require(Perm.ALERT_HANDLE, alert.place_path)
    text = _clean_note(note)
    user = actor.user if actor.user is not None and actor.user.pk else None
    if status == AlertStatus.ACKNOWLEDGED:
        changes: dict[str, Any] = {"acknowledged_at": now, "acknowledged_by": user, "escalate_at": None}
    else:
        changes = {"closed_at": now, "closed_by": user, "escalate_at": None, "auto_resolve_at": None}
    with transaction.atomic():
        before = alert.status
        changed = Alert.objects.filter(pk=alert.pk, status__in=FROM[status], **expected).update(
            status=status, updated_at=now, **changes)
        if changed != 1:
            alert.refresh_from_db(fields=["status"])
            raise _illegal(alert, status)
        alert.refresh_from_db()
        record_history(alert, status, actor, now, note=text)
        audit.record(actor, f"alert.{status}", target=alert, before={"status": before},
                     after={"status": status, "note": text})
        _tell(alert, actor, status, text, now)
    return alert


def acknowledge_alert(*, actor: Actor, alert: Alert, note: str = "", now: dt.datetime | None = None) -> Alert:
    return close_alert(actor=actor, alert=alert, status=AlertStatus.ACKNOWLEDGED, note=note, now=now)


def resolve_alert(*, actor: Actor, alert: Alert, note: str = "", now: dt.datetime | None = None) -> Alert:
    return close_alert(actor=actor, alert=alert, status=AlertStatus.RESOLVED, note=note, now=now)


def mark_false_alarm(*, actor: Actor, alert: Alert, note: str = "", now: dt.datetime | None = None) -> Alert:
    return close_alert(actor=actor, alert=alert, status=AlertStatus.FALSE_ALARM, note=note, now=now)


def comment_alert(*, actor: Actor, alert: Alert, note: str, now: dt.datetime | None = None) -> AlertEvent:
    now = _now(now)
    actor.require(Perm.ALERT_HANDLE, alert.place_path)
    text = _clean_note(note, required=True)
    with transaction.atomic():
        entry = record_history(alert, HistoryKind.COMMENT, actor, now, note=text)
        audit.record(actor, "alert.comment", target=alert, after={"note": text})
    return entry


def ticket_from_alert(*, actor: Actor, alert: Alert, kind: str, category: Any, description: str = "",
                      now: dt.datetime | None = None) -> Any:
    """A ticket (channel "alert") for field work on an active alert, through the tickets' submit action; the
    alert keeps it. A second ticket for the same alert is a conflict."""
    from linli.tickets.actions import submit_ticket

    now = _now(now)
    actor.require(Perm.ALERT_HANDLE, alert.place_path)
    if alert.status not in ACTIVE or alert.ticket_id is not None:
        raise Conflict("告警已关闭或已转工单", "the alert is closed or has a ticket already", code="illegal_transition")
    text = description or f"{alert.title}（{alert.place.name}，{_local(alert.first_seen_at)}，共{alert.count}次）"
    with transaction.atomic():
        ticket = submit_ticket(actor=actor, kind=kind, category=category, place=alert.place, description=text,
                               title=alert.title, channel="alert", now=now)
        if Alert.objects.filter(pk=alert.pk, status__in=ACTIVE, ticket__isnull=True).update(
                ticket=ticket, updated_at=now) != 1:
            raise Conflict("告警已关闭或已转工单", "the alert is closed or has a ticket already",
                           code="illegal_transition")
        alert.ticket = ticket
        record_history(alert, HistoryKind.TICKET_CREATED, actor, now, ticket_id=ticket.pk)
        audit.record(actor, "alert.ticket", target=alert, after={"ticket_id": ticket.pk})
    return ticket


# ------------------------------------------------------------------------------------------------ sweeps

def escalate_alert(alert: Alert, now: dt.datetime) -> bool:
    """The next step of the rule's escalation table for an alert still open past its escalation time."""
    table = list(alert.rule.escalation) if alert.rule else []
    level = alert.escalation_level
    if level >= len(table):
        Alert.objects.filter(pk=alert.pk, escalation_level=level).update(escalate_at=None)
        return False
    step = table[level]
    added = users_for_roles(alert.place_path, [step["to_role"]]) - set(alert.recipient_ids)
    with transaction.atomic():
        changed = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN, escalation_level=level,
                                       escalate_at=alert.escalate_at).update(
            escalation_level=level + 1, escalate_at=_escalate_at(table, level + 1, alert.first_seen_at),
            recipient_ids=sorted(set(alert.recipient_ids) | added), updated_at=now)
        if changed != 1:
            return False
        record_history(alert, HistoryKind.ESCALATED, SYSTEM, now, level=level + 1, to_role=step["to_role"],
                 users=sorted(added))
        audit.record(SYSTEM, "alert.escalate", target=alert, before={"level": level},
                     after={"level": level + 1, "to_role": step["to_role"]})
        notify_users(actor=SYSTEM, users=added, template="alert.escalated",
                     context={**message_context(alert), "minutes": step["after_minutes"]}, cause=alert,
                     dedupe_key=f"alert:{alert.pk}:escalated:{level + 1}", now=now)
    return True


def sweep_escalations(now: dt.datetime | None = None) -> int:
    """Escalate every open alert whose stored escalation time has passed (idempotent: a compare-and-set on the
    level and time; a second sweep finds nothing)."""
    now = _now(now)
    due = Alert.objects.filter(status=AlertStatus.OPEN, escalate_at__lte=now).select_related("rule", "place")
    return sum(escalate_alert(alert, now) for alert in due.order_by("escalate_at")[:SWEEP_BATCH])


def sweep_auto_resolve(now: dt.datetime | None = None) -> int:
    """Resolve active alerts with no repeat for their rule's auto-resolve time (from the stored due time)."""
    now = _now(now)
    done = 0
    for alert in Alert.objects.filter(status__in=ACTIVE, auto_resolve_at__lte=now).select_related("place")[:SWEEP_BATCH]:
        try:
            close_alert(actor=SYSTEM, alert=alert, status=AlertStatus.RESOLVED, note="no repeat: resolved",
                        now=now, check=False, auto_resolve_at=alert.auto_resolve_at)
            done += 1
        except Conflict:
            continue
    return done


# ------------------------------------------------------------------------------------------------ rules

RULE_FIELDS = ("code", "name", "name_en", "event_kinds", "min_score", "zones", "min_stationary_seconds",
               "repeat_count", "repeat_minutes", "time_from", "time_until", "weekdays", "severity", "route_roles",
               "escalation", "auto_resolve_minutes", "resolve_kinds", "enabled")


def _rule_state(rule: Rule) -> dict[str, Any]:
    state = {f: getattr(rule, f) for f in RULE_FIELDS}
    state.update({f: state[f].isoformat() for f in ("time_from", "time_until") if state[f] is not None})
    state["route_user_ids"] = sorted(u.pk for u in rule.route_users.all())
    return state


def create_rule(*, actor: Actor, place: Any, fields: dict[str, Any], route_users: Sequence[Any] = ()) -> Rule:
    from .validation import check_rule

    actor.require(Perm.RULE_MANAGE, place.path)
    clean = check_rule(fields)
    if Rule.objects.filter(place_path=place.path, code=clean["code"]).exists():
        raise invalid("code", "taken", "此地点已有同代码的规则", "this place has a rule of that code already")
    with transaction.atomic():
        rule = Rule.objects.create(place=place, place_path=place.path, **clean)
        rule.route_users.set(route_users)
        audit.record(actor, "alert.rule.create", target=rule, after=_rule_state(rule))
    return rule


def update_rule(*, actor: Actor, rule: Rule, fields: dict[str, Any], route_users: Sequence[Any] | None = None) -> Rule:
    from .validation import check_rule

    actor.require(Perm.RULE_MANAGE, rule.place_path or "/")
    if "code" in fields:
        raise invalid("code", "read_only", "规则代码不能修改", "a rule's code cannot change")
    clean = check_rule({**{f: getattr(rule, f) for f in RULE_FIELDS}, **fields})
    before = _rule_state(rule)
    with transaction.atomic():
        for name in fields:
            setattr(rule, name, clean[name])
        rule.save()
        if route_users is not None:
            rule.route_users.set(route_users)
        audit.record(actor, "alert.rule.update", target=rule, before=before, after=_rule_state(rule))
    return rule


# ------------------------------------------------------------------------------------------------ care

CARE_HOURS_MAX = 720


def set_care_threshold(*, actor: Actor, resident: Any, hours: Any) -> Any:
    """The hours without a passage after which the care monitor raises ``care.not_seen`` for this resident
    (``not_seen_hours`` on their open elderly-living-alone tag); None goes back to the default."""
    from linli.people.models import ResidentTag

    from .care import TAG

    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    ok = isinstance(hours, (int, float)) and not isinstance(hours, bool) and 1 <= hours <= CARE_HOURS_MAX
    if hours is not None and not ok:
        raise invalid("not_seen_hours", "out_of_range", f"阈值应为1到{CARE_HOURS_MAX}小时之间的数字",
                      f"the threshold is a number of hours from 1 to {CARE_HOURS_MAX}")
    with transaction.atomic():
        tag = (ResidentTag.objects.select_for_update().filter(resident=resident, tag__code=TAG, until__isnull=True)
               .first())
        if tag is None:
            raise Conflict("该居民没有“独居老人”标签", "the resident is not tagged elderly living alone",
                           code="not_monitored")
        before = tag.attrs.get("not_seen_hours")
        attrs = {k: v for k, v in tag.attrs.items() if k != "not_seen_hours"}
        if hours is not None:
            attrs["not_seen_hours"] = hours
        ResidentTag.objects.filter(pk=tag.pk).update(attrs=attrs, updated_at=timezone.now())
        audit.record(actor, "care.threshold", target=resident, before={"not_seen_hours": before},
                     after={"not_seen_hours": hours})
        tag.attrs = attrs
    return tag
