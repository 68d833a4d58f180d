"""What happens to events once they are stored: ``after_store(event_ids)`` runs in a task after the transaction
that wrote them commits (linli.devices.tasks), and again from the sweeper for any batch left behind.

It runs the alert rules on the events of the rules' kinds, then moves residents' last-seen times (PersonPresence)
and devices' last-event times forward in the database. Every step is idempotent: a batch processed twice (a
crashed worker, the sweeper racing the task) changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import msgspec
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from linli.core.times import from_micros, to_micros

from .adapters import LIVENESS_KINDS, PASSAGE_KINDS
from .models import Device, DeviceEvent, PendingBatch, PersonPresence
from .storage import MICROS, EventRow, in_list, row_source, with_ids

REDRIVE_AFTER = dt.timedelta(minutes=1)  # a batch still pending after this was left behind by its task
REDRIVE_BATCHES = 200
COALESCE_BATCHES = 4  # batches one pass may take on (PostgreSQL): bounded, so one pass stays short (4 full
# batches of linli ingest are 40,000 events)
PASSAGES = frozenset(k.value for k in PASSAGE_KINDS)
LIVENESS = frozenset(k.value for k in LIVENESS_KINDS)


def load_rows(event_ids: Sequence[int]) -> list[dict]:
    """The stored events as dicts of the fields the rules read (linli.alerts.rules.EVENT_FIELDS), in one query.

    PostgreSQL: one hand-written query and the dicts built here (the ORM's ``values()`` costs more in Python than
    the query in the database for a batch of a thousand); ``attrs`` decoded only when not empty (most events)."""
    from linli.alerts.rules import EVENT_FIELDS

    if not event_ids:
        return []
    if connection.vendor != "postgresql":
        return list(with_ids(DeviceEvent.objects.all(), event_ids).values(*EVENT_FIELDS))
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
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} WHERE {where}", params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        event = dict(zip(EVENT_FIELDS, row, strict=True))
        for i in times:
            name = EVENT_FIELDS[i]
            if event[name] is not None:
                event[name] = from_micros(event[name])
        text = row[attrs]
        event["attrs"] = {} if text == "{}" else _json_value(text)
        out.append(event)
    return out


_TIME_FIELDS = frozenset({"occurred_at", "received_at"})


def _json_value(text: object) -> object:
    """A jsonb column as the ORM's JSONField gives it (Django has psycopg hand jsonb over as text)."""
    if not isinstance(text, str):
        return text  # decoded by the driver already
    return json.loads(text)  # as JSONField.from_db_value (orjson would make a float of an integer beyond 64 bits)


@dataclass
class Summary:
    """What processing needs of a batch beyond the rules' events, made by ingest from the rows it has just inserted
    (``summarize``) and kept in the PendingBatch: the processing pass then reads back only the events of the rules'
    kinds. Reading every event again by id for last-seen and last-event times had cost the database more than
    inserting them did.

    ``kinds``: the ids by event kind. ``presence``: each resident's latest passage, resident -> (occurred_at as
    microseconds since the epoch, event id, device id, place path, kind). ``devices``: each device's newest event
    (liveness events left out), device -> microseconds."""

    kinds: dict[str, list[int]] = field(default_factory=dict)
    presence: dict[int, tuple[int, int, int, str, str]] = field(default_factory=dict)
    devices: dict[int, int] = field(default_factory=dict)

    def add(self, pk: int, kind: str, device_id: int, resident_id: int | None, micros: int, place_path: str) -> None:
        ids = self.kinds.get(kind)
        if ids is None:
            ids = self.kinds[kind] = []
        ids.append(pk)
        if kind in LIVENESS:
            return
        if micros > self.devices.get(device_id, -1 << 62):
            self.devices[device_id] = micros
        if resident_id is not None and kind in PASSAGES:
            seen = self.presence.get(resident_id)
            if seen is None or (micros, pk) > seen[:2]:
                self.presence[resident_id] = (micros, pk, device_id, place_path, kind)

    def merge(self, other: Summary) -> None:
        for kind, ids in other.kinds.items():
            self.kinds.setdefault(kind, []).extend(ids)
        for device_id, micros in other.devices.items():
            if micros > self.devices.get(device_id, -1 << 62):
                self.devices[device_id] = micros
        for resident_id, seen in other.presence.items():
            mine = self.presence.get(resident_id)
            if mine is None or seen[:2] > mine[:2]:
                self.presence[resident_id] = seen

    def event_ids(self) -> list[int]:
        """Every event of the batch, in id order."""
        return sorted(pk for ids in self.kinds.values() for pk in ids)

    def ids_of(self, kinds: Collection[str]) -> list[int]:
        return [pk for kind in kinds for pk in self.kinds.get(kind, ())]

    def dumps(self) -> str:
        """As JSON text (PendingBatch.summary)."""
        return msgspec.json.encode({"kinds": self.kinds, "presence": [[r, *v] for r, v in self.presence.items()],
                                    "devices": list(self.devices.items())}).decode()

    @classmethod
    def loads(cls, text: str) -> Summary:
        data = msgspec.json.decode(text)
        return cls(kinds=data["kinds"], presence={r: (m, e, d, p, k) for r, m, e, d, p, k in data["presence"]},
                   devices=dict(data["devices"]))


