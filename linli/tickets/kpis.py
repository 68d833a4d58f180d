"""KPIs of ticket handling, computed by aggregate queries over the tickets themselves (never stored by hand):
per place subtree, organisation, category, staff member, kind and month, over tickets created in a period.

Definitions (tickets withdrawn by the reporter are left out):
- on-time rate: resolved tickets that missed neither the response nor the resolution deadline / resolved tickets
- handling (closure) rate: closed / (tickets − rejected); complaint handling rate: the same for complaints
- satisfaction rate: ratings with overall >= 4 / rated tickets
- reopen rate: tickets reopened at least once / resolved tickets
- median response time (created → accepted or rejected), median resolution time (created → resolved, pauses
  not counted), from the seconds each ticket stores when it is responded to and resolved
Targets come from LINLI_TICKET_KPI_TARGETS (defaults of the 海纳尔 case: on time 100 %, complaints handled
100 %, satisfied 95 %).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import CharField, Count, DateTimeField, F, Func, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import StrIndex, Substr, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from linli.core.actor import GLOBAL_PATH, Actor
from linli.core.errors import invalid
from linli.core.permissions import Perm
from linli.core.web import localized
from linli.places.models import Place

from .choices import TicketKind, TicketStatus
from .median import TOTAL, Median, WidthBucket, band_medians
from .models import Category, Organisation, Ticket

GROUPS = ("total", "place", "organisation", "category", "assignee", "month", "kind")
COUNTS = ("tickets", "rejected", "resolved", "closed", "on_time", "rated", "satisfied", "reopened", "complaints",
          "complaints_closed")
RATES = ("on_time_rate", "handling_rate", "complaint_handling_rate", "satisfaction_rate", "reopen_rate")
COLUMNS_ZH = {
    "label": "分组", "tickets": "工单数", "rejected": "不予受理", "resolved": "已办结", "closed": "已关闭",
    "on_time": "按时办结", "rated": "已评价", "satisfied": "满意", "reopened": "重新打开", "complaints": "投诉",
    "complaints_closed": "投诉办结", "on_time_rate": "及时率", "handling_rate": "办结率",
    "complaint_handling_rate": "投诉办结率", "satisfaction_rate": "满意率", "reopen_rate": "重开率",
    "median_response_minutes": "响应时长中位数（分钟）", "median_resolution_hours": "办结时长中位数（小时）",
}


@dataclass
class KpiFilter:
    since: dt.date | None = None  # first day, inclusive (local dates)
    until: dt.date | None = None  # last day, inclusive
    place_id: int | None = None
    organisation_id: int | None = None
    category_id: int | None = None
    assignee_id: int | None = None
    kind: str | None = None


@dataclass
class KpiRow:
    key: str
    label: str
    tickets: int = 0
    rejected: int = 0
    resolved: int = 0
    closed: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    reopened: int = 0
    complaints: int = 0
    complaints_closed: int = 0
    median_response_minutes: float | None = None
    median_resolution_hours: float | None = None

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.on_time, self.resolved)

    @property
    def handling_rate(self) -> float | None:
        return self._rate(self.closed, self.tickets - self.rejected)

    @property
    def complaint_handling_rate(self) -> float | None:
        return self._rate(self.complaints_closed, self.complaints)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied, self.rated)

    @property
    def reopen_rate(self) -> float | None:
        return self._rate(self.reopened, self.resolved)


@dataclass
class KpiTable:
    group: str
    since: dt.date
    until: dt.date
    targets: dict[str, float]
    total: KpiRow
    rows: list[KpiRow] = field(default_factory=list)
    # with ``kpi_table(trend=...)``: the metrics of each day, week or month found (by its first day), computed in
    # the same pass as the rows where the database allows (kpi_charts draws them)
    trend: dict[dt.date, dict[str, Any]] | None = None


def targets() -> dict[str, float]:
    """LINLI_TICKET_KPI_TARGETS ("on_time_rate=1.0,complaint_handling_rate=1.0,satisfaction_rate=0.95")."""
    out: dict[str, float] = {}
    for item in settings.LINLI_TICKET_KPI_TARGETS.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip() in RATES:
            out[name.strip()] = float(value)
    return out


def _metrics(*, counts: bool = True, medians: bool = True) -> dict[str, Any]:
    """The aggregates of a KPI row: the counts (``COUNTS``) and the two medians (either alone when asked)."""
    if not (counts and medians):
        both = _metrics()
        return {k: v for k, v in both.items() if (k in COUNTS) == counts}
    rejected = Q(status=TicketStatus.REJECTED)
    resolved = Q(resolved_at__isnull=False)
    complaint = Q(kind=TicketKind.COMPLAINT)
    return {
        "tickets": Count("pk"),
        "rejected": Count("pk", filter=rejected),
        "resolved": Count("pk", filter=resolved),
        "closed": Count("pk", filter=Q(status=TicketStatus.CLOSED)),
        "on_time": Count("pk", filter=resolved & Q(response_overdue=False, resolution_overdue=False)),
        # the rating's overall score as kept on the ticket (``Ticket.rating_overall``): no join of the ratings
        "rated": Count("pk", filter=Q(rating_overall__isnull=False)),
        "satisfied": Count("pk", filter=Q(rating_overall__gte=4)),
        "reopened": Count("pk", filter=Q(reopen_count__gt=0)),
        "complaints": Count("pk", filter=complaint & ~rejected),
        "complaints_closed": Count("pk", filter=complaint & Q(status=TicketStatus.CLOSED)),
        "median_response": Median("response_seconds"),
        "median_resolution": Median("resolution_seconds"),
    }


def _row(key: str, label: str, values: dict[str, Any]) -> KpiRow:
    response, resolution = values.get("median_response"), values.get("median_resolution")
    return KpiRow(key=key, label=label, **{name: values.get(name) or 0 for name in COUNTS},
                  median_response_minutes=round(response / 60, 2) if response is not None else None,
                  median_resolution_hours=round(resolution / 3600, 2) if resolution is not None else None)


def period(f: KpiFilter, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last day of the KPIs' period: ``f``'s, by default the 30 days up to today."""
    return _period(f, today or timezone.localdate())


