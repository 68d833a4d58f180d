"""What happens to events once they are stored: ``after_store(event_ids)`` runs in a task after the transaction
that wrote them commits (linli.devices.tasks), and again from the sweeper for any batch left behind.

It runs the alert rules on the events of the rules' kinds, then moves residents' last-seen times (PersonPresence)
and devices' last-event times forward in the database. Every step is idempotent: a batch processed twice (a
crashed worker, the sweeper racing the task) changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .adapters import LIVENESS_KINDS, PASSAGE_KINDS
from .models import Device, DeviceEvent, PendingBatch, PersonPresence
from .storage import in_list, with_ids

REDRIVE_AFTER = dt.timedelta(minutes=1)  # a batch still pending after this was left behind by its task
REDRIVE_BATCHES = 200
COALESCE_BATCHES = 10  # batches one pass may take on (PostgreSQL): bounded, so one pass stays short (10 full
# batches of linli ingest are 20,000 events)
PASSAGES = frozenset(k.value for k in PASSAGE_KINDS)
LIVENESS = frozenset(k.value for k in LIVENESS_KINDS)


def load_rows(event_ids: Sequence[int], kinds: Collection[str] | None = None) -> list[dict]:
    """The stored events (only those of ``kinds`` when given) as dicts of the fields the rules read
    (linli.alerts.rules.EVENT_FIELDS), in one query.

    PostgreSQL: one hand-written query and the dicts built here (the ORM's ``values()`` costs more in Python than
    the query in the database for a batch of a thousand); ``attrs`` decoded only when not empty (most events)."""
    from linli.alerts.rules import EVENT_FIELDS

    if not event_ids or kinds is not None and not kinds:
        return []
    if connection.vendor != "postgresql":
        rows = with_ids(DeviceEvent.objects.all(), event_ids)
        return list((rows if kinds is None else rows.filter(kind__in=kinds)).values(*EVENT_FIELDS))
    quote = connection.ops.quote_name
    meta = DeviceEvent._meta
    columns = []
    for name in EVENT_FIELDS:
        column = quote(meta.pk.column if name == "pk" else meta.get_field(name).column)
        # times as integer microseconds since the epoch: the driver's timestamptz loader (Django's, in Python) costs
        # several microseconds a value, this a fraction of one, and the value is the same
        columns.append(f"(extract(epoch FROM {column}) * 1000000)::int8" if name in _TIME_FIELDS else column)
    attrs = EVENT_FIELDS.index("attrs")
    times = [i for i, name in enumerate(EVENT_FIELDS) if name in _TIME_FIELDS]
    where, params = in_list("id", event_ids, "bigint")
    if kinds is not None:
        where_kind, kind_params = in_list("kind", kinds)
        where, params = f"{where} AND {where_kind}", params + kind_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} WHERE {where}", params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        event = dict(zip(EVENT_FIELDS, row, strict=True))
        for i in times:
            name = EVENT_FIELDS[i]
            if event[name] is not None:
                event[name] = _EPOCH + dt.timedelta(microseconds=event[name])
        text = row[attrs]
        event["attrs"] = {} if text == "{}" else _json_value(text)
        out.append(event)
    return out


_TIME_FIELDS = frozenset({"occurred_at", "received_at"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _json_value(text: object) -> object:
    """A jsonb column as the ORM's JSONField gives it (Django has psycopg hand jsonb over as text)."""
    if not isinstance(text, str):
        return text  # decoded by the driver already
    return json.loads(text)  # as JSONField.from_db_value (orjson would make a float of an integer beyond 64 bits)


def after_store(event_ids: Sequence[int], *, now: dt.datetime | None = None) -> None:
    """Process stored events by id: the alert rules, then residents' last-seen and devices' last-event times.

    Only the events the rules read (those of the rules' kinds, a small share of the stream) come back to Python;
    last-event and last-seen times are computed and written by the database in one statement each, from the rows
    where they lie. ``now`` stamps alert history (default: the present; the demo gives the time of its story)."""
    if not event_ids:
        return
    from linli.alerts.actions import process_events
    from linli.alerts.rules import current_rules

    process_events(event_ids, events=load_rows(event_ids, kinds=current_rules().kinds), now=now)
    # Last: the rows these two write stay locked only until the commit that follows. Two passes (two ingest
    # processes) move many of the same residents forward and waited on each other's rows for the whole pass when
    # presence came first; storing a batch locks the devices it marks seen, and waited for a pass that had moved
    # their last-event times first. Nothing in the rules reads either, and other transactions see all at once.
    update_presence(event_ids)
    touch_devices(event_ids)


