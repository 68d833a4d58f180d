"""Paging the staff ticket pool: next links by cursor (the same rows as offsets, in the same order, ties in the
creation time included), the bounded count flagged, a word search's two ways of finding a page (the newest
window, or the words' index) giving the same rows, and each row's place as residents say it."""

import datetime as dt
import json

import pytest

from linli.tickets import queries
from linli.tickets.models import Ticket

from .conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven(desk):
    """Seven tickets of community A; three share one creation time (the cursor must break the tie by id)."""
    tickets = [desk.submit(description=f"第{n}张", now=T0 + dt.timedelta(minutes=n)) for n in range(4)]
    tickets += [desk.submit(description=f"同时{n}", now=T0 + dt.timedelta(minutes=10)) for n in range(3)]
    return desk, tickets


def walk(client, url: str) -> tuple[list[int], list[dict]]:
    """Follow next_cursor from the first page to the last; the ids in order and every page's body."""
    ids, bodies, cursor = [], [], None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.content
        body = response.json()
        bodies.append(body)
        ids += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, bodies


def test_given_a_pool_when_staff_follow_the_next_cursor_then_they_see_every_ticket_once_newest_first(seven, as_user):
    desk, tickets = seven
    client = as_user("staff_a")
    everything = client.get("/api/v1/tickets?limit=50").json()

    ids, bodies = walk(client, "/api/v1/tickets?limit=2")

    newest_first = [t.pk for t in sorted(tickets, key=lambda t: (t.created_at, t.pk), reverse=True)]
    assert ids == newest_first == [row["id"] for row in everything["items"]]
    assert [len(b["items"]) for b in bodies] == [2, 2, 2, 1]
    assert all(b["count"] == 7 and b["count_capped"] is False for b in bodies)  # the whole search's count
    offsets = [row["id"] for o in range(0, 7, 2)
               for row in client.get(f"/api/v1/tickets?limit=2&offset={o}").json()["items"]]
    assert offsets == ids


def test_given_an_exactly_full_last_page_when_listed_then_there_is_no_next_cursor(seven, as_user):
    _desk, _tickets = seven
    body = as_user("staff_a").get("/api/v1/tickets?limit=7").json()
    assert len(body["items"]) == 7 and body["next_cursor"] is None


def test_given_a_filter_and_a_word_search_when_paged_by_cursor_then_only_matches_come(seven, as_user):
    desk, tickets = seven
    ids, _bodies = walk(as_user("staff_a"), "/api/v1/tickets?limit=1&q=同时")
    assert ids == [t.pk for t in reversed(tickets[4:])]


@pytest.mark.parametrize("cursor", ["abc", "12.", "1.2.3", "-.5", "1" * 25 + ".1", "9" * 19 + ".1"])
def test_given_a_malformed_cursor_when_listed_then_422_names_the_cursor_in_both_languages(seven, as_user, cursor):
    response = as_user("staff_a").get(f"/api/v1/tickets?cursor={cursor}")
    assert response.status_code == 422
    text = json.dumps(response.json(), ensure_ascii=False)
    assert "cursor" in text and "翻页游标无效" in text and "cursor is not valid" in text


def test_given_more_tickets_than_the_bound_then_the_api_flags_the_count_and_the_page_says_more(seven, as_user,
                                                                                              client, monkeypatch):
    desk, _tickets = seven
    monkeypatch.setattr(queries, "COUNT_EXACT_UP_TO", 5)
    body = as_user("staff_a").get("/api/v1/tickets?limit=2").json()
    assert (body["count"], body["count_capped"]) == (6, True)

    client.force_login(desk.user("staff_a"))
    page = client.get("/tickets/").content.decode()
    assert "超过 5 张工单" in page and "共 6 张工单" not in page
    monkeypatch.setattr(queries, "COUNT_EXACT_UP_TO", 7)
    page = client.get("/tickets/").content.decode()
    assert "共 7 张工单" in page and "超过" not in page


def test_given_a_word_search_when_counted_then_its_cap_is_the_words_one(seven, as_user, monkeypatch):
    monkeypatch.setattr(queries, "WORDS_COUNT_EXACT_UP_TO", 2)
    client = as_user("staff_a")
    body = client.get("/api/v1/tickets?q=同时&limit=1").json()
    assert (body["count"], body["count_capped"]) == (3, True)
    body = client.get("/api/v1/tickets?limit=1").json()  # no words: the pool's own cap
    assert (body["count"], body["count_capped"]) == (7, False)


def test_given_a_dwelling_ticket_when_listed_then_the_row_names_the_place_from_the_estate_down(seven, as_user):
    desk, tickets = seven
    w = desk.world
    row = as_user("staff_a").get(f"/api/v1/tickets?q={tickets[0].pk}").json()["items"][0]
    dwelling = w.dwelling_a
    expected = " ".join([dwelling.parent.parent.parent.name, dwelling.parent.parent.name, dwelling.parent.name,
                         dwelling.name])
    assert row["place_label"] == expected and row["place_name"] == dwelling.name


@pytest.mark.parametrize(("offset", "limit"), [(0, 3), (2, 3), (4, 3), (0, 12), (9, 5)])
def test_given_a_common_or_rare_word_when_a_page_is_found_then_it_is_the_same_as_the_plain_search(
        desk, monkeypatch, offset, limit):
    """Window of the newest 10: five of them hold the word, so a page needing up to five matches comes from the
    window, a deeper one from the words' index; both are the plain search's slice."""
    for n in range(30):
        desk.submit(description="水管漏水" if n % 2 else "路灯不亮", now=T0 + dt.timedelta(minutes=n))
    monkeypatch.setattr(queries, "WORD_WINDOW", 10)
    pool = queries.search_tickets(desk.actor("staff_a"), queries.TicketFilter(q="漏水"))
    plain = list(Ticket.objects.filter(description__contains="漏水").order_by("-created_at", "-id")
                 .values_list("pk", flat=True))

    assert queries.page_keys(pool, offset, limit) == plain[offset:offset + limit]
    assert len(plain) == 15
