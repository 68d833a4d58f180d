"""The rating's overall score kept on the ticket (``Ticket.rating_overall``): set by the rating, counted by the
KPIs instead of joining the ratings, filled for existing ratings by migration 0006; on both backends."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection
from django.db.models import Count, Q

from linli.core.errors import Conflict, ValidationFailed
from linli.tickets import actions, kpis
from linli.tickets.models import Rating, Ticket

from .conftest import T0, counts

H = dt.timedelta(hours=1)
APRIL = kpis.KpiFilter(since=dt.date(2026, 4, 1), until=dt.date(2026, 4, 30))
backfill_migration = importlib.import_module("linli.tickets.migrations.0006_ticket_rating_overall")


def closed(desk, code: str = "public-facilities", at: dt.datetime = T0) -> Ticket:
    a = desk.actor
    t = actions.accept_ticket(actor=a("staff_a"), ticket=desk.submit(code=code, now=at), now=at + H)
    t = actions.assign_ticket(actor=a("staff_a"), ticket=t, assignee_id=desk.user("property_a").pk, now=at + H)
    t = actions.start_ticket(actor=a("property_a"), ticket=t, now=at + 2 * H)
    t = actions.resolve_ticket(actor=a("property_a"), ticket=t, note="已修好", now=at + 3 * H)
    return actions.confirm_ticket(actor=a("resident_a"), ticket=t, now=at + 4 * H)


def rate(desk, ticket: Ticket, overall: int) -> Rating:
    return actions.rate_ticket(actor=desk.actor("resident_a"), ticket=ticket, overall=overall, speed=3, attitude=4)


def stored(ticket: Ticket) -> int | None:
    return Ticket.objects.values_list("rating_overall", flat=True).get(pk=ticket.pk)


@pytest.fixture
def rated(desk):
    """In April: closed tickets rated 5, 4, 4, 3, 1 over two categories, two closed unrated, one still open; one
    withdrawn (left out of the KPIs)."""
    scores = [("public-facilities", 5), ("public-facilities", 4), ("parking", 4), ("parking", 3),
              ("public-facilities", 1), ("parking", None), ("public-facilities", None)]
    for i, (code, score) in enumerate(scores):
        ticket = closed(desk, code, at=T0 + i * 24 * H)
        if score is not None:
            rate(desk, ticket, score)
    desk.submit(code="parking", now=T0)
    actions.withdraw_ticket(actor=desk.actor("resident_a"), ticket=desk.submit(now=T0), now=T0 + H)
    return desk


def test_given_a_closed_ticket_when_rated_then_its_row_keeps_the_overall_score(desk):
    ticket = closed(desk)
    assert stored(ticket) is None
    rate(desk, ticket, 2)
    assert stored(ticket) == 2 == Rating.objects.get(ticket=ticket).overall


def test_given_a_rated_ticket_when_rated_again_then_the_refusal_changes_nothing(desk):
    ticket = closed(desk)
    rate(desk, ticket, 5)
    before = counts()
    with pytest.raises(Conflict):
        rate(desk, Ticket.objects.get(pk=ticket.pk), 1)
    with pytest.raises(Conflict):
        rate(desk, ticket, 1)  # the stale object the first rating was given
    assert counts() == before
    assert stored(ticket) == 5 == Rating.objects.get(ticket=ticket).overall


def test_given_an_unrated_ticket_when_the_rating_is_invalid_then_nothing_is_kept(desk):
    ticket = closed(desk)
    with pytest.raises(ValidationFailed):
        rate(desk, ticket, 6)
    assert stored(ticket) is None and not Rating.objects.filter(ticket=ticket).exists()


def _from_ratings(key: str | None) -> dict:
    """rated / satisfied per ``key`` of the ticket (None: the total), counted from the Rating table itself."""
    ratings = Rating.objects.filter(ticket__created_at__date__range=(APRIL.since, APRIL.until)).exclude(
        ticket__status="withdrawn")
    figures = {"rated": Count("pk"), "satisfied": Count("pk", filter=Q(overall__gte=4))}
    if key is None:
        return ratings.aggregate(**figures)
    return {str(r.pop(f"ticket__{key}")): r for r in ratings.values(f"ticket__{key}").annotate(**figures)}


def test_given_rated_and_unrated_tickets_when_kpis_are_computed_then_counts_match_the_rating_table(rated):
    expected = _from_ratings(None)
    assert expected == {"rated": 5, "satisfied": 3}
    for group in ("total", "category", "month", "kind"):
        table = kpis.kpi_table(rated.actor("staff_a"), APRIL, group, trend="week")
        assert {"rated": table.total.rated, "satisfied": table.total.satisfied} == expected, group
        assert table.total.satisfaction_rate == 0.6
        assert sum(b["rated"] for b in table.trend.values()) == 5, group
        assert sum(b["satisfied"] for b in table.trend.values()) == 3, group
    by_category = kpis.kpi_table(rated.actor("staff_a"), APRIL, "category")
    found = {r.key: {"rated": r.rated, "satisfied": r.satisfied} for r in by_category.rows}
    assert found == _from_ratings("category_id")
    assert sorted(found.values(), key=lambda f: f["rated"]) == [{"rated": 2, "satisfied": 1},
                                                               {"rated": 3, "satisfied": 2}]
    street = kpis.KpiFilter(since=APRIL.since, until=APRIL.until, place_id=rated.world.street.pk)
    by_place = kpis.kpi_table(rated.actor("street_admin"), street, "place", trend="day")
    assert [(r.label, r.rated, r.satisfied) for r in by_place.rows if r.tickets] == [("梅园社区", 5, 3)]
    assert (by_place.total.rated, by_place.total.satisfied) == (5, 3)


@pytest.mark.parametrize("vendor", ["this", "other"])
def test_given_ratings_stored_without_the_column_when_the_backfill_runs_then_every_ticket_gets_its_score(
        rated, vendor):
    Ticket.objects.update(rating_overall=None)  # as the rows were before migration 0006
    wrong = Rating.objects.order_by("pk").first()
    Ticket.objects.filter(pk=wrong.ticket_id).update(rating_overall=1 if wrong.overall != 1 else 2)
    name = connection.vendor if vendor == "this" else "other"
    ids = sorted(Ticket.objects.values_list("pk", flat=True))
    middle = ids[len(ids) // 2]
    with connection.cursor() as cursor:  # in two ranges, as the migration goes through a large table
        cursor.execute(backfill_migration.statement(name, ids[0], middle))
        cursor.execute(backfill_migration.statement(name, middle, ids[-1] + 1))
    ratings = dict(Rating.objects.values_list("ticket_id", "overall"))
    assert len(ratings) == 5
    kept = dict(Ticket.objects.values_list("pk", "rating_overall"))
    assert {pk: v for pk, v in kept.items() if v is not None} == ratings
    assert sum(v is None for v in kept.values()) == len(kept) - 5 > 0
