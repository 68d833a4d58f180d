"""The KPI medians are exact whichever way they are computed: on PostgreSQL from a histogram of duration buckets
and the values of the buckets holding the middle (``median.band_medians``), elsewhere by ``Median``. Compared with
a plain computation (``statistics.median``) and, on PostgreSQL, with ``percentile_cont(0.5)``, on random data."""

from __future__ import annotations

import datetime as dt
import random
import statistics

import pytest
from django.db import connection

from linli.tickets import kpis
from linli.tickets.median import EDGES, INT_MAX, Median, bucket_of, median_targets
from linli.tickets.models import Ticket

from .conftest import T0

pytestmark = pytest.mark.django_db


def test_given_values_when_bucketed_then_buckets_follow_the_edges_as_width_bucket_does():
    assert [bucket_of(v) for v in (0, 1, 2, EDGES[5] - 1, EDGES[5], INT_MAX)] == [0, 1, 2, 5, 6, len(EDGES)]
    assert all(a < b for a, b in zip(EDGES, EDGES[1:], strict=False))


@pytest.mark.parametrize(("histogram", "expected"), [
    ({}, []),
    ({4: 1}, [(4, 0), (4, 0)]),
    ({1: 2, 7: 2}, [(1, 1), (7, 0)]),  # even: the two middle values straddle two buckets
    ({1: 1, 2: 3, 9: 1}, [(2, 1), (2, 1)]),
    ({0: 3, 5: 3}, [(0, 2), (5, 0)]),
])
def test_given_a_histogram_when_its_middle_is_found_then_bucket_and_rank_are_those_of_the_middle_values(
        histogram, expected):
    assert median_targets(histogram) == expected


def _value(rng: random.Random) -> int | None:
    pick = rng.random()
    if pick < 0.1:
        return None
    if pick < 0.2:
        return rng.randint(0, 3)
    if pick < 0.35:  # on an edge or just below it
        edge = rng.choice(EDGES)
        return edge - rng.randint(0, 1)
    if pick < 0.38:
        return rng.randint(2_000_000_000, INT_MAX)
    return int(600 * rng.lognormvariate(0, 1.2))


@pytest.fixture
def random_pool(desk):
    """A few hundred tickets copied from one, with random durations (NULLs, 0, bucket edges, duplicates, huge),
    categories, assignees (or none) and creation days in April 2026; per seed, some groups are tiny or empty."""
    first = desk.submit(now=T0)
    template = {f.attname: getattr(first, f.attname) for f in Ticket._meta.concrete_fields if f.attname != "id"}
    categories = [desk.category(c).pk for c in ("parking", "noise", "sanitation", "greenery")]
    assignees = [None, desk.user("property_a").pk, desk.user("property_a2").pk]
    pools = {}
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        rows = []
        for i in range(rng.randint(150, 400)):
            category = categories[0] if i == 0 else rng.choice(categories[:3])  # "greenery": never a ticket
            rows.append(Ticket(**{**template, "category_id": category, "assignee_id": rng.choice(assignees),
                                  "created_at": T0 - dt.timedelta(days=rng.randint(0, 20), minutes=i),
                                  "response_seconds": _value(rng), "resolution_seconds": _value(rng)}))
        if seed == 2:  # one value only in a group, and a group without any
            rows.append(Ticket(**{**template, "category_id": categories[3], "response_seconds": 7,
                                  "resolution_seconds": None, "created_at": T0}))
        created = [row.created_at for row in rows]
        stored = Ticket.objects.bulk_create(rows)  # created now (auto_now_add): moved to their April days
        for row, at in zip(stored, created, strict=True):
            row.created_at = at
        Ticket.objects.bulk_update(stored, ["created_at"])
        pools[seed] = [t.pk for t in stored]
    return pools


def _plain(values: list[int | None]) -> float | None:
    found = [v for v in values if v is not None]
    return float(statistics.median(found)) if found else None


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("key", ["category_id", "assignee_id"])
@pytest.mark.parametrize("by_buckets", [True, False])
def test_given_random_durations_when_kpis_take_medians_then_each_group_and_total_is_the_exact_median(
        random_pool, seed, key, by_buckets):
    qs = Ticket.objects.filter(pk__in=random_pool[seed])
    starts = kpis.trend_starts(dt.date(2026, 4, 1), dt.date(2026, 4, 30), "week")
    total, groups, trend = kpis._total_and_groups(qs, key, bucket=kpis._bucket_of(qs, starts, "week"),
                                                  by_buckets=by_buckets)

    rows = list(qs.values(key, "response_seconds", "resolution_seconds"))
    for name, field in kpis.DURATIONS.items():
        assert total[name] == _plain([r[field] for r in rows])
        for group in groups:
            assert group[name] == _plain([r[field] for r in rows if r[key] == group[key]]), (name, group[key])
    assert {g[key] for g in groups} == {r[key] for r in rows}
    assert sum(g["tickets"] for g in groups) == sum(b["tickets"] for b in trend) == total["tickets"] == len(rows)
    assert len(trend) >= 3  # April's weeks
    if connection.vendor == "postgresql":  # the same figures as percentile_cont(0.5)
        reference = {r[key]: r for r in qs.values(key).annotate(
            r=Median("response_seconds"), s=Median("resolution_seconds")).order_by()}
        for group in groups:
            assert (group["median_response"], group["median_resolution"]) == (
                reference[group[key]]["r"], reference[group[key]]["s"])
        whole = qs.aggregate(r=Median("response_seconds"), s=Median("resolution_seconds"))
        assert (total["median_response"], total["median_resolution"]) == (whole["r"], whole["s"])


def test_given_no_durations_at_all_when_medians_are_taken_then_they_are_none(random_pool):
    qs = Ticket.objects.filter(pk__in=random_pool[1]).filter(response_seconds__isnull=True,
                                                             resolution_seconds__isnull=True)
    total, groups, _trend = kpis._total_and_groups(qs, "category_id")
    assert total["tickets"] == qs.count() > 0
    assert (total["median_response"], total["median_resolution"]) == (None, None)
    assert all(g["median_response"] is None and g["median_resolution"] is None for g in groups)
