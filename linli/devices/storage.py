"""Writing device events in batches, never one round trip per row.

PostgreSQL: the rows are COPYed into a session-local temporary table, then one
``INSERT ... SELECT ... ON CONFLICT (device_id, external_id) DO NOTHING RETURNING id`` moves them into the event
table. SQLite: multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` statements of 500 rows (the same
effect as ``bulk_create(ignore_conflicts=True)``, but the ids of the rows actually inserted come back).

Either way a key stored before (or twice in the same batch) is skipped without an error, and only the new rows
come back, each with its id: they are what the pipeline processes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import connection, transaction
from psycopg.errors import UniqueViolation

from linli.core.times import from_micros

from .models import DeviceEvent

SQLITE_CHUNK = 500
LOAD_TABLE = "linli_event_load"  # a temporary table: see _copy_postgres


@dataclass(slots=True)
class EventRow:
    """One device_event row, column by column (the order is the order of the COPY and INSERT column lists)."""

    device_id: int
    place_path: str
    kind: str
    occurred_at: datetime
    occurred_at_raw: str
    received_at: datetime
    external_id: str
    subject_kind: str = "none"
    subject_ref: str = ""
    subject_ref_type: str = ""
    resident_id: int | None = None
    vehicle_id: int | None = None
    visitor_id: int | None = None
    score: float | None = None
    value: float | None = None
    unit: str = ""
    zone: str = ""
    direction: str = "unknown"
    state: str = "pulse"
    attrs: dict[str, Any] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)
    raw: str = ""


COLUMNS = tuple(f.name for f in fields(EventRow))
TIME_COLUMNS = frozenset({"occurred_at", "received_at"})
JSON_COLUMNS = frozenset({"attrs", "media"})


MICROS = "micros"  # a row_source column type: integer microseconds since the epoch (linli.core.times), given out as
# timestamptz


def row_source(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """A relation of ``rows`` whose columns are (name, PostgreSQL type or MICROS), to name in a WITH clause: on
    PostgreSQL ``unnest`` of one array per column (a parameter per column whatever the number of rows: nothing to
    split or plan per value; each array sent as one literal, ``pg_array``), elsewhere ``VALUES`` (times adapted for
    the connection). A MICROS column's integers become times in the database (exact, and a number costs a fraction
    of a datetime's text to send)."""
    if connection.vendor == "postgresql":
        arrays = [pg_array(column) for column in zip(*rows, strict=True)]
        names = [f"c{i}" for i in range(len(columns))]
        selected = ", ".join(f"timestamptz 'epoch' + {n} * interval '1 microsecond'" if t == MICROS else n
                             for n, (_, t) in zip(names, columns, strict=True))
        unnest = ", ".join(f"%s::{'bigint' if t == MICROS else t}[]" for _, t in columns)
        return f"SELECT {selected} FROM unnest({unnest}) AS u({', '.join(names)})", arrays
    adapt = connection.ops.adapt_datetimefield_value
    micros = [i for i, (_, t) in enumerate(columns) if t == MICROS]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params = []
    for row in rows:
        row = list(row)
        for i in micros:
            row[i] = from_micros(row[i])
        params += [adapt(v) if isinstance(v, datetime) else v for v in row]
    return "VALUES " + ", ".join([one] * len(rows)), params


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of ints, floats, datetimes, strings (always quoted) and None (NULL), to send as one
    text parameter cast to the array's type: psycopg's client-side array dumping costs several times more per
    element (a Python dumper call and quoting each), and an after_store pass sends thousands of them."""
    values = values if isinstance(values, list | tuple) else list(values)
    kinds = set(map(type, values))
    if kinds == {int}:  # ids: the common case, joined in C
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:  # place paths, kinds: few distinct values, each quoted once
        quoted = {v: _quoted(v) for v in set(values)}
        return "{" + ",".join(map(quoted.__getitem__, values)) + "}"
    out = []
    for v in values:
        t = type(v)
        if v is None:
            out.append("NULL")
        elif t is int or t is float or t is bool:  # bool: "True"/"False" are valid boolean input
            out.append(repr(v) if t is float else str(v))
        elif t is datetime:
            out.append(v.isoformat())  # no space, comma, quote or brace: needs no quoting
        else:
            out.append(_quoted(str(v)))
    return "{" + ",".join(out) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def int_array(values: Iterable[int]) -> str:
    """``pg_array`` of ints (ids), the common case."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def in_list(column: str, values: Collection[Any], array_type: str = "text") -> tuple[str, list[Any]]:
    """SQL ``<column> IN (values)`` for hand-written statements, with one parameter whatever the number of values:
    ``= ANY(array)`` on PostgreSQL (``pg_array`` literal), ``IN (SELECT value FROM json_each(...))`` on SQLite.
    ``column`` is quoted here; values are ints or strings."""
    quoted = connection.ops.quote_name(column)
    if connection.vendor == "postgresql":
        literal = int_array(values) if array_type == "bigint" else pg_array(values)
        return f"{quoted} = ANY(%s::{array_type}[])", [literal]
    return f"{quoted} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values), ensure_ascii=False)]


