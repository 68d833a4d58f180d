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
