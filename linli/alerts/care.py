"""Care: residents tagged "elderly_alone" who have not passed any door for longer than their threshold raise a
``care.not_seen`` alert to their grid worker and, by SMS, their emergency contacts; their next passage resolves
it. Computed from stored times (PersonPresence.last_seen_at) by a periodic sweep, so a restart loses nothing.

The threshold is 24 hours, or ``not_seen_hours`` in the resident's tag attributes. Beyond it, each person's own
routine is learned from their passages of the last four weeks: on each of those days, how long had they been
silent at this same time of day? When at least ``MIN_DAYS`` days give an answer, a current silence longer than
``ROUTINE_FACTOR`` times the 90th percentile of those (and at least ``ROUTINE_MIN_HOURS``) is unusual for this
person at this hour and raises the alert before the fixed threshold; the alert keeps the figures that say why.
No alert is raised during the quiet hours (23:00-07:00 local time): the first sweep after them raises what is
due."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from linli.core import audit
from linli.notify.actions import enqueue_message, notify_users

from .choices import ACTIVE, NOT_SEEN, AlertStatus, HistoryKind, Severity, SubjectKind
from .models import Alert

TAG = "elderly_alone"
DEFAULT_HOURS = 24
QUIET_FROM = dt.time(23, 0)
QUIET_UNTIL = dt.time(7, 0)
HISTORY_DAYS = 28
MIN_DAYS = 14
ROUTINE_FACTOR = 1.5
ROUTINE_MIN_HOURS = 4.0


@dataclass(frozen=True)
class Routine:
    """What a person's last four weeks say about silences at this time of day."""

    days: int  # days that gave a silence at this time of day
    usual_hours: float  # the 90th percentile of those silences
    limit_hours: float  # a silence longer than this is unusual


def learn_routine(passages: Sequence[dt.datetime], now: dt.datetime) -> Routine | None:
    """The person's routine from their sorted passage times; None with too little history to judge."""
    silences = []
    for days_back in range(1, HISTORY_DAYS + 1):
        moment = now - dt.timedelta(days=days_back)
        before = bisect.bisect_right(passages, moment)
        if before:
            silences.append((moment - passages[before - 1]).total_seconds() / 3600)
    if len(silences) < MIN_DAYS:
        return None
    silences.sort()
    usual = silences[min(len(silences) - 1, int(0.9 * len(silences)))]
    return Routine(days=len(silences), usual_hours=round(usual, 2),
                   limit_hours=round(max(usual * ROUTINE_FACTOR, ROUTINE_MIN_HOURS), 2))


def _histories(resident_ids: Sequence[int], now: dt.datetime) -> dict[int, list[dt.datetime]]:
    """Passage times of the last four weeks per resident, sorted; one query (the resident/time index)."""
    from linli.devices.models import DeviceEvent
    from linli.devices.pipeline import PASSAGES

    times: dict[int, list[dt.datetime]] = defaultdict(list)
    rows = DeviceEvent.objects.filter(resident_id__in=resident_ids, kind__in=PASSAGES, occurred_at__lte=now,
                                      occurred_at__gte=now - dt.timedelta(days=HISTORY_DAYS + 1))
    for resident_id, at in rows.order_by("occurred_at").values_list("resident_id", "occurred_at"):
        times[resident_id].append(at)
    return times


def quiet(at: dt.datetime) -> bool:
    local = timezone.localtime(at).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def threshold_hours(attrs: dict) -> float:
    value = (attrs or {}).get("not_seen_hours")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return float(value) if ok else float(DEFAULT_HOURS)


def monitored_tags(today: dt.date) -> QuerySet:
    """The care tags in force today of active residents: who the not-seen monitor watches."""
    from linli.people.models import ResidentTag

    return ResidentTag.objects.filter(Q(until__isnull=True) | Q(until__gte=today), tag__code=TAG,
                                      resident__status="active")