def with_ids(queryset: Any, ids: Sequence[int]) -> Any:
    """``queryset.filter(pk__in=ids)``; on PostgreSQL as ``id = ANY(array)``, one parameter instead of one per id."""
    if connection.vendor != "postgresql":
        return queryset.filter(pk__in=ids)
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    return queryset.extra(where=[f"{table}.id = ANY(%s::bigint[])"], params=[int_array(ids)])


def where_in(queryset: Any, field: str, values: Collection[Any], array_type: str = "text") -> Any:
    """``queryset.filter(<field>__in=values)``; on PostgreSQL as ``column = ANY(array)``: one parameter and one query
    text whatever the number of values (psycopg then reuses the parsed query instead of splitting a text with
    hundreds of placeholders, which costs more than the query itself), the array sent as one literal
    (``pg_array``)."""
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{field}__in": values})
    return queryset.extra(where=[any_of(queryset.model, field, array_type)], params=[pg_array(values)])


def any_of(model: Any, field: str, array_type: str = "text") -> str:
    """SQL ``"table"."column" = ANY(%s::type[])`` for ``where_in`` and hand-written conditions (PostgreSQL)."""
    quote = connection.ops.quote_name
    column = model._meta.get_field(field).column
    return f"{quote(model._meta.db_table)}.{quote(column)} = ANY(%s::{array_type}[])"


def insert_events(rows: Sequence[EventRow]) -> list[int]:
    """Insert the rows whose (device, external_id) is new; return the ids of the inserted rows."""
    return [pk for pk, _ in store_events(rows)]


def store_events(rows: Sequence[EventRow]) -> list[tuple[int, EventRow]]:
    """Insert the rows whose (device, external_id) is new; return each inserted row with its id, in the rows' order
    (what the pipeline's summary of the batch is made of, linli.devices.pipeline.Summary)."""
    unique = _first_of_each_key(rows)
    if not unique:
        return []
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _copy_postgres(cursor, list(unique.values()))
        inserted = _insert_values(cursor, list(unique.values()))
    return [(pk, unique[(device_id, key)]) for pk, device_id, key in inserted]


def _first_of_each_key(rows: Sequence[EventRow]) -> dict[tuple[int, str], EventRow]:
    unique: dict[tuple[int, str], EventRow] = {}
    for row in rows:
        key = (row.device_id, row.external_id)
        if key not in unique:
            unique[key] = row
    return unique


_ROW_VALUES = attrgetter(*COLUMNS)
_TIME_INDEXES = [i for i, c in enumerate(COLUMNS) if c in TIME_COLUMNS]
_JSON_INDEXES = [i for i, c in enumerate(COLUMNS) if c in JSON_COLUMNS]


