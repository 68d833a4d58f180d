"""The KPI rollup (PostgreSQL): its triggers keep the counts per month, community, category, organisation and kind
equal to a count of the tickets whatever writes them (actions, bulk updates, deletes, a place moved), and the KPIs
read from it are the KPIs counted from the tickets, for every grouping, filter and period."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from linli.core.actor import Actor
from linli.tickets import actions, kpi_rollup, kpis
from linli.tickets.models import KpiMonth, KpiRollup, Ticket

from .conftest import T0

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup and its triggers are PostgreSQL's"),
]
STATUSES = ["submitted", "accepted", "rejected", "withdrawn", "in_progress", "paused", "resolved", "closed",
            "reopened"]
FLAGS = {
    "rejected": lambda t: t.status == "rejected",
    "resolved": lambda t: t.resolved_at is not None,
    "closed": lambda t: t.status == "closed",
    "on_time": lambda t: t.resolved_at is not None and not t.response_overdue and not t.resolution_overdue,
    "rated": lambda t: t.rating_overall is not None,
    "satisfied": lambda t: (t.rating_overall or 0) >= 4,
    "reopened": lambda t: t.reopen_count > 0,
    "complaints": lambda t: t.kind == "complaint" and t.status != "rejected",
    "complaints_closed": lambda t: t.kind == "complaint" and t.status == "closed",
}


def _area(path: str) -> str:
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[:3]) + "/" if len(parts) > 3 else path


def _recounted() -> dict[tuple, dict[str, int]]:
    """The rollup's rows as a plain count of the tickets in Python (withdrawn tickets count nothing)."""
    out: dict[tuple, Counter] = {}
    for t in Ticket.objects.exclude(status="withdrawn"):
        month = timezone.localtime(t.created_at).date().replace(day=1)
        row = out.setdefault((month, _area(t.place_path), t.category_id, t.organisation_id, t.kind), Counter())
        row["tickets"] += 1
        for name, flag in FLAGS.items():
            row[name] += flag(t)
    return {k: {c: v[c] for c in kpi_rollup.COUNT_COLUMNS} for k, v in out.items()}


def _kept() -> dict[tuple, dict[str, int]]:
    return {(r.month, r.area_path, r.category_id, r.organisation_id, r.kind):
            {c: getattr(r, c) for c in kpi_rollup.COUNT_COLUMNS} for r in KpiMonth.objects.filter(tickets__gt=0)}


@pytest.fixture
def pool(desk):
    """About 300 tickets from February to June 2026 in both communities, at dwellings, an estate and a community,
    in every status, with random flags, ratings, reopenings, kinds and categories."""
    w = desk.world
    first = desk.submit(now=T0)
    template = {f.attname: getattr(first, f.attname) for f in Ticket._meta.concrete_fields if f.attname != "id"}
    places = [w.dwelling_a, w.dwelling_a2, w.dwelling_b, w.estate_a, w.community_b]
    categories = [desk.category(c).pk for c in ("parking", "noise", "sanitation")]
    organisations = sorted({template["organisation_id"], desk.committee_b.pk})
    rng = random.Random(7)
    rows = []
    for i in range(300):
        place = rng.choice(places)
        resolved = rng.random() < 0.6
        rows.append(Ticket(**{
            **template, "place_id": place.pk, "place_path": place.path, "kind": rng.choice(["repair", "complaint"]),
            "category_id": rng.choice(categories), "organisation_id": rng.choice(organisations),
            "status": rng.choice(STATUSES), "created_at": T0 - dt.timedelta(days=rng.randint(-50, 80), minutes=i),
            "resolved_at": T0 if resolved else None, "response_overdue": rng.random() < 0.3,
            "resolution_overdue": rng.random() < 0.2, "rating_overall": rng.choice([None, None, 2, 4, 5]),
            "reopen_count": rng.choice([0, 0, 0, 1]), "response_seconds": rng.randint(0, 9000),
            "resolution_seconds": rng.randint(600, 900000) if resolved else None}))
    created = [row.created_at for row in rows]
    rows = Ticket.objects.bulk_create(rows)  # created now (auto_now_add): moved to their days in one UPDATE
    for row, at in zip(rows, created, strict=True):
        row.created_at = at
    Ticket.objects.bulk_update(rows, ["created_at"])
    return desk