def update_presence(event_ids: Sequence[int]) -> int:
    """Each resident who passed a door or gate among the events: last seen at their latest passage (the latest
    occurred_at, then the highest id), in one statement, rows written in resident order (concurrent passes then
    wait for each other instead of deadlocking). Monotonic: a row changes only when the passage is newer than what
    it holds, so late events change nothing. Returns the rows inserted or moved."""
    if not event_ids:
        return 0
    quote = connection.ops.quote_name
    table = quote(PersonPresence._meta.db_table)
    events = quote(DeviceEvent._meta.db_table)
    where_id, params = in_list("id", event_ids, "bigint")
    where_kind, kind_params = in_list("kind", sorted(PASSAGES))
    names = ("resident_id", "last_seen_at", "last_event_id", "last_device_id", "last_place_path", "last_kind")
    updates = ", ".join(f"{c} = excluded.{c}" for c in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"SELECT resident_id, occurred_at, id, device_id, place_path, kind FROM ("
            f"SELECT resident_id, occurred_at, id, device_id, place_path, kind, row_number() OVER ("
            f"PARTITION BY resident_id ORDER BY occurred_at DESC, id DESC) AS n FROM {events} "
            f"WHERE {where_id} AND {where_kind} AND resident_id IS NOT NULL) AS latest "
            f"WHERE n = 1 ORDER BY resident_id "
            f"ON CONFLICT (resident_id) DO UPDATE SET {updates} WHERE {table}.last_seen_at < excluded.last_seen_at",
            params + kind_params,
        )
        return cursor.rowcount


def touch_devices(event_ids: Sequence[int]) -> int:
    """Each device's last-event time moves forward to its newest event among these (liveness rows excluded), in one
    statement. Returns the devices moved."""
    if not event_ids:
        return 0
    quote = connection.ops.quote_name
    table = quote(Device._meta.db_table)
    where_id, params = in_list("id", event_ids, "bigint")
    where_kind, kind_params = in_list("kind", sorted(LIVENESS))
    newest = (f"SELECT device_id AS id, max(occurred_at) AS at FROM {quote(DeviceEvent._meta.db_table)} "
              f"WHERE {where_id} AND NOT {where_kind} GROUP BY device_id")
    newer = f"({table}.last_event_at IS NULL OR {table}.last_event_at < v.at)"
    locked = only_locked = ""
    if connection.vendor == "postgresql":
        # rows locked in id order (as ingest.mark_seen locks them): concurrent writers wait instead of deadlocking
        locked = (f", l AS MATERIALIZED (SELECT {table}.id FROM {table} JOIN v ON {table}.id = v.id WHERE {newer} "
                  f"ORDER BY {table}.id FOR NO KEY UPDATE OF {table})")
        only_locked = f" AND {table}.id IN (SELECT id FROM l)"
    with connection.cursor() as cursor:
        cursor.execute(f"WITH v AS MATERIALIZED ({newest}){locked} UPDATE {table} SET last_event_at = v.at FROM v "
                       f"WHERE {table}.id = v.id AND {newer}{only_locked}", params + kind_params)
        return cursor.rowcount


def process_batch(batch_id: int, *, now: dt.datetime | None = None) -> bool:
    """Run after_store on a pending batch and forget the batch; False when it was processed already.

    On PostgreSQL the batches waiting behind it that no other worker holds (up to COALESCE_BATCHES) are processed
    in the same pass: a worker that fell behind (many small batches at a moderate event rate) catches up in fewer,
    larger passes instead of paying each batch's fixed cost; their own tasks then find nothing to do. For the same
    reason a batch another pass holds is left to that pass (False at once): waiting for it would stall this caller
    (an ingest process whose processing thread waited so stopped storing) while the other pass does the work, and
    should that pass fail, the batch is still pending and the sweeper takes it."""
    skip = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        batch = PendingBatch.objects.select_for_update(skip_locked=skip).filter(pk=batch_id).first()
        if batch is None:
            return False
        batches = [batch]
        if skip:
            batches += (PendingBatch.objects.select_for_update(skip_locked=True).exclude(pk=batch_id)
                        .order_by("pk")[:COALESCE_BATCHES - 1])
        event_ids = [pk for b in batches for pk in b.event_ids]
        after_store(event_ids, now=now)
        PendingBatch.objects.filter(pk__in=[b.pk for b in batches]).delete()
    return True


def redrive_pending(now: dt.datetime | None = None) -> int:
    """Process the batches whose task never ran or died (the queue was down, a worker was killed)."""
    now = now or timezone.now()
    ids = list(PendingBatch.objects.filter(created_at__lt=now - REDRIVE_AFTER).order_by("pk")
               .values_list("pk", flat=True)[:REDRIVE_BATCHES])
    PendingBatch.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1)
    return sum(process_batch(pk) for pk in ids)
