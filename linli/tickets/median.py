"""A Median aggregate that runs in the database on both backends: PostgreSQL's ``percentile_cont(0.5)``, and on
SQLite a small aggregate function registered on every new connection. Both interpolate between the two middle
values of an even count, so the two backends give the same figures."""

from __future__ import annotations

import bisect
import operator
from functools import reduce
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Func, IntegerField, Q, Value
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


# ---------------------------------------------------------------- exact medians without sorting every value
#
# ``percentile_cont`` sorts all the values of each group (and of the total: again) and cannot be hashed: half a
# million durations per district-year, sorted twice per duration. Instead (PostgreSQL):
#   1. the caller's hashed counts query also groups by each duration's bucket (``WidthBucket``: geometric
#      buckets, a binary search over ``EDGES``), which gives a histogram per group and, summed, of the total;
#   2. ``median_targets`` finds from a histogram the bucket holding each middle value and its rank in it;
#   3. ``band_medians`` reads, in one more query, only the values of those buckets (a tenth of them or less),
#      sorted per group, and picks the middle values: the total's from its groups' bands merged.
# The result is exactly percentile_cont(0.5): the middle value, or the mean of the two middle values.

RATIO = 1.3  # each bucket's upper edge over its lower edge
INT_MAX = 2_147_483_647


def _edges() -> tuple[int, ...]:
    edges: list[int] = []
    value = 1.0
    while value <= INT_MAX:
        if not edges or round(value) > edges[-1]:
            edges.append(round(value))
        value *= RATIO
    return tuple(edges)


EDGES = _edges()  # 1, 2, 3, 4, 5, 6, 8, 11, 14, ...: bucket 0 holds values < 1, bucket i [EDGES[i-1], EDGES[i])


def bucket_of(value: float) -> int:
    """The bucket of ``value``, as ``WIDTH_BUCKET(value, EDGES)`` numbers it."""
    return bisect.bisect_right(EDGES, value)


class WidthBucket(Func):
    """``WIDTH_BUCKET(expression, EDGES)`` (PostgreSQL): the duration's bucket, NULL for NULL."""

    function = "WIDTH_BUCKET"
    output_field = IntegerField()

    def __init__(self, expression: Any) -> None:
        from django.contrib.postgres.fields import ArrayField

        super().__init__(expression, Value(list(EDGES), output_field=ArrayField(IntegerField())))


def median_targets(histogram: dict[int, int]) -> list[tuple[int, int]]:
    """Where the middle values of a histogram (bucket -> count of values) lie: (bucket, rank in the bucket from
    0) of the lower and the upper middle value (the same for an odd count); [] without values."""
    n = sum(histogram.values())
    if not n:
        return []
    wanted, found, seen = [(n - 1) // 2, n // 2], [], 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        while wanted and wanted[0] < seen + count:
            found.append((bucket, wanted.pop(0) - seen))
        seen += count
    return found


def _in_bucket(values: list[int], bucket: int) -> list[int]:
    """The values of a sorted list lying in ``bucket``."""
    lo = bisect.bisect_left(values, EDGES[bucket - 1]) if bucket > 0 else 0
    hi = bisect.bisect_left(values, EDGES[bucket]) if bucket < len(EDGES) else len(values)
    return values[lo:hi]


TOTAL = object()  # the key of the total in ``band_medians``' answers


def band_medians(qs: Any, fields: dict[str, str], histograms: dict[str, dict[Any, dict[int, int]]],
                 key: str | None = None, key_expr: Any = None) -> dict[Any, dict[str, float | None]]:
    """The exact medians of ``fields`` (name -> duration field) over ``qs``, per group of ``key`` (a field, or the
    expression ``key_expr`` named ``key``; None: the total only) and of the total (key ``TOTAL``), from the
    histograms the caller counted (``histograms[name][group] = {bucket: count}``, every group with values).

    One query: the values of the buckets holding a middle value, as a sorted array per group (the total's
    middle values are picked from all groups' arrays merged)."""
    targets: dict[tuple[str, Any], list[tuple[int, int]]] = {}
    needed: dict[str, set[int]] = {name: set() for name in fields}
    for name, per_group in histograms.items():
        total: dict[int, int] = {}
        for histogram in per_group.values():
            for bucket, count in histogram.items():
                total[bucket] = total.get(bucket, 0) + count
        for group, histogram in [*(per_group.items() if key is not None else ()), (TOTAL, total)]:
            targets[(name, group)] = found = median_targets(histogram)
            needed[name].update(bucket for bucket, _ in found)
    out: dict[Any, dict[str, float | None]] = {}
    asked = [name for name in fields if needed[name]]
    arrays: dict[Any, dict[str, list[int]]] = {}
    if asked:
        from django.contrib.postgres.aggregates import ArrayAgg

        aliases = {f"linli_band_{i}": WidthBucket(fields[name]) for i, name in enumerate(fields)}
        inside = {name: Q(**{f"linli_band_{i}__in": sorted(needed[name])}) for i, name in enumerate(fields)
                  if name in asked}
        band = qs.alias(**aliases).filter(reduce(operator.or_, inside.values()))
        aggregates = {f"linli_values_{i}": ArrayAgg(fields[name], filter=inside[name], order_by=fields[name])
                      for i, name in enumerate(fields) if name in asked}
        names = {f"linli_values_{i}": name for i, name in enumerate(fields) if name in asked}
        if key is None:
            rows = [{**band.aggregate(**aggregates), "linli_key": TOTAL}]
        else:
            grouped = band.values(**{key: key_expr}) if key_expr is not None else band.values(key)
            rows = [{**r, "linli_key": r[key]} for r in grouped.annotate(**aggregates).order_by()]
        for row in rows:
            arrays[row["linli_key"]] = {names[a]: row[a] or [] for a in names}
    for (name, group), found in targets.items():
        if not found:
            out.setdefault(group, {})[name] = None
            continue
        middle = []
        for bucket, rank in found:
            if group is TOTAL:
                pool = sorted(v for values in arrays.values() for v in _in_bucket(values.get(name, []), bucket))
            else:
                pool = _in_bucket(arrays.get(group, {}).get(name, []), bucket)
            middle.append(pool[rank])
        out.setdefault(group, {})[name] = (middle[0] + middle[-1]) / 2
    return out