def test_given_tickets_written_every_way_when_the_rollup_is_read_then_it_is_the_count_of_the_tickets(pool):
    assert _kept() == _recounted()
    assert len({month for month, *_rest in _kept()}) >= 5  # February to June
    a = pool.actor
    # actions, one ticket at a time
    t = pool.submit(code="noise", kind="complaint", now=T0)
    t = actions.accept_ticket(actor=a("staff_a"), ticket=t, now=T0)
    actions.reject_ticket(actor=a("staff_a"), ticket=pool.submit(now=T0), reason="重复", now=T0)
    actions.withdraw_ticket(actor=a("resident_a"), ticket=pool.submit(now=T0), now=T0)
    assert _kept() == _recounted()
    # bulk updates as the deadline sweeps make them, and a rating kept on the ticket
    Ticket.objects.filter(status="accepted").update(response_overdue=True)
    Ticket.objects.filter(resolved_at__isnull=False, rating_overall__isnull=True).update(rating_overall=5)
    Ticket.objects.filter(status="paused").update(status="withdrawn")
    assert _kept() == _recounted()
    # a move to another month, a place moved under another community, deletes
    Ticket.objects.filter(kind="complaint", status="closed").update(created_at=T0 - dt.timedelta(days=120))
    Ticket.objects.filter(place_path=pool.world.estate_a.path).update(place_path=pool.world.community_b.path + "77/")
    Ticket.objects.filter(status="reopened").delete()
    assert _kept() == _recounted()
    assert KpiMonth.objects.filter(tickets__lt=0).count() == 0


PERIODS = [(dt.date(2026, 3, 15), dt.date(2026, 6, 10)), (dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
           (dt.date(2026, 2, 1), dt.date(2026, 7, 31)), (dt.date(2026, 4, 2), dt.date(2026, 4, 29))]


@pytest.mark.parametrize("who", ["staff_a", "street_admin", "district_admin", "system"])
@pytest.mark.parametrize("group", ["total", "place", "organisation", "category", "month", "kind"])
def test_given_the_rollup_when_kpis_are_computed_then_they_equal_the_kpis_counted_from_the_tickets(
        pool, who, group, monkeypatch):
    read = []
    rolled_up = kpis._rolled_up
    monkeypatch.setattr(kpis, "_rolled_up", lambda *a, **k: read.append(a) or rolled_up(*a, **k))
    actor = Actor.system("kpi-test") if who == "system" else pool.actor(who)  # the whole tree
    seen = 0
    for since, until in PERIODS:
        for extra in ({}, {"kind": "complaint"}, {"category_id": pool.category("noise").pk},
                      {"place_id": pool.world.street.pk} if who != "staff_a" else {"place_id": pool.world.community_a.pk}):
            f = kpis.KpiFilter(since=since, until=until, **extra)
            for trend in (None, "month"):
                fast = kpis.kpi_table(actor, f, group, trend=trend)
                slow = kpis.kpi_table(actor, f, group, trend=trend, use_rollup=False)
                assert fast == slow, (since, until, extra, trend)
                seen += fast.total.tickets
    assert read and seen > 1000  # the whole months were read from the rollup, and they held tickets


def test_given_a_period_of_whole_months_when_read_then_the_rollup_is_used_and_elsewhere_not(pool):
    actor = pool.actor("street_admin")
    whole = kpis.KpiFilter(since=dt.date(2026, 3, 1), until=dt.date(2026, 5, 31))
    assert kpis._rollup_for(actor, whole, Ticket.objects.none(), None, "category", None, whole.since, whole.until)
    short = kpis.KpiFilter(since=dt.date(2026, 3, 2), until=dt.date(2026, 3, 30))
    assert kpis._rollup_for(actor, short, Ticket.objects.none(), None, "category", None, short.since,
                            short.until) is None
    assert kpis._rollup_for(actor, whole, Ticket.objects.none(), None, "assignee", None, whole.since,
                            whole.until) is None
    assert kpis._rollup_for(pool.actor("property_a"), whole, Ticket.objects.none(), None, "total", None,
                            whole.since, whole.until) is None  # an estate's staff: below a community
    with override_settings(TIME_ZONE="UTC"):  # installed for another zone: not read
        assert kpis._rollup_for(actor, whole, Ticket.objects.none(), None, "category", None, whole.since,
                                whole.until) is None


def test_given_a_damaged_rollup_when_rebuilt_by_the_command_then_it_counts_the_tickets_again(pool):
    KpiMonth.objects.all().update(tickets=0, closed=7)
    assert _kept() != _recounted()
    call_command("kpi_rollup", "--rebuild")
    assert _kept() == _recounted()
    assert KpiRollup.objects.get().zone == "Asia/Shanghai"
    with override_settings(TIME_ZONE="UTC"):
        call_command("kpi_rollup", "--rebuild")
        assert KpiRollup.objects.get().zone == "UTC"
        assert _kept() == _recounted()  # months local to UTC now
        assert kpi_rollup.available("default")
    assert not kpi_rollup.available("default")