def _period(f: KpiFilter, today: dt.date) -> tuple[dt.date, dt.date]:
    until = f.until or today
    since = f.since or until - dt.timedelta(days=29)
    if since > until:
        raise invalid("since", "after_until", "开始日期晚于结束日期", "since is after until")
    return since, until


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def kpi_tickets(actor: Actor, f: KpiFilter, since: dt.date, until: dt.date) -> tuple[QuerySet[Ticket], Place | None]:
    from linli.places.queries import access_place

    actor.require(Perm.TICKET_KPI)
    qs = Ticket.objects.filter(actor.scope_q(Perm.TICKET_KPI)).exclude(status=TicketStatus.WITHDRAWN).filter(
        created_at__gte=_local_midnight(since), created_at__lt=_local_midnight(until + dt.timedelta(days=1)))
    place = access_place(actor, f.place_id) if f.place_id else None
    if place is not None:
        qs = qs.filter(place_path__startswith=place.path)
    for name in ("organisation_id", "category_id", "assignee_id", "kind"):
        value = getattr(f, name)
        if value:
            qs = qs.filter(**{name: value})
    return qs, place


BUCKET = "linli_bucket"  # the trend's day, week or month, when the caller wants the trend in the same pass


def _grouped_values(qs: QuerySet[Ticket], key: str, expr: Any, bucket: Any) -> QuerySet:
    fields, values = _group_by(key, expr, bucket)
    return qs.values(*fields, **values).annotate(**_metrics()).order_by()


DURATIONS = {"median_response": "response_seconds", "median_resolution": "resolution_seconds"}