def summarize(inserted: Iterable[tuple[int, EventRow]]) -> Summary:
    """The summary of rows ingest has just inserted (linli.devices.storage.store_events)."""
    summary = Summary()
    add = summary.add
    for pk, row in inserted:
        add(pk, row.kind, row.device_id, row.resident_id, to_micros(row.occurred_at), row.place_path)
    return summary


def read_summary(event_ids: Sequence[int]) -> Summary:
    """The summary of stored events, read from the events table: for batches written without one."""
    summary = Summary()
    rows = with_ids(DeviceEvent.objects.all(), event_ids).order_by().values_list(
        "pk", "kind", "device_id", "resident_id", "occurred_at", "place_path")
    for pk, kind, device_id, resident_id, occurred_at, place_path in rows:
        summary.add(pk, kind, device_id, resident_id, to_micros(occurred_at), place_path)
    return summary


def after_store(event_ids: Sequence[int], *, summary: Summary | None = None, now: dt.datetime | None = None) -> None:
    """Process stored events by id: the alert rules, then residents' last-seen and devices' last-event times.

    ``summary``: the batch's summary when ingest made one (else it is read from the events). Only the events of the
    rules' kinds (a small share of the stream) are read back; last-seen and last-event times are written from the
    summary, one statement each. ``now`` stamps alert history (default: the present; the demo gives the time of
    its story)."""
    if not event_ids:
        return
    from linli.alerts.actions import process_events
    from linli.alerts.rules import current_rules

    if summary is None:
        summary = read_summary(event_ids)
    rules = current_rules()
    process_events(event_ids, events=load_rows(summary.ids_of(rules.kinds)), rules=rules, now=now)
    # Last: the rows these two write stay locked only until the commit that follows. Two passes (two ingest
    # processes) move many of the same residents forward and waited on each other's rows for the whole pass when
    # presence came first; storing a batch locks the devices it marks seen, and waited for a pass that had moved
    # their last-event times first. Nothing in the rules reads either, and other transactions see all at once.
    update_presence(summary.presence)
    touch_devices(summary.devices)


PRESENCE_CHUNK = 1000  # rows a statement (SQLite: six parameters a row, at most 32,766 parameters a statement)


def update_presence(latest: dict[int, tuple[int, int, int, str, str]]) -> int:
    """Each resident's last seen moves to their latest passage (``Summary.presence``), written in resident order
    (concurrent passes then wait for each other instead of deadlocking). Monotonic: a row changes only when the
    passage is newer than what it holds, so late events change nothing. Returns the rows inserted or moved."""
    quote = connection.ops.quote_name
    table = quote(PersonPresence._meta.db_table)
    names = ("resident_id", "last_seen_at", "last_event_id", "last_device_id", "last_place_path", "last_kind")
    types = ("bigint", MICROS, "bigint", "bigint", "text", "text")
    updates = ", ".join(f"{c} = excluded.{c}" for c in names[1:])
    rows = [(r, *seen) for r, seen in sorted(latest.items())]
    moved = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), PRESENCE_CHUNK):
            source, params = row_source(tuple(zip(names, types, strict=True)), rows[start:start + PRESENCE_CHUNK])
            # WHERE true: SQLite reads "ON" after a bare SELECT ... FROM as a join condition
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM ({source}) AS v WHERE true "
                f"ON CONFLICT (resident_id) DO UPDATE SET {updates} "
                f"WHERE {table}.last_seen_at < excluded.last_seen_at", params)
            moved += cursor.rowcount
    return moved


def touch_devices(newest: dict[int, int]) -> int:
    """Each device's last-event time moves forward to its newest event (``Summary.devices``), in one statement.
    Returns the devices moved."""
    if not newest:
        return 0
    quote = connection.ops.quote_name
    table = quote(Device._meta.db_table)
    source, params = row_source((("id", "bigint"), ("at", MICROS)), sorted(newest.items()))
    newer = f"({table}.last_event_at IS NULL OR {table}.last_event_at < v.at)"
    locked = only_locked = ""
    if connection.vendor == "postgresql":
        # rows locked in id order (as ingest.mark_seen locks them): concurrent writers wait instead of deadlocking
        locked = (f", l AS MATERIALIZED (SELECT {table}.id FROM {table} JOIN v ON {table}.id = v.id WHERE {newer} "
                  f"ORDER BY {table}.id FOR NO KEY UPDATE OF {table})")
        only_locked = f" AND {table}.id IN (SELECT id FROM l)"
    with connection.cursor() as cursor:
        cursor.execute(f"WITH v (id, at) AS MATERIALIZED ({source}){locked} UPDATE {table} SET last_event_at = v.at "
                       f"FROM v WHERE {table}.id = v.id AND {newer}{only_locked}", params)
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
        summary = Summary()
        for b in batches:
            summary.merge(Summary.loads(b.summary) if b.summary else read_summary(b.event_ids))
        after_store(summary.event_ids(), summary=summary, now=now)
        PendingBatch.objects.filter(pk__in=[b.pk for b in batches]).delete()
    return True


def redrive_pending(now: dt.datetime | None = None) -> int:
    """Process the batches whose task never ran or died (the queue was down, a worker was killed)."""
    now = now or timezone.now()
    ids = list(PendingBatch.objects.filter(created_at__lt=now - REDRIVE_AFTER).order_by("pk")
               .values_list("pk", flat=True)[:REDRIVE_BATCHES])
    PendingBatch.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1)
    return sum(process_batch(pk) for pk in ids)