def _json(value: Any) -> str:
    if not value:  # most events carry no media and few attributes
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _values(rows: Sequence[EventRow], for_copy: bool) -> list[list[Any]]:
    """Each row's values in column order: JSON as text; times as they are for COPY, adapted for the connection's
    placeholders otherwise (SQLite keeps naive UTC text)."""
    adapt = connection.ops.adapt_datetimefield_value
    out = []
    for row in rows:
        values = list(_ROW_VALUES(row))
        for i in _JSON_INDEXES:
            values[i] = _json(values[i])
        if not for_copy:
            for i in _TIME_INDEXES:
                values[i] = adapt(values[i])
        out.append(values)
    return out


_RETURNED = "id, device_id, external_id"  # the new row's id and its key: which of the batch's rows it is


def _column_list() -> str:
    return ", ".join(connection.ops.quote_name(c) for c in COLUMNS)


def _table() -> str:
    return connection.ops.quote_name(DeviceEvent._meta.db_table)


def _insert_values(cursor: Any, rows: list[EventRow]) -> list[tuple[int, int, str]]:
    inserted: list[tuple[int, int, str]] = []
    one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    for start in range(0, len(rows), SQLITE_CHUNK):
        chunk = _values(rows[start:start + SQLITE_CHUNK], for_copy=False)
        cursor.execute(
            f"INSERT INTO {_table()} ({_column_list()}) VALUES {', '.join([one] * len(chunk))} "
            f"ON CONFLICT (device_id, external_id) DO NOTHING RETURNING {_RETURNED}",
            [value for row in chunk for value in row],
        )
        inserted += cursor.fetchall()
    return inserted


# The load table's column types, for a binary COPY: psycopg's binary dumpers are C, its text row formatting costs
# several times more a row. JSON columns travel as text (made JSON by the INSERT that moves the rows).
_COPY_TYPES = {"BigAutoField": "int8", "ForeignKey": "int8", "CharField": "text", "TextField": "text",
               "DateTimeField": "timestamptz", "FloatField": "float8", "JSONField": "text"}


def _load_types() -> list[str]:
    return [_COPY_TYPES[DeviceEvent._meta.get_field(c).get_internal_type()] for c in COLUMNS]


INSERT_LOCK = 0x6C696E6C6965  # "linlie": the advisory lock of storing events (_copy_postgres)


