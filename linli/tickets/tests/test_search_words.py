"""Word search in the ticket pool finds exactly the tickets whose title or description holds the words (on
PostgreSQL narrowed first by the character-pair index of migration 0003, then checked with LIKE)."""

import pytest

from linli.tickets import queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(desk):
    tickets = {
        "leak": desk.submit(title="厨房水管漏水", description="楼上漏水到我家"),
        "power": desk.submit(title="停电", description="整栋楼停电了，电梯也停了"),
        "lift": desk.submit(title="电梯故障", description="3栋2单元电梯困人"),
        "latin": desk.submit(title="WiFi 信号差", description="Router broken"),
    }
    return desk, tickets


def found(desk, tickets, q: str) -> set[str]:
    pks = set(queries.search_tickets(desk.actor("staff_a"), queries.TicketFilter(q=q)).values_list("pk", flat=True))
    return {name for name, t in tickets.items() if t.pk in pks}


@pytest.mark.parametrize(("q", "expected"), [
    ("漏水", {"leak"}),  # two characters: the usual Chinese word
    ("电", {"power", "lift"}),  # one character
    ("电梯", {"power", "lift"}),  # in a title, and in a description
    ("电梯困人", {"lift"}),
    ("梯故", {"lift"}),
    ("水管漏水", {"leak"}),
    ("漏水楼上", set()),  # every pair is in the ticket (title end, description start), the words are not
    ("Router", {"latin"}),
    ("Route", {"latin"}),
    ("信号差", {"latin"}),
    ("煤气", set()),
])
def test_given_tickets_when_staff_search_words_then_exactly_those_holding_them_are_found(pool, q, expected):
    desk, tickets = pool
    assert found(desk, tickets, q) == expected


def test_given_a_search_when_counted_then_the_count_is_the_rows_found(pool):
    desk, _tickets = pool
    qs = queries.search_tickets(desk.actor("staff_a"), queries.TicketFilter(q="电梯"))
    assert qs.count() == len(list(qs)) == 2


def test_given_the_same_words_in_two_communities_when_searched_within_a_scope_or_a_place_then_only_its_tickets(desk):
    """The words' index is asked for the scope's subtree too (PostgreSQL): a community's staff, a street admin over
    both communities, and the street admin narrowed to one community each find exactly the tickets of their area."""
    w = desk.world
    a = desk.submit(title="楼道灯不亮", description="三楼楼道灯坏了")
    at_estate = desk.submit(by="staff_a", place=w.estate_a, title="楼道灯不亮", description="东门楼道", channel="walk_in")
    b = desk.submit(by="staff_b", place=w.dwelling_b, title="楼道灯不亮", description="五楼", channel="phone")
    desk.submit(title="电梯故障", description="困人")

    def found(actor: str, q: str, place=None) -> set[int]:
        f = queries.TicketFilter(q=q, place_id=place.pk if place else None)
        pool = queries.search_tickets(desk.actor(actor), f)
        assert pool.count() == len(set(pool.values_list("pk", flat=True)))
        return set(pool.values_list("pk", flat=True))

    assert found("staff_a", "楼道灯") == {a.pk, at_estate.pk}
    assert found("staff_b", "楼道灯") == {b.pk}
    assert found("street_admin", "楼道灯") == {a.pk, at_estate.pk, b.pk}
    assert found("street_admin", "楼道灯", w.community_b) == {b.pk}
    assert found("street_admin", "楼道", w.estate_a) == {a.pk, at_estate.pk}  # the dwelling lies in the estate
    assert found("staff_a", "灯", w.dwelling_a) == {a.pk}