def _total_and_groups(qs: QuerySet[Ticket], key: str | None, expr: Any = None, bucket: Any = None, *,
                      by_buckets: bool = True, rollup: _Rollup | None = None
                      ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The metrics of all of ``qs``, of each group by ``key`` (a field, or the expression ``expr`` named ``key``;
    None: the total only) and, when ``bucket`` (an expression of the creation time) is given, of each bucket of the
    trend (counts only: the trend draws no medians).

    On PostgreSQL two queries, whatever the grouping (``median.band_medians``):
    - the counts per group, trend bucket and bucket of each duration (the ratings' from the ticket's own
      ``rating_overall``: no join), hashed without a sort; the groups', buckets' and total's counts are their
      sums, and the durations' buckets give a histogram of each duration per group and of the total;
    - the medians: only the values of the buckets holding a middle value (a tenth of the durations or less),
      sorted per group; the total's middle values are picked from the groups' merged.
    A district's year is half a million tickets: the medians' pass sorts a tenth of them instead of every duration
    per group and again for the total (``percentile_cont``), for a little more hashing in the counts' pass.

    That pays where the groups are an expression (a place's children read from the path, the trend's buckets):
    the planner cannot estimate their number, so the counts are hashed by one process either way. Grouped by a
    column (``by_buckets=False``: category, organisation, assignee, kind, month), the counts without the
    durations' buckets run in parallel and the medians are taken by ``percentile_cont`` per group and for the
    total in one ``GROUPING SETS`` pass, which is then cheaper. Elsewhere a query per grouping, medians included
    (``Median``).

    With ``rollup`` (``_rollup_for``), the counts of the period's whole months come from the rollup instead
    (``_rolled_up``)."""
    if rollup is not None:
        return _rolled_up(rollup, qs, key, expr, bucket)
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        if key is None:
            return qs.aggregate(**_metrics()), [], _trend_alone(qs, bucket)
        groups = list(_grouped_values(qs, key, expr, None))
        return qs.aggregate(**_metrics()), groups, _trend_alone(qs, bucket)
    counts = _metrics(medians=False)
    fields, values = _group_by(key, expr, bucket)
    if by_buckets:
        for name, column in DURATIONS.items():
            values[f"linli_{name}"] = WidthBucket(column)
        cells, histograms = _cells(qs.values(*fields, **values).annotate(**counts).order_by(), key, bucket)
        medians = band_medians(qs, DURATIONS, histograms, key, expr)
    else:
        with _hashed(qs.db):
            cells = list(qs.values(*fields, **values).annotate(**counts).order_by())
        medians = _sorted_medians(qs, key, expr)
    return _folded(cells, key, bucket, medians)


def _folded(cells: list[dict[str, Any]], key: str | None, bucket: Any, medians: dict[Any, dict[str, Any]]
            ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The total, the groups by ``key`` and the trend's buckets, each the sum of its cells' counts (cells of a
    counts query grouped by the key and the trend's bucket), with the medians found per group and of the total."""
    counts = _metrics(medians=False)
    total: dict[str, Any] = dict.fromkeys(counts, 0)
    groups: dict[Any, dict[str, Any]] = {}
    trend: dict[Any, dict[str, Any]] = {}
    for cell in cells:
        sums = [total]
        if key is not None:
            sums.append(groups.setdefault(cell[key], {key: cell[key], **dict.fromkeys(counts, 0)}))
        if bucket is not None:
            sums.append(trend.setdefault(cell[BUCKET], {BUCKET: cell[BUCKET], **dict.fromkeys(counts, 0)}))
        for name in counts:
            for target in sums:
                target[name] += cell[name] or 0
    none = dict.fromkeys(DURATIONS)
    total.update({**none, **medians.get(TOTAL, {})})
    for group, row in groups.items():  # a group without any value of a duration has no median of it
        row.update({**none, **medians.get(group, {})})
    return total, list(groups.values()), (list(trend.values()) if bucket is not None else None)


def _group_by(key: str | None, expr: Any, bucket: Any) -> tuple[list[str], dict[str, Any]]:
    """The ``values()`` arguments grouping tickets by ``key`` (a field, or ``expr`` named ``key``; None: no key) and
    by the trend's ``bucket`` when given."""
    fields: list[str] = []
    values: dict[str, Any] = {}
    if key is not None:
        if expr is not None:
            values[key] = expr
        else:
            fields.append(key)
    if bucket is not None:
        values[BUCKET] = bucket
    return fields, values


class _Grouping(Func):
    """GROUPING(key): 1 when the row is not grouped by the key (the total's row of GROUPING SETS; PostgreSQL)."""

    function = "GROUPING"
    contains_aggregate = True
    output_field = IntegerField()


def _sorted_medians(qs: QuerySet[Ticket], key: str | None, expr: Any) -> dict[Any, dict[str, Any]]:
    """The medians per group of ``key`` and of the total (key ``TOTAL``) by ``percentile_cont``, in one pass
    (``GROUP BY GROUPING SETS ((key), ())``, reading the two durations only)."""
    medians = _metrics(counts=False)
    if key is None:
        return {TOTAL: qs.aggregate(**medians)}
    fields, values = _group_by(key, expr, None)
    sql, params = (qs.values(*fields, **values).annotate(**medians)
                   .annotate(linli_total=_Grouping(key)).order_by().query.sql_with_params())
    head, sep, group_by = sql.rpartition(" GROUP BY ")
    if not sep or not group_by.strip().isdigit():
        raise AssertionError(f"unexpected grouped query: {sql}")
    out: dict[Any, dict[str, Any]] = {}
    with connections[qs.db].cursor() as cursor:
        cursor.execute(f"{head} GROUP BY GROUPING SETS (({group_by}), ())", params)
        names = [c.name for c in cursor.description]
        for found in (dict(zip(names, r, strict=True)) for r in cursor.fetchall()):
            out[TOTAL if found["linli_total"] else found[key]] = {name: found[name] for name in medians}
    return out


def _cells(grouped: QuerySet, key: str | None, bucket: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run the counts query ``grouped`` (grouped by the key, the trend's bucket and each duration's bucket, hashed)
    and fold its cells in the same statement: the counts per key and trend bucket, and per key the number of
    tickets in each bucket of each duration (the histograms, ``histograms[name][key] = {bucket: count}``). A few
    dozen rows and a few hundred instead of the tens of thousands of cells to read and add up in Python."""
    sql, params = grouped.query.sql_with_params()
    q = connections[grouped.db].ops.quote_name
    keys = [q(key)] if key is not None else []
    trend = [q(BUCKET)] if bucket is not None else []
    sums = [f"SUM({q(name)})::bigint AS {q(name)}" for name in COUNTS]
    by = [*keys, *trend]
    parts = [f"SELECT {', '.join(['0 AS linli_part', *by, 'NULL::integer AS linli_b', *sums])} FROM linli_cells"
             + (f" GROUP BY {', '.join(by)}" if by else "")]
    nulls = [f"NULL::bigint AS {q(name)}" for name in COUNTS[1:]]
    for i, name in enumerate(DURATIONS, start=1):
        b = q(f"linli_{name}")
        columns = [str(i), *keys, *(["NULL::integer"] if trend else []), b, f"SUM({q('tickets')})::bigint", *nulls]
        parts.append(f"SELECT {', '.join(columns)} FROM linli_cells WHERE {b} IS NOT NULL "
                     f"GROUP BY {', '.join([*keys, b])}")
    statement = f"WITH linli_cells AS MATERIALIZED ({sql}) " + " UNION ALL ".join(parts)
    cells: list[dict[str, Any]] = []
    histograms: dict[str, dict[Any, dict[int, int]]] = {name: {} for name in DURATIONS}
    names = list(DURATIONS)
    with _hashed(grouped.db), connections[grouped.db].cursor() as cursor:
        cursor.execute(statement, params)
        for row in cursor.fetchall():
            part, rest = row[0], list(row[1:])
            group = rest.pop(0) if key is not None else TOTAL
            at = rest.pop(0) if bucket is not None else None
            found, figures = rest[0], rest[1:]
            if part == 0:
                cell = dict(zip(COUNTS, figures, strict=True))
                if key is not None:
                    cell[key] = group
                if bucket is not None:
                    cell[BUCKET] = at
                cells.append(cell)
            else:
                histograms[names[part - 1]].setdefault(group, {})[found] = figures[0]
    return cells, histograms


def _total_only(qs: QuerySet[Ticket], bucket: Any, rollup: _Rollup | None = None
                ) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """The metrics of all of ``qs`` and the trend's buckets (with ``bucket``). Without a trend or the rollup one
    aggregate (``percentile_cont`` then sorts each duration once: cheaper than hashing the tickets by duration
    buckets to spare that sort, which pays off when groups would sort them twice)."""
    if bucket is None and rollup is None:
        return qs.aggregate(**_metrics()), None
    total, _groups, trend = _total_and_groups(qs, None, bucket=bucket, rollup=rollup)
    return total, trend


def _grouped(qs: QuerySet[Ticket], key: str, group: str, bucket: Any,
             rollup: _Rollup | None = None) -> tuple[dict[str, Any], list[KpiRow], Any]:
    total, found, trend = _total_and_groups(qs, key, bucket=bucket, by_buckets=False, rollup=rollup)
    found.sort(key=lambda r: (r[key] is not None, r[key]))  # NULL (nobody assigned) first, then ascending
    labels = _labels(group, [r[key] for r in found if r[key] is not None])
    return total, [_row(str(r[key]) if r[key] is not None else "", labels.get(r[key], "—"), r) for r in found], trend


def _path_part(column: str, parent_path: str) -> Func:
    """The id (as text) of the child of ``parent_path`` a path column lies under, "" for the parent itself
    (PostgreSQL's SPLIT_PART): "/1/4/17/" under "/1/" is part 3 of "", "1", "4", "17", ""."""
    return Func(F(column), Value("/"), Value(parent_path.count("/") + 1), function="SPLIT_PART",
                output_field=CharField())


def _child_key(parent_path: str) -> Substr:
    """The id (as text) of the child of ``parent_path`` a ticket's place lies under: "/1/4/17/90/" under "/1/" is
    "4". Only for tickets strictly below the parent."""
    rest = Substr("place_path", len(parent_path) + 1)
    return Substr(rest, 1, StrIndex(rest, Value("/")) - 1)


def _place_rows(actor: Actor, qs: QuerySet[Ticket], place: Place | None,
                bucket: Any, rollup: _Rollup | None = None) -> tuple[dict[str, Any], list[KpiRow], Any]:
    """One row per child of the place (or per top place of the actor's scope), each over the tickets inside the
    child's subtree (tickets at the place itself, or under a path no child has any more, count in the total only).
    Under a place (or the whole tree) one query grouped by the child's id read from the path, with the total in the
    same pass on PostgreSQL; the actor's single top place is the whole scope, so its row is the total."""
    paths = actor.paths_for(Perm.TICKET_KPI)
    if place is None and "/" not in paths:
        children = list(Place.objects.filter(path__in=paths).order_by("sort_key", "id"))
        total, trend = _total_only(qs, bucket, rollup)
        if len(children) == 1:
            return total, [_row(str(children[0].pk), children[0].name, total)], trend
        return total, [_row(str(c.pk), c.name, qs.filter(place_path__startswith=c.path).aggregate(**_metrics()))
                       for c in children], trend
    if place is not None:
        children, parent_path = list(Place.objects.filter(parent=place).order_by("sort_key", "id")), place.path
    else:
        children, parent_path = list(Place.objects.filter(parent__isnull=True)), "/"
    if connections[qs.db].vendor == "postgresql":  # "" for tickets at the place itself: no child's row
        key = _path_part("place_path", parent_path)
        total, found, trend = _total_and_groups(qs, "child", key, bucket, rollup=rollup)
    else:
        total = qs.aggregate(**_metrics())
        below = qs.filter(place_path__startswith=parent_path).exclude(place_path=parent_path)
        found = list(below.values(child=_child_key(parent_path)).annotate(**_metrics()).order_by())
        trend = _trend_alone(qs, bucket)
    by_child = {r["child"]: r for r in found}
    return total, [_row(str(c.pk), c.name, by_child.get(str(c.pk), {})) for c in children], trend


def _trend_alone(qs: QuerySet[Ticket], bucket: Any) -> list[dict[str, Any]] | None:
    """The trend's buckets in a query of their own (where they cannot join the table's pass)."""
    if bucket is None:
        return None
    return list(qs.values(**{BUCKET: bucket}).annotate(**_metrics()).order_by())


def _labels(group: str, keys: list[Any]) -> dict[Any, str]:
    """The names of the groups found (one query by their keys, not another pass over the tickets)."""
    if group == "organisation":
        return dict(Organisation.objects.filter(pk__in=keys).values_list("pk", "name"))
    if group == "category":  # in the active language: the English name where the category has one
        return {pk: localized(name, name_en or name)
                for pk, name, name_en in Category.objects.filter(pk__in=keys).values_list("pk", "name", "name_en")}
    if group == "assignee":
        users = get_user_model().objects.filter(pk__in=keys)
        return {u.pk: u.get_full_name() or u.get_username() for u in users}
    return {k: str(v) for k, v in TicketKind.choices}


def kpi_table(actor: Actor, f: KpiFilter, group: str = "total", *, today: dt.date | None = None,
              trend: str | None = None, use_rollup: bool = True) -> KpiTable:
    """The KPI rows of the actor's area for ``group``, their total, and the targets; with ``trend`` ("day", "week"
    or "month"), also the metrics of each such period of the tickets' local creation dates (``KpiTable.trend``),
    in the same pass over the tickets on PostgreSQL. The counts of whole months come from the rollup where it
    serves (``kpi_rollup``; ``use_rollup=False`` counts every ticket: the same figures)."""
    if group not in GROUPS:
        raise invalid("group", "invalid_choice", "分组方式无效", f"group must be one of {', '.join(GROUPS)}")
    since, until = _period(f, today or timezone.localdate())
    qs, place = kpi_tickets(actor, f, since, until)
    bucket, starts = None, []
    if trend is not None:
        starts = trend_starts(since, until, trend)
        bucket = _bucket_of(qs, starts, trend)
    rollup = _rollup_for(actor, f, qs, place, group, trend, since, until) if use_rollup else None
    with _sort_memory(qs.db):
        total, rows, found = _computed(actor, qs, place, group, bucket, since, until, rollup)
    return KpiTable(group=group, since=since, until=until, targets=targets(),
                    total=_row("total", localized("合计", "Total"), total),
                    rows=rows, trend=None if found is None else {_bucket_day(r[BUCKET], starts): r for r in found})


def _bucket_of(qs: QuerySet[Ticket], starts: list[dt.date], unit: str) -> Any:
    """The expression numbering a ticket's day, week or month among ``starts`` (read back by ``_bucket_day``): on
    PostgreSQL ``WIDTH_BUCKET`` over the buckets' local midnights (a binary search, much cheaper than truncating
    every creation time in the local zone); elsewhere the truncated creation time."""
    if connections[qs.db].vendor == "postgresql":
        from django.contrib.postgres.fields import ArrayField

        edges = Value([_local_midnight(s) for s in starts], output_field=ArrayField(DateTimeField()))
        return Func(F("created_at"), edges, function="WIDTH_BUCKET", output_field=IntegerField())
    return {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[unit](
        "created_at", tzinfo=timezone.get_current_timezone())


def _month_key(qs: QuerySet[Ticket], since: dt.date, until: dt.date) -> Any:
    return _bucket_of(qs, trend_starts(since, until, "month"), "month")


def trend_starts(since: dt.date, until: dt.date, unit: str) -> list[dt.date]:
    """The first day of each day, week (from Monday) or month ``unit`` of the period."""
    if unit == "week":
        start = since - dt.timedelta(days=since.weekday())
    else:
        start = since.replace(day=1) if unit == "month" else since
    starts = []
    while start <= until:
        starts.append(start)
        if unit == "day":
            start += dt.timedelta(days=1)
        elif unit == "week":
            start += dt.timedelta(days=7)
        else:
            start = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return starts


def _bucket_day(bucket: int | dt.date | dt.datetime, starts: list[dt.date]) -> dt.date:
    """A trend bucket as the local date it starts: PostgreSQL numbers them (WIDTH_BUCKET over ``starts``: 1 is
    the first), elsewhere the truncated creation time."""
    if isinstance(bucket, int):
        return starts[bucket - 1]
    if isinstance(bucket, dt.datetime):
        tz = timezone.get_current_timezone()
        return (timezone.localtime(bucket, tz) if timezone.is_aware(bucket) else bucket).date()
    return bucket


@contextmanager
def _hashed(db: str) -> Iterator[None]:
    """For the counts query only (PostgreSQL, inside ``_sort_memory``'s transaction): no sort. Its groups are
    expressions whose distinct values the planner cannot estimate (the child's id read from the path, the trend's
    bucket): it guessed a group per row and sorted half a million rows instead of hashing a few dozen groups.
    Not for the medians, which need their sort and, told to avoid one, read a whole index in a group's order."""
    with connections[db].cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL enable_sort = on")


@contextmanager
def _sort_memory(db: str) -> Iterator[None]:
    """On PostgreSQL, room to sort in memory for these queries only (SET LOCAL, one transaction): the medians of a
    district's year sort half a million values each, which the default 4 MB sends to disk."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(using=db):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
        yield


def _computed(actor: Actor, qs: QuerySet[Ticket], place: Place | None, group: str, bucket: Any, since: dt.date,
              until: dt.date, rollup: _Rollup | None = None
              ) -> tuple[dict[str, Any], list[KpiRow], list[dict[str, Any]] | None]:
    rows: list[KpiRow] = []
    if group == "total":
        total, trend = _total_only(qs, bucket, rollup)
    elif group == "place":
        total, rows, trend = _place_rows(actor, qs, place, bucket, rollup)
    elif group == "month":
        total, found, trend = _total_and_groups(qs, "month", _month_key(qs, since, until), bucket,
                                                by_buckets=False, rollup=rollup)
        months = sorted(_bucket_day(r["month"], trend_starts(since, until, "month")) for r in found)
        by_month = {_bucket_day(r["month"], trend_starts(since, until, "month")): r for r in found}
        rows = [_row(f"{m:%Y-%m}", f"{m:%Y-%m}", by_month[m]) for m in months]
    else:
        total, rows, trend = _grouped(qs, "kind" if group == "kind" else f"{group}_id", group, bucket, rollup)
    return total, rows, trend


# ---------------------------------------------------------------- counts of whole months from the rollup


@dataclass
class _Rollup:
    """Where the rollup serves a KPI request (``_rollup_for``): its whole months [first, end), the rollup rows of
    the actor's area and filters, the parent whose children are the place rows, the months of the period."""

    since: dt.date
    until: dt.date
    first: dt.date
    end: dt.date
    rows: QuerySet
    parent_path: str | None
    months: list[dt.date]


def _rollup_for(actor: Actor, f: KpiFilter, qs: QuerySet[Ticket], place: Place | None, group: str,
                trend: str | None, since: dt.date, until: dt.date) -> _Rollup | None:
    """The rollup's part of a request, or None where it cannot serve it: not PostgreSQL (or installed for another
    time zone), no whole month in the period, an assignee (grouped by or filtered on), a daily or weekly trend,
    or a place below a community limiting the figures (the actor's area, the place asked for) or whose children
    are the rows."""
    from . import kpi_rollup
    from .models import KpiMonth

    if group == "assignee" or f.assignee_id or trend not in (None, "month"):
        return None
    months = kpi_rollup.whole_months(since, until)
    paths = actor.paths_for(Perm.TICKET_KPI)
    if months is None or not all(kpi_rollup.within(p) for p in paths):
        return None
    if place is not None and not kpi_rollup.within(place.path):
        return None
    parent_path = None
    if group == "place":
        parent_path = place.path if place is not None else (GLOBAL_PATH if GLOBAL_PATH in paths else None)
        if parent_path is not None and (parent_path.count("/") - 1 >= kpi_rollup.AREA_SEGMENTS):
            return None  # the rows would be estates
    if not kpi_rollup.available(qs.db):
        return None
    # a row whose tickets all left it (withdrawn, moved) counts nothing and makes no group
    rows = KpiMonth.objects.using(qs.db).filter(month__gte=months[0], month__lt=months[1], tickets__gt=0)
    rows = rows.filter(actor.scope_q(Perm.TICKET_KPI, field_name="area_path"))  # the scope, on the community paths
    if place is not None:
        rows = rows.filter(area_path__startswith=place.path)
    for name in ("organisation_id", "category_id", "kind"):
        value = getattr(f, name)
        if value:
            rows = rows.filter(**{name: value})
    return _Rollup(since=since, until=until, first=months[0], end=months[1], rows=rows, parent_path=parent_path,
                   months=trend_starts(since, until, "month"))


def _rolled_up(rollup: _Rollup, qs: QuerySet[Ticket], key: str | None, expr: Any, bucket: Any
               ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]] | None]:
    """``_total_and_groups`` with the rollup: the counts of the whole months summed from its rows, those of the days
    before and after them counted from the tickets (hashed), the medians from all the period's tickets (a histogram
    of the durations per group, then the values of the middle buckets: ``band_medians``; ``percentile_cont`` for
    the total alone). Each trend bucket and month key is the month's number among the period's months, as
    ``WIDTH_BUCKET`` numbers the tickets'."""
    counts = _metrics(medians=False)
    cells: list[dict[str, Any]] = []
    # the rollup's rows, grouped as the tickets are
    number = {m: i for i, m in enumerate(rollup.months, start=1)}
    fields: list[str] = []
    values: dict[str, Any] = {}
    if key == "child":
        values["child"] = _path_part("area_path", rollup.parent_path)
    elif key == "month":
        fields.append("month")
    elif key is not None:
        fields.append(key)
    if bucket is not None and "month" not in fields:
        fields.append("month")
    sums = {c: Sum(c) for c in counts}
    found = (rollup.rows.values(*fields, **values).annotate(**sums).order_by() if fields or values
             else [rollup.rows.aggregate(**sums)])
    for row in found:
        if key == "month" or bucket is not None:
            at = number[row["month"]]
            if key == "month":
                row["month"] = at
            if bucket is not None:
                row[BUCKET] = at
        cells.append(row)
    # the days before and after the whole months, from the tickets: each a range of the creation-time index
    edges = []
    if rollup.since < rollup.first:
        edges.append(qs.filter(created_at__lt=_local_midnight(rollup.first)))
    if rollup.end <= rollup.until:
        edges.append(qs.filter(created_at__gte=_local_midnight(rollup.end)))
    ticket_fields, ticket_values = _group_by(key, expr, bucket)
    with _hashed(qs.db):
        for edge in edges:
            if ticket_fields or ticket_values:
                cells += list(edge.values(*ticket_fields, **ticket_values).annotate(**counts).order_by())
            else:
                cells.append(edge.aggregate(**counts))
    if key is None:
        medians = {TOTAL: qs.aggregate(**_metrics(counts=False))}
    else:
        medians = band_medians(qs, DURATIONS, _histograms(qs, key, expr), key, expr)
    return _folded(cells, key, bucket, medians)


def _histograms(qs: QuerySet[Ticket], key: str, expr: Any) -> dict[str, dict[Any, dict[int, int]]]:
    """Per group of ``key`` (or of ``expr`` named ``key``), the number of tickets in each bucket of each duration
    (``histograms[name][group] = {bucket: count}``), in one hashed pass over the tickets."""
    fields, values = _group_by(key, expr, None)
    for name, column in DURATIONS.items():
        values[f"linli_{name}"] = WidthBucket(column)
    histograms: dict[str, dict[Any, dict[int, int]]] = {name: {} for name in DURATIONS}
    with _hashed(qs.db):
        for row in qs.values(*fields, **values).annotate(linli_n=Count("pk")).order_by():
            for name in DURATIONS:
                found = row[f"linli_{name}"]
                if found is not None:
                    histogram = histograms[name].setdefault(row[key], {})
                    histogram[found] = histogram.get(found, 0) + row["linli_n"]
    return histograms


def kpi_xlsx(table: KpiTable) -> bytes:
    """The KPI table as a workbook: one sheet of rows and the total, one of the targets."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheet = wb.active
    sheet.title = "KPI"
    columns = ["label", *COUNTS, *RATES, "median_response_minutes", "median_resolution_hours"]
    sheet.append([f"统计期间 {table.since:%Y-%m-%d} 至 {table.until:%Y-%m-%d}"])
    sheet.append([COLUMNS_ZH[c] for c in columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in [*table.rows, table.total]:
        sheet.append([getattr(row, c) for c in columns])
    for col in range(len(COUNTS) + 2, len(COUNTS) + 2 + len(RATES)):
        for cells in sheet.iter_rows(min_row=3, min_col=col, max_col=col):
            cells[0].number_format = "0.00%"
    goals = wb.create_sheet("目标")
    goals.append(["指标", "目标"])
    for name, value in table.targets.items():
        goals.append([COLUMNS_ZH[name], value])
        goals.cell(row=goals.max_row, column=2).number_format = "0.00%"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
