"""Enqueueing: rows written in the caller's transaction, validated templates, preferences, quiet hours, dedupe."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from linli.core.actor import Actor
from linli.core.errors import ValidationFailed
from linli.core.models import AuditEntry
from linli.core.testing import make_user
from linli.notify.actions import enqueue_message, notify_users, set_preferences
from linli.notify.models import InboxItem, Message

from .conftest import T0, sms_log_lines

SYSTEM = Actor.system("test")
TICKET = {"number": "GD-0042", "title": "厨房水管漏水", "status": "处理中"}


def _enqueue_ticket(world, **kw):
    kw.setdefault("template", "ticket.status_changed")
    kw.setdefault("context", TICKET)
    kw.setdefault("now", T0)
    return enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], cause_type="tickets.ticket",
                           cause_id=42, place_path=world.dwelling_a.path, **kw)


def test_given_a_resident_when_a_ticket_changes_then_one_queued_row_per_default_channel(world):
    messages = _enqueue_ticket(world, dedupe_key="ticket:42:status:2")

    rows = list(Message.objects.order_by("channel").values(
        "channel", "status", "attempts", "next_attempt_at", "address_mask", "cause_type", "cause_id", "place_path",
        "template", "language", "recipient_id"))
    user_id = world.users["resident_a"].pk
    common = {"status": "queued", "attempts": 0, "next_attempt_at": T0, "cause_type": "tickets.ticket",
              "cause_id": "42", "place_path": world.dwelling_a.path, "template": "ticket.status_changed",
              "language": "zh-hans", "recipient_id": user_id}
    assert rows == [{"channel": "inapp", "address_mask": "", **common},
                    {"channel": "sms", "address_mask": "138****8000", **common}]
    assert sorted(m.channel for m in messages) == ["inapp", "sms"]
    sms = Message.objects.get(channel="sms")
    assert sms.address == "13800138000"
    assert sms.dedupe_key == f"ticket:42:status:2|u{user_id}|sms"
    with connection.cursor() as cur:
        cur.execute("SELECT address FROM notify_message WHERE id = %s", [sms.pk])
        stored = cur.fetchone()[0]
    assert "13800138000" not in stored  # encrypted at rest
    entry = AuditEntry.objects.get(action="notify.enqueue")
    assert (entry.target_type, entry.target_id, entry.after) == (
        "tickets.ticket", "42", {"template": "ticket.status_changed", "recipients": 1, "messages": 2,
                                 "channels": ["inapp", "sms"]})


def test_given_a_cause_that_rolls_back_then_no_message_and_no_delivery(world, django_capture_on_commit_callbacks):
    audits = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _enqueue_ticket(world)
            assert Message.objects.count() == 2
            raise RuntimeError("the ticket change failed")
    assert Message.objects.count() == 0
    assert AuditEntry.objects.count() == audits
    assert callbacks == []


def test_when_the_cause_commits_then_the_messages_are_delivered(world, django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _enqueue_ticket(world, now=None)
    assert len(callbacks) == 1
    assert dict(Message.objects.values_list("channel", "status")) == {"inapp": "sent", "sms": "sent"}
    item = InboxItem.objects.get()
    assert (item.user_id, item.subject) == (world.users["resident_a"].pk, "工单 GD-0042 状态更新：处理中")
    assert [line["phone"] for line in sms_log_lines(settings)] == ["138****8000"]


def test_given_a_context_missing_a_value_then_refused_naming_it_and_nothing_written(world):
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        _enqueue_ticket(world, context={"number": "GD-0042", "title": "漏水"})
    assert [(e.field, e.code) for e in exc.value.errors] == [("context.status", "required")]
    assert Message.objects.count() == 0
    assert AuditEntry.objects.count() == audits


def test_given_an_optional_value_missing_then_the_message_is_accepted(world):
    # ``note`` sits inside {% if %}: optional by design, so it is not required.
    assert len(_enqueue_ticket(world, context=TICKET)) == 2


@pytest.mark.parametrize(("kwargs", "field", "code"), [
    ({"template": "no.such"}, "template", "unknown"),
    ({"context": ["not", "a", "dict"]}, "context", "not_object"),
    ({"context": {**TICKET, "at": dt.date(2026, 4, 23)}}, "context", "not_json"),
    ({"channel": "fax"}, "channel", "invalid_choice"),
])
def test_given_bad_input_then_refused_with_the_field_and_nothing_written(world, kwargs, field, code):
    with pytest.raises(ValidationFailed) as exc:
        _enqueue_ticket(world, **kwargs)
    assert [(e.field, e.code) for e in exc.value.errors] == [(field, code)]
    assert Message.objects.count() == 0


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({}, [("recipient", "required"), ("channel", "required")]),
    ({"address": "13800138000"}, [("channel", "required")]),
    ({"address": "12345", "channel": "sms"}, [("address", "format")]),
    ({"address": "not-an-email", "channel": "email"}, [("address", "not_email")]),
    ({"address": "ftp://robot", "channel": "wecom"}, [("address", "not_webhook")]),
    ({"address": "13800138000", "channel": "inapp"}, [("address", "recipient_required")]),
])
def test_given_a_raw_address_then_it_needs_a_channel_and_a_valid_address(db, kwargs, errors):
    with pytest.raises(ValidationFailed) as exc:
        enqueue_message(actor=SYSTEM, template="notify.test", context={"name": "王"}, **kwargs)
    assert [(e.field, e.code) for e in exc.value.errors] == errors
    assert Message.objects.count() == 0


def test_given_a_raw_phone_then_it_is_normalized_and_masked(db):
    [message] = enqueue_message(actor=SYSTEM, template="notify.test", context={"name": "王"},
                                address="+86 139-0013-9000", channel="sms", language="en")
    message.refresh_from_db()
    assert (message.address, message.address_mask, message.recipient_id, message.language) == (
        "13900139000", "139****9000", None, "en")


def test_given_the_same_dedupe_key_twice_then_the_first_rows_are_returned_and_nothing_is_added(world):
    first = _enqueue_ticket(world, dedupe_key="ticket:42:status:2")
    again = _enqueue_ticket(world, dedupe_key="ticket:42:status:2")
    assert sorted(m.pk for m in again) == sorted(m.pk for m in first)
    assert Message.objects.count() == 2
    assert len(_enqueue_ticket(world, dedupe_key="ticket:42:status:3")) == 2
    assert Message.objects.count() == 4


def test_given_a_user_without_phone_then_no_sms_row(world):
    messages = enqueue_message(actor=SYSTEM, recipient=world.users["staff_a"], template="ticket.assigned",
                               context={"number": "GD-1", "title": "漏水", "place": "1栋"}, now=T0)
    assert [m.channel for m in messages] == ["inapp"]


def test_given_sms_muted_for_the_template_then_only_inapp(world):
    actor = world.actor("resident_a")
    set_preferences(actor=actor, rows=[{"template": "ticket.status_changed", "channel": "sms", "enabled": False}])
    assert [m.channel for m in _enqueue_ticket(world)] == ["inapp"]
    # The mute is for that template only: another template still texts.
    others = enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="notify.test",
                             context={"name": "王"}, channel="sms", now=T0)
    assert [m.channel for m in others] == ["sms"]


def test_given_a_mute_for_every_template_then_an_explicit_channel_is_muted_too(world):
    set_preferences(actor=world.actor("resident_a"), rows=[{"template": "", "channel": "sms", "enabled": False}])
    assert _enqueue_ticket(world, channel="sms") == []
    assert Message.objects.count() == 0


def test_given_an_opt_in_to_email_then_email_joins_the_default_channels(world):
    user = world.users["resident_a"]
    user.email = "wang@example.cn"
    user.save()
    set_preferences(actor=world.actor("resident_a"), rows=[{"template": "", "channel": "email", "enabled": True}])
    messages = _enqueue_ticket(world)
    assert sorted((m.channel, m.address_mask) for m in messages) == [
        ("email", "w***@example.cn"), ("inapp", ""), ("sms", "138****8000")]


def test_given_quiet_hours_then_sms_waits_until_they_end_and_inapp_does_not(world):
    set_preferences(actor=world.actor("resident_a"), rows=[
        {"template": "", "channel": "sms", "enabled": True, "quiet_start": dt.time(22), "quiet_end": dt.time(7)}])
    late = T0.replace(hour=23, minute=30)
    messages = {m.channel: m for m in _enqueue_ticket(world, now=late)}
    assert messages["sms"].next_attempt_at == T0.replace(hour=7, minute=0) + dt.timedelta(days=1)
    assert messages["inapp"].next_attempt_at == late
    early = T0.replace(hour=6, minute=15)
    sms = [m for m in _enqueue_ticket(world, now=early, dedupe_key="x") if m.channel == "sms"][0]
    assert sms.next_attempt_at == T0.replace(hour=7, minute=0)
    daytime = [m for m in _enqueue_ticket(world, now=T0, dedupe_key="y") if m.channel == "sms"][0]
    assert daytime.next_attempt_at == T0


def test_given_quiet_hours_then_an_urgent_alert_still_goes_at_once(world):
    set_preferences(actor=world.actor("resident_a"), rows=[
        {"template": "", "channel": "sms", "enabled": True, "quiet_start": dt.time(22), "quiet_end": dt.time(7)}])
    late = T0.replace(hour=3)
    messages = enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="alert.opened",
                               context={"kind": "跌倒", "place": "1栋101", "level": "紧急", "time": "03:00"}, now=late)
    assert {m.channel: m.next_attempt_at for m in messages} == {"inapp": late, "sms": late}


def _users(n: int, prefix: str):
    return [make_user(f"{prefix}{i}") for i in range(n)]


def test_notify_users_inserts_in_bulk_with_queries_independent_of_the_count(db, django_assert_num_queries):
    few, many = _users(3, "few"), _users(30, "many")
    context = {"title": "停水通知", "summary": "4月25日9:00-12:00停水", "publisher": "梅园社区"}
    with django_assert_num_queries(9) as few_queries:
        notify_users(actor=SYSTEM, users=few, template="notice.published", context=context, dedupe_key="notice:1")
    with django_assert_num_queries(len(few_queries.captured_queries)):
        notify_users(actor=SYSTEM, users=many, template="notice.published", context=context, dedupe_key="notice:2")
    assert Message.objects.filter(channel="inapp").count() == 33
    assert set(Message.objects.values_list("recipient_id", flat=True)) == {u.pk for u in few + many}


def test_notify_users_skips_inactive_users_and_accepts_ids(db):
    active, gone = _users(2, "u")
    get_user_model().objects.filter(pk=gone.pk).update(is_active=False)
    messages = notify_users(actor=SYSTEM, users=[active.pk, gone.pk], template="notify.test", context={"name": "x"})
    assert [m.recipient_id for m in messages] == [active.pk]