def _due(now: dt.datetime) -> list[tuple[object, dt.datetime, float, Routine | None]]:
    """(resident, last seen or tagged since, threshold hours, routine when it decided) of every monitored resident
    past their threshold, fixed or learned, without an active alert; four queries."""
    from linli.devices.models import PersonPresence

    tags = list(monitored_tags(timezone.localdate(now)).select_related("resident", "resident__place"))
    ids = [t.resident_id for t in tags]
    seen = dict(PersonPresence.objects.filter(resident_id__in=ids).values_list("resident_id", "last_seen_at"))
    alerted = set(Alert.objects.filter(kind=NOT_SEEN, status__in=ACTIVE, resident_id__in=ids)
                  .values_list("resident_id", flat=True))
    histories = _histories([i for i in ids if i not in alerted], now)
    due = []
    for tag in tags:
        if tag.resident_id in alerted:
            continue
        since = seen.get(tag.resident_id) or tag.created_at
        hours = threshold_hours(tag.attrs)
        routine = learn_routine(histories.get(tag.resident_id, []), now)
        if routine is not None and routine.limit_hours < hours:
            hours = routine.limit_hours
        else:
            routine = None
        if now - since > dt.timedelta(hours=hours):
            due.append((tag.resident, since, hours, routine))
    return due


def sweep_not_seen(now: dt.datetime | None = None) -> list[Alert]:
    """Raise the not-seen alerts that are due (none during quiet hours). Idempotent: one alert per resident while
    it is active, guaranteed by the unique constraint."""
    now = now or timezone.now()
    if quiet(now):
        return []
    return [a for resident, since, hours, routine in _due(now)
            if (a := raise_not_seen(resident, since, hours, now, routine))]


def raise_not_seen(resident, since: dt.datetime, hours: float, now: dt.datetime,
                   routine: Routine | None = None) -> Alert | None:
    from .actions import SYSTEM, message_context, record_history
    from .queries import users_for_roles

    workers = sorted(users_for_roles(resident.place_path, ["grid_worker"]))
    with transaction.atomic():
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    kind=NOT_SEEN, severity=Severity.MAJOR, title="久未出门", subject_kind=SubjectKind.RESIDENT,
                    subject_ref=str(resident.pk), subject_key=f"r{resident.pk}", resident=resident,
                    place=resident.place, place_path=resident.place_path, first_seen_at=now, last_seen_at=now,
                    recipient_ids=workers, attrs=_why(since, hours, routine),
                )
        except IntegrityError:
            return None
        gone = int((now - since).total_seconds() // 3600)
        record_history(alert, HistoryKind.OPENED, SYSTEM, now, since=since.isoformat(), hours=gone)
        audit.record(SYSTEM, "alert.open", target=alert, after={"kind": NOT_SEEN, "hours": gone,
                                                                "recipients": workers})
        context = {**message_context(alert), "name": resident.name, "hours": gone}
        notify_users(actor=SYSTEM, users=workers, template="care.not_seen", context=context, cause=alert,
                     dedupe_key=f"alert:{alert.pk}:opened", now=now)
        for contact in resident.emergency_contacts.all():
            enqueue_message(actor=SYSTEM, address=contact.phone, channel="sms", template="care.not_seen",
                            context=context, cause=alert, dedupe_key=f"alert:{alert.pk}:contact:{contact.pk}",
                            now=now)
    return alert


def _why(since: dt.datetime, hours: float, routine: Routine | None) -> dict:
    """What the alert counted from and why it was raised: the fixed threshold, or the person's routine."""
    why: dict = {"since": since.isoformat(), "threshold_hours": hours, "reason": "threshold"}
    if routine is not None:
        why.update({"reason": "routine", "usual_hours": routine.usual_hours, "days": routine.days})
    return why


def resolve_seen(event_ids: Sequence[int], now: dt.datetime, residents: Collection[int]) -> int:
    """Resolve the active not-seen alerts of ``residents`` who passed a door after the time the alert counted from
    (only their passages among the events are read)."""
    from linli.devices.models import DeviceEvent
    from linli.devices.pipeline import PASSAGES
    from linli.devices.storage import with_ids

    from .actions import SYSTEM, close_alert

    passages = with_ids(DeviceEvent.objects.filter(kind__in=PASSAGES, resident_id__in=residents), event_ids)
    latest: dict[int, dt.datetime] = {}
    for resident_id, at in passages.values_list("resident_id", "occurred_at"):
        latest[resident_id] = max(at, latest.get(resident_id, at))
    if not latest:
        return 0
    done = 0
    for alert in Alert.objects.filter(kind=NOT_SEEN, status__in=ACTIVE, resident_id__in=latest).select_related("place"):
        if latest[alert.resident_id] > dt.datetime.fromisoformat(alert.attrs["since"]):
            close_alert(actor=SYSTEM, alert=alert, status=AlertStatus.RESOLVED, note="seen at a door", now=now,
                        check=False)
            done += 1
    return done
