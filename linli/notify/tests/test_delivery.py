"""Delivery: claim by compare-and-set, send, record; retries with back-off, dead letters, fallback, the sweeper."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from linli.core.actor import Actor
from linli.core.errors import Conflict, PermissionDenied
from linli.core.models import AuditEntry
from linli.notify import actions
from linli.notify.actions import enqueue_message, redrive_messages, retry_message, send_message
from linli.notify.models import DeliveryAttempt, InboxItem, Message

from .conftest import T0, sms_log_lines

SYSTEM = Actor.system("test")
S = dt.timedelta(seconds=1)


def _sms(world, **kw) -> Message:
    kw.setdefault("context", {"name": "王秀英"})
    [message] = enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="notify.test",
                                channel="sms", place_path=world.dwelling_a.path, now=T0, **kw)
    return message


def _break_sms_log(settings, tmp_path) -> None:
    """The log provider cannot write into a directory: a real temporary failure (an OSError)."""
    settings.LINLI_SMS_LOG_FILE = str(tmp_path)


def test_given_a_queued_sms_when_delivered_then_sent_once_with_the_attempt_recorded(world, settings):
    message = _sms(world)
    sent = send_message(message_id=message.pk, now=T0)

    assert (sent.status, sent.attempts, sent.sent_at, sent.provider_id, sent.last_error) == (
        "sent", 1, T0, f"log:{message.pk}:1", "")
    assert (sent.subject, sent.body) == ("测试消息", "王秀英，您好！这是一条来自邻里平台的测试消息。")
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.number, attempt.channel, attempt.outcome, attempt.started_at, attempt.provider_id) == (
        1, "sms", "sent", T0, f"log:{message.pk}:1")
    assert [line["text"] for line in sms_log_lines(settings)] == ["【邻里】王秀英，您好！这是一条来自邻里平台的测试消息。"]


def test_given_a_message_when_delivered_twice_then_it_is_sent_once(world, settings):
    message = _sms(world)
    assert send_message(message_id=message.pk, now=T0) is not None
    assert send_message(message_id=message.pk, now=T0 + S) is None
    assert len(sms_log_lines(settings)) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_given_an_english_speaking_recipient_then_the_message_is_rendered_in_english(world):
    profile = world.users["resident_a"].linli_profile
    profile.language = "en"
    profile.save()
    [message] = enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="ticket.status_changed",
                                channel="inapp", now=T0,
                                context={"number": "GD-7", "title": "Leaking pipe", "status": "resolved",
                                         "note": "valve replaced"})
    send_message(message_id=message.pk, now=T0)
    item = InboxItem.objects.get()
    assert (item.subject, item.body) == (
        "Ticket GD-7 is now resolved", 'Your ticket "Leaking pipe" (GD-7) is now: resolved.\nNote: valve replaced')


def test_given_temporary_failures_then_retries_back_off_exponentially_until_dead(world, settings, tmp_path):
    _break_sms_log(settings, tmp_path)
    message = _sms(world)
    now = T0
    for attempt, delay in enumerate([30, 60, 120, 240], start=1):
        assert send_message(message_id=message.pk, now=now - S) is None  # not due before its time
        failed = send_message(message_id=message.pk, now=now)
        assert (failed.status, failed.attempts) == ("failed", attempt)
        assert failed.next_attempt_at == now + dt.timedelta(seconds=delay)
        assert "cannot write the SMS log" in failed.last_error
        now = failed.next_attempt_at
    dead = send_message(message_id=message.pk, now=now)
    assert (dead.status, dead.attempts, dead.next_attempt_at) == ("dead", 5, None)
    assert list(DeliveryAttempt.objects.values_list("number", "outcome")) == [
        (n, "temporary") for n in range(1, 6)]


def test_back_off_is_capped_and_jittered(settings, monkeypatch):
    settings.LINLI_NOTIFY_RETRY_MAX_SECONDS = 100
    assert actions.retry_delay(3) == dt.timedelta(seconds=100)  # 30 * 4 = 120, capped at 100
    settings.LINLI_NOTIFY_RETRY_JITTER = 0.2
    monkeypatch.setattr(actions, "_rand", lambda: 0.5)
    assert actions.retry_delay(1) == dt.timedelta(seconds=33)  # 30 * (1 + 0.2 * 0.5)
    assert actions.retry_delay(4) == dt.timedelta(seconds=110)  # the cap, plus its jitter


def test_given_a_dead_sms_then_the_fallback_inapp_message_is_queued_and_delivered(world, settings, tmp_path):
    settings.LINLI_NOTIFY_MAX_ATTEMPTS = 1
    _break_sms_log(settings, tmp_path)
    message = _sms(world, cause_type="tickets.ticket", cause_id=7, dedupe_key="t7")
    dead = send_message(message_id=message.pk, now=T0)
    assert dead.status == "dead"
    fallback = Message.objects.get(fallback_of=dead)
    assert (fallback.channel, fallback.status, fallback.next_attempt_at, fallback.recipient_id, fallback.cause_type,
            fallback.cause_id, fallback.place_path, fallback.dedupe_key) == (
        "inapp", "queued", T0, dead.recipient_id, "tickets.ticket", "7", world.dwelling_a.path,
        f"t7|u{dead.recipient_id}>fallback|m{dead.pk}|inapp")
    assert send_message(message_id=fallback.pk, now=T0).status == "sent"
    assert InboxItem.objects.get().body == "王秀英，您好！这是一条来自邻里平台的测试消息。"


def test_given_a_permanent_failure_then_dead_at_once_and_fallback_queued(world, settings, monkeypatch):
    # No template code configured: refused before the SDK is imported (an import would fail here).
    monkeypatch.setitem(sys.modules, "alibabacloud_dysmsapi20170525", None)
    settings.LINLI_SMS_PROVIDER = "aliyun"
    message = _sms(world)
    dead = send_message(message_id=message.pk, now=T0)
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert "no SMS template code configured for 'notify.test'" in dead.last_error
    assert list(Message.objects.filter(fallback_of=dead).values_list("channel", flat=True)) == ["inapp"]


def test_given_the_fallback_muted_or_already_used_then_no_fallback(world, settings):
    actions.set_preferences(actor=world.actor("resident_a"),
                            rows=[{"template": "", "channel": "inapp", "enabled": False}])
    settings.LINLI_SMS_PROVIDER = "nonexistent"
    dead = send_message(message_id=_sms(world).pk, now=T0)
    assert dead.status == "dead"
    assert not Message.objects.filter(fallback_of=dead).exists()


def test_a_fallback_chain_never_returns_to_a_channel_it_used(world, settings, webhook):
    settings.LINLI_WECOM_WEBHOOK_URL = webhook.url("/refuse")
    settings.LINLI_SMS_PROVIDER = "nonexistent"
    [wecom] = enqueue_message(actor=SYSTEM, recipient=world.users["resident_a"], template="notify.test",
                              context={"name": "王"}, channel="wecom", now=T0)
    assert send_message(message_id=wecom.pk, now=T0).status == "dead"
    sms = Message.objects.get(fallback_of=wecom)
    assert sms.channel == "sms"
    assert send_message(message_id=sms.pk, now=T0).status == "dead"
    inapp = Message.objects.get(fallback_of=sms)
    assert inapp.channel == "inapp"
    settings.LINLI_NOTIFY_FALLBACK = "sms:inapp,wecom:sms,email:inapp,inapp:wecom"
    InboxItem.objects.all().delete()
    Message.objects.filter(pk=inapp.pk).update(recipient=None)  # an in-app message nobody can receive
    assert send_message(message_id=inapp.pk, now=T0).status == "dead"
    assert Message.objects.count() == 3  # inapp -> wecom was already used: the chain ends


def test_the_sweeper_redrives_a_stale_sending_lease_and_leaves_a_live_one(world, settings):
    message = _sms(world)
    # A worker claimed it and died before sending: the row stays "sending" with its lease.
    assert actions._claim(message.pk, T0) is not None
    assert redrive_messages(now=T0 + dt.timedelta(seconds=100)) == []  # lease (120 s) still held
    assert sms_log_lines(settings) == []
    later = T0 + dt.timedelta(seconds=120 + 61)
    assert redrive_messages(now=later) == [message.pk]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(sms_log_lines(settings)) == 1
    assert redrive_messages(now=later + dt.timedelta(hours=1)) == []


def test_the_sweeper_redrives_due_messages_left_behind_after_a_grace_period(world, settings, tmp_path):
    message = _sms(world)
    assert redrive_messages(now=T0 + dt.timedelta(seconds=30)) == []  # its own task still has time
    assert redrive_messages(now=T0 + dt.timedelta(seconds=61)) == [message.pk]
    message.refresh_from_db()
    assert message.status == "sent"


def test_the_sweeper_does_not_send_a_waiting_retry_early(world, settings, tmp_path):
    _break_sms_log(settings, tmp_path)
    failed = send_message(message_id=_sms(world).pk, now=T0)
    settings.LINLI_SMS_LOG_FILE = str(tmp_path / "sms.log")
    assert redrive_messages(now=failed.next_attempt_at) == []
    assert redrive_messages(now=failed.next_attempt_at + dt.timedelta(seconds=60)) == [failed.pk]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 2)


def test_given_a_dead_message_when_an_operator_retries_then_requeued_with_fresh_attempts_and_audited(world, settings, tmp_path):
    settings.LINLI_NOTIFY_MAX_ATTEMPTS = 1
    _break_sms_log(settings, tmp_path)
    dead = send_message(message_id=_sms(world).pk, now=T0)
    settings.LINLI_SMS_LOG_FILE = str(tmp_path / "sms.log")
    later = T0 + dt.timedelta(hours=1)
    queued = retry_message(actor=world.actor("staff_a"), message=dead, now=later)
    assert (queued.status, queued.attempts, queued.next_attempt_at) == ("queued", 0, later)
    entry = AuditEntry.objects.get(action="notify.retry")
    assert (entry.target_id, entry.before, entry.after, entry.place_path) == (
        str(dead.pk), {"status": "dead", "attempts": 1}, {"status": "queued", "attempts": 0}, world.dwelling_a.path)
    assert send_message(message_id=dead.pk, now=later).status == "sent"
    assert list(DeliveryAttempt.objects.values_list("number", "outcome")) == [(1, "temporary"), (2, "sent")]


def test_a_sent_message_cannot_be_retried_and_nothing_changes(world):
    sent = send_message(message_id=_sms(world).pk, now=T0)
    audits = AuditEntry.objects.count()
    with pytest.raises(Conflict):
        retry_message(actor=world.actor("staff_a"), message=sent, now=T0)
    sent.refresh_from_db()
    assert sent.status == "sent"
    assert AuditEntry.objects.count() == audits


def test_a_resident_cannot_retry(world, settings):
    settings.LINLI_SMS_PROVIDER = "nonexistent"
    dead = send_message(message_id=_sms(world).pk, now=T0)
    with pytest.raises(PermissionDenied):
        retry_message(actor=world.actor("resident_a"), message=dead)
    dead.refresh_from_db()
    assert dead.status == "dead"


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_holder(world, monkeypatch):
    message = _sms(world)
    sms = actions.CHANNELS["sms"]
    original = sms.send
    taken_over: list[str | None] = []

    def slow_send(m):
        # While this worker is still sending, its lease expires and another worker claims the message.
        taken_over.append(actions._claim(m.pk, T0 + dt.timedelta(seconds=121)))
        return original(m)

    monkeypatch.setattr(sms, "send", slow_send)
    result = send_message(message_id=message.pk, now=T0)
    assert taken_over[0] is not None
    assert (result.status, result.lease_token, result.attempts) == ("sending", taken_over[0], 2)
    assert list(DeliveryAttempt.objects.values_list("number", "outcome")) == [(1, "sent")]


def test_many_recipients_are_delivered_in_chunks_when_the_cause_commits(db, django_capture_on_commit_callbacks):
    from linli.core.testing import make_user
    from linli.notify.actions import notify_users

    users = [make_user(f"chunk{i}") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        notify_users(actor=SYSTEM, users=users, template="notify.test", context={"name": "x"})
    assert list(Message.objects.values_list("status", flat=True)) == ["sent"] * 3
    assert InboxItem.objects.count() == 3
