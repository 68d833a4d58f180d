"""Ratings (once, by the reporter, after closing), reopening within and after the window, return visits."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.tickets import actions
from linli.tickets.models import Rating, ReturnVisit

from .conftest import T0, counts

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def closed(desk, code: str = "public-facilities"):
    a = desk.actor
    t = actions.accept_ticket(actor=a("staff_a"), ticket=desk.submit(code=code, now=T0), now=T0 + H)
    t = actions.assign_ticket(actor=a("staff_a"), ticket=t, assignee_id=desk.user("property_a").pk, now=T0 + H)
    t = actions.start_ticket(actor=a("property_a"), ticket=t, now=T0 + 2 * H)
    t = actions.resolve_ticket(actor=a("property_a"), ticket=t, note="已修好", now=T0 + 3 * H)
    return actions.confirm_ticket(actor=a("resident_a"), ticket=t, now=T0 + 4 * H)


def test_given_a_closed_ticket_when_the_reporter_rates_twice_then_the_second_is_a_409_naming_the_rating(desk):
    ticket = closed(desk)
    rating = actions.rate_ticket(actor=desk.actor("resident_a"), ticket=ticket, overall=5, speed=4, attitude=5,
                                 comment="师傅很专业")
    assert (rating.overall, rating.speed, rating.attitude, rating.comment) == (5, 4, 5, "师傅很专业")
    before = counts()
    with pytest.raises(Conflict) as exc:
        actions.rate_ticket(actor=desk.actor("resident_a"), ticket=ticket, overall=1, speed=1, attitude=1)
    assert exc.value.code == "already_rated" and exc.value.errors[0].field == "rating"
    assert counts() == before
    assert Rating.objects.get(ticket=ticket).overall == 5


def test_given_bad_scores_when_rated_then_each_field_is_named_and_nothing_is_written(desk):
    ticket = closed(desk)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        actions.rate_ticket(actor=desk.actor("resident_a"), ticket=ticket, overall=0, speed=6, attitude=3)
    assert [(e.field, e.code) for e in exc.value.errors] == [("overall", "out_of_range"), ("speed", "out_of_range")]
    assert counts() == before


def test_given_an_open_ticket_or_another_person_when_rating_then_it_is_refused(desk):
    ticket = desk.submit()
    with pytest.raises(Conflict):
        actions.rate_ticket(actor=desk.actor("resident_a"), ticket=ticket, overall=5, speed=5, attitude=5)
    with pytest.raises(PermissionDenied):
        actions.rate_ticket(actor=desk.actor("staff_a"), ticket=closed(desk), overall=5, speed=5, attitude=5)


def test_given_a_closed_ticket_when_reopened_within_the_window_then_it_reopens_with_a_fresh_resolution_clock(desk):
    ticket = closed(desk)  # public facilities: 72 h, reopen within 7 days
    done = actions.reopen_ticket(actor=desk.actor("resident_a"), ticket=ticket, reason="灯又不亮了",
                                 now=T0 + 4 * H + 7 * D)
    assert (done.status, done.reopen_count, done.closed_at) == ("reopened", 1, None)
    assert done.resolve_by == T0 + 4 * H + 7 * D + 72 * H
    again = actions.start_ticket(actor=desk.actor("property_a"), ticket=done, now=T0 + 8 * D)
    assert again.status == "in_progress"


def test_given_a_closed_ticket_when_reopened_after_the_window_then_it_is_a_409_and_nothing_is_written(desk):
    ticket = closed(desk)
    before = counts()
    with pytest.raises(Conflict) as exc:
        actions.reopen_ticket(actor=desk.actor("resident_a"), ticket=ticket, reason="迟到的反馈",
                              now=T0 + 4 * H + 7 * D + dt.timedelta(seconds=1))
    assert exc.value.code == "reopen_window_passed"
    assert counts() == before


def test_given_a_category_with_return_visits_when_a_ticket_closes_then_one_visit_is_due_and_completed_once(desk, settings):
    settings.LINLI_TICKET_RETURN_VISIT_DAYS = 3
    ticket = closed(desk)
    visit = ReturnVisit.objects.get(ticket=ticket)
    assert (visit.status, visit.round, visit.organisation_id, visit.due_at) == (
        "pending", 0, desk.committee_a.pk, T0 + 4 * H + 3 * D)
    done = actions.complete_return_visit(actor=desk.actor("staff_a"), visit=visit, outcome="satisfied",
                                         note="居民表示满意")
    assert (done.status, done.outcome, done.completed_by_id) == ("done", "satisfied", desk.user("staff_a").pk)
    assert ticket.events.filter(kind="return_visit").count() == 1
    with pytest.raises(Conflict):
        actions.complete_return_visit(actor=desk.actor("staff_a"), visit=visit, outcome="unsatisfied")


def test_given_a_category_without_return_visits_when_a_ticket_closes_then_none_is_created(desk):
    ticket = closed(desk, code="parking")
    assert ticket.return_visits.count() == 0


def test_given_the_reporter_and_strangers_when_they_comment_then_only_parties_write_to_the_history(desk):
    ticket = desk.submit()
    row = actions.comment_ticket(actor=desk.actor("resident_a"), ticket=ticket, note="下午在家")
    assert (row.kind, row.note, row.actor_id) == ("comment", "下午在家", desk.user("resident_a").pk)
    with pytest.raises(PermissionDenied):
        actions.comment_ticket(actor=desk.actor("staff_b"), ticket=ticket, note="x")


def test_given_chinese_text_with_lines_when_filed_resolved_and_rated_then_it_is_kept_as_written(desk):
    text = "厨房水管漏水，已经三天了。\n楼下（302）也渗水：请尽快！"
    ticket = desk.submit(description=text)
    assert ticket.description == text and ticket.title == "厨房水管漏水，已经三天了。 楼下（302）也渗水：请尽快！"
    t = closed(desk)
    rating = actions.rate_ticket(actor=desk.actor("resident_a"), ticket=t, overall=5, speed=5, attitude=5,
                                 comment="师傅很耐心，谢谢！")
    assert rating.comment == "师傅很耐心，谢谢！"
