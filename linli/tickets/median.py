"""A Median aggregate that runs in the database on both backends: PostgreSQL's ``percentile_cont(0.5)``, and on
SQLite a small aggregate function registered on every new connection. Both interpolate between the two middle
values of an even count, so the two backends give the same figures."""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField
from django.dispatch import receiver

SQLITE_FUNCTION = "linli_median"


class _SqliteMedian:
    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


@receiver(connection_created)
def _register_sqlite_median(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_FUNCTION, 1, _SqliteMedian)


class Median(Aggregate):
    function = SQLITE_FUNCTION
    name = "Median"
    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="percentile_cont",
                           template="%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)", **extra_context)
