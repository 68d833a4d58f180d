"""Plain multi-row INSERTs (COPY on PostgreSQL) for the import's hot path.

Django's bulk_create builds a model instance and compiles every field of every row (about 60 µs a resident);
an import of 100,000 people spends most of its time there. ``Inserter`` writes the same rows the model would,
with one executemany per batch: every concrete field of the model is filled, either from the row or from the
field's default (auto_now fields get the time of the insert), and values go through the field's own
preparation (encryption for EncryptedTextField, JSON, dates) except for the plain text, number and key
fields whose Python value is already what the database driver takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import connection, models
from django.utils import timezone

# Field classes whose Python values the drivers (sqlite3, psycopg) store unchanged.
_PLAIN = (models.CharField, models.IntegerField, models.BooleanField, models.ForeignKey)
_PLAIN_TEXT = models.TextField
BATCH = 2000


def _converter(field: models.Field) -> Callable[[Any], Any] | None:
    if type(field) is _PLAIN_TEXT or isinstance(field, _PLAIN):
        return None
    if type(field) is models.DateField:
        return connection.ops.adapt_datefield_value
    return lambda value: field.get_db_prep_save(value, connection)


class Inserter:
    """INSERTs rows of ``model`` given as {attname: value}; fields left out take their default. With
    ``explicit_ids`` every row carries its primary key (from ``reserve_ids``), otherwise the database numbers them."""

    def __init__(self, model: type[models.Model], *, explicit_ids: bool = False):
        self.fields = [f for f in model._meta.concrete_fields if explicit_ids or not f.primary_key]
        names = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        table = connection.ops.quote_name(model._meta.db_table)
        self.sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        self.copy_sql = f"COPY {table} ({names}) FROM STDIN"
        self.converters = [_converter(f) for f in self.fields]
        now = timezone.now()
        self.defaults = [None if f.primary_key else self._prepare(i, now if getattr(f, "auto_now", False) or getattr(
            f, "auto_now_add", False) else f.get_default()) for i, f in enumerate(self.fields)]
        self.attnames = [f.attname for f in self.fields]

    def _prepare(self, index: int, value: Any) -> Any:
        convert = self.converters[index]
        return value if convert is None or value is None else convert(value)

    def insert(self, rows: Iterable[Mapping[str, Any]]) -> int:
        values = [self._row(row) for row in rows]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY streams the rows in one statement: several times faster than INSERTs on PostgreSQL.
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for row in values:
                        copy.write_row(row)
            else:
                for start in range(0, len(values), BATCH):
                    cursor.executemany(self.sql, values[start:start + BATCH])
        return len(values)

    def _row(self, row: Mapping[str, Any]) -> list[Any]:
        return [self._prepare(i, row[name]) if name in row else self.defaults[i]
                for i, name in enumerate(self.attnames)]


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for ``count`` rows about to be inserted, so that other rows (and paths) can name them first."""
    if not count:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [connection.ops.quote_name(table), pk, count])
            return [row[0] for row in cursor.fetchall()]
        # SQLite takes its write lock at BEGIN (transaction_mode IMMEDIATE): nobody else can insert until we commit.
        if not connection.in_atomic_block:
            raise RuntimeError("reserve ids inside the transaction that inserts the rows")
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(pk)}) FROM {connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])  # ids of deleted rows stay used
        used = cursor.fetchone()
        top = max(top, used[0] if used else 0)
    return list(range(top + 1, top + 1 + count))