def lock_event_inserts() -> None:
    """Take INSERT_LOCK now (PostgreSQL; held until the transaction ends). ``store_events`` takes it itself; a
    transaction that locks device rows before storing events takes it first, in the order ingest takes both
    (the lock, then the devices it marks seen), so neither waits for the other in a circle."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INSERT_LOCK])


def _copy_postgres(cursor: Any, rows: list[EventRow]) -> list[tuple[int, EventRow]]:
    """The rows whose key is new COPYed straight into the event table, with ids drawn in the rows' order.

    One transaction stores events at a time: each takes INSERT_LOCK (held until its commit), then looks up which
    keys are stored already (an index probe each), then COPYs the rest. A plain COPY cannot skip a key; under the
    lock no other transaction can be inserting one of these keys meanwhile, so the look-up is the whole answer.
    Before, the rows went through a temporary table and ``INSERT ... ON CONFLICT DO NOTHING``: that cost the
    database about a third more per row than a COPY (docs/domain/devices.md, "CPU per stored event"). Should a key
    turn up all the same (a row written without going through here), the COPY is undone to its savepoint and the
    rows take that way, which skips any key (_insert_on_conflict)."""
    lock_event_inserts()
    stored = _stored_keys(cursor, rows)
    new = [row for i, row in enumerate(rows) if i not in stored] if stored else rows
    if not new:
        return []
    cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_id_sequence(cursor), len(new)])
    ids = [pk for (pk,) in cursor.fetchall()]
    columns = _column_list()
    try:
        with transaction.atomic():  # a savepoint: a key stored after all undoes only this COPY
            with cursor.cursor.copy(f"COPY {_table()} (id, {columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_COPY_ROW_TYPES)
                write = copy.write_row
                attrs, media = _JSONB_BINARY
                for pk, row in zip(ids, new, strict=True):
                    values = [pk, *_ROW_VALUES(row)]
                    values[attrs] = _jsonb(values[attrs])
                    values[media] = _jsonb(values[media])
                    write(values)
    except UniqueViolation:
        inserted = sorted(_insert_on_conflict(cursor, new))  # in id order: the rows' order
        by_key = {(row.device_id, row.external_id): row for row in new}
        return [(pk, by_key[(device_id, key)]) for pk, device_id, key in inserted]
    return list(zip(ids, new, strict=True))


def _stored_keys(cursor: Any, rows: list[EventRow]) -> set[int]:
    """The positions (from 0) of the rows whose key is in the event table."""
    table = _table()
    cursor.execute(
        f"SELECT k.i - 1 FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS k(device_id, external_id, i) "
        # LATERAL ... LIMIT 1: one probe of the key's index per row (the planner would otherwise hash the table)
        f"CROSS JOIN LATERAL (SELECT 1 FROM {table} AS e WHERE e.device_id = k.device_id "
        f"AND e.external_id = k.external_id LIMIT 1) AS found",
        [int_array([row.device_id for row in rows]), pg_array([row.external_id for row in rows])])
    return {i for (i,) in cursor.fetchall()}


def _insert_on_conflict(cursor: Any, rows: list[EventRow]) -> list[tuple[int, int, str]]:
    quote = connection.ops.quote_name
    columns = _column_list()
    load_columns = ", ".join(f"{quote(c)}::{t}" if t != "text" or c in JSON_COLUMNS else quote(c)
                             for c, t in zip(COLUMNS, _LOAD_TYPES, strict=True))
    selected = ", ".join(f"{quote(c)}::jsonb" if c in JSON_COLUMNS else quote(c) for c in COLUMNS)
    # A temporary table lives as long as the database session; its rows as long as the transaction (the commit
    # empties it). DELETE, not TRUNCATE, for the rows of an earlier batch of the same transaction: it is usually
    # empty, and TRUNCATE gives the table a new file and the session a catalog change to reload every time.
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {LOAD_TABLE} ON COMMIT DELETE ROWS "
        f"AS SELECT {load_columns} FROM {_table()} WITH NO DATA"
    )
    cursor.execute(f"DELETE FROM {LOAD_TABLE}")
    with cursor.cursor.copy(f"COPY {LOAD_TABLE} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_LOAD_TYPES)
        for values in _values(rows, for_copy=True):
            copy.write_row(values)
    # Inserted in key order: two transactions whose rows share keys then wait for each other's key instead of each
    # holding one the other needs (a deadlock). The ids are still drawn in the rows' order, as they were copied.
    cursor.execute(
        f"INSERT INTO {_table()} (id, {columns}) SELECT id, {selected} FROM ("
        f"SELECT nextval(%s::regclass) AS id, * FROM {LOAD_TABLE}) AS batch "
        f'ORDER BY device_id, external_id COLLATE "C" '
        f"ON CONFLICT (device_id, external_id) DO NOTHING RETURNING {_RETURNED}",
        [_id_sequence(cursor)],
    )
    return cursor.fetchall()


_sequences: dict[str, str] = {}


def _id_sequence(cursor: Any) -> str:
    """The sequence the event table's ids come from (read once per database)."""
    name = connection.settings_dict["NAME"]
    if name not in _sequences:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [DeviceEvent._meta.db_table])
        _sequences[name] = cursor.fetchone()[0]
    return _sequences[name]


_LOAD_TYPES = _load_types()
# COPY straight into the event table: the id first; JSON columns in jsonb's binary form, a version byte (1) and the
# text, sent through the text dumper (C; the byte is the character U+0001 in UTF-8)
_COPY_ROW_TYPES = ["int8"] + list(_LOAD_TYPES)
_JSONB_BINARY = [1 + COLUMNS.index("attrs"), 1 + COLUMNS.index("media")]  # their places in such a row


def _jsonb(value: Any) -> str:
    return "\x01" + _json(value)
