"""Writes of the notify app: enqueue messages in the caller's transaction, deliver them by id (claim, send,
record, retry or dead-letter and fall back), re-drive what was left behind, re-queue a dead letter, mark inbox
items read, set preferences."""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.errors import Conflict, ErrorCollector, NotFound, ValidationFailed, invalid
from linli.core.permissions import Perm

from . import rendering
from .catalog import CATALOG, TemplateSpec
from .channels import CHANNELS, PermanentFailure, TemporaryFailure
from .channels.base import profile_of
from .choices import CLAIMABLE, AttemptOutcome, Channel, MessageStatus
from .models import DeliveryAttempt, InboxItem, Message, NotificationPreference
from .routing import Plan, plan_fallback, plan_for_user, preferences_by_user

log = logging.getLogger(__name__)

# The sweeper leaves a due message alone this long: its own scheduled task normally takes it first.
SWEEP_GRACE = dt.timedelta(seconds=60)
SWEEP_BATCH = 500
SCHEDULE_CHUNK = 100
USER_RELATED = ("linli_profile__resident",)

_rand: Callable[[], float] = random.random


# ---------------------------------------------------------------------------------------------------- enqueue

def _cause_of(cause: Any, cause_type: str, cause_id: Any, place_path: str) -> tuple[str, str, str]:
    if cause is not None:
        cause_type = cause_type or cause._meta.label_lower
        cause_id = cause_id or cause.pk
        place_path = place_path or getattr(cause, "place_path", "") or getattr(cause, "path", "")
    return cause_type[:60], str(cause_id or "")[:64], place_path


def _spec(template: str, context: Any) -> TemplateSpec:
    rendering.validate(template, context)
    return CATALOG[template]


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in Channel.values:
        raise invalid("channel", "invalid_choice", "发送渠道无效", f"unknown channel {channel!r}")


def _dedupe(key: str | None, who: str, channel: str) -> str | None:
    return f"{key}|{who}|{channel}"[:255] if key else None


def _new_message(*, plan: Plan, template: str, context: dict, language: str, recipient_id: int | None,
                 cause: tuple[str, str, str], dedupe_key: str | None, who: str,
                 fallback_of: Message | None = None) -> Message:
    cause_type, cause_id, place_path = cause
    return Message(
        recipient_id=recipient_id, address=plan.address, address_mask=CHANNELS[plan.channel].mask(plan.address),
        channel=plan.channel, template=template, context=context, language=rendering.normalize_language(language),
        status=MessageStatus.QUEUED, next_attempt_at=plan.not_before, cause_type=cause_type, cause_id=cause_id,
        place_path=place_path, dedupe_key=_dedupe(dedupe_key, who, plan.channel), fallback_of=fallback_of,
    )


def _insert(messages: list[Message]) -> list[Message]:
    """Insert the messages, skipping any whose dedupe key exists already (those rows are returned instead)."""
    keys = [m.dedupe_key for m in messages if m.dedupe_key]
    existing = {m.dedupe_key: m for m in Message.objects.filter(dedupe_key__in=keys)} if keys else {}
    fresh = [m for m in messages if m.dedupe_key not in existing]
    try:
        with transaction.atomic():
            created = Message.objects.bulk_create(fresh, batch_size=500)
    except IntegrityError:
        # A concurrent enqueue of the same cause won the race for some keys: insert one by one.
        created = []
        for message in fresh:
            try:
                with transaction.atomic():
                    message.save(force_insert=True)
                created.append(message)
            except IntegrityError:
                existing[message.dedupe_key] = Message.objects.get(dedupe_key=message.dedupe_key)
    _schedule_on_commit([m.pk for m in created])
    return [*created, *existing.values()]


def _language_of(user: Any, default: str | None) -> str:
    profile = profile_of(user)
    return default or getattr(profile, "language", "") or settings.LANGUAGE_CODE


def _users_with_addresses(users: Iterable[Any]) -> list[Any]:
    ids = sorted({u if isinstance(u, int) else u.pk for u in users})
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).select_related(*USER_RELATED).order_by("pk"))


def _enqueue_for_users(*, actor: Actor, users: Iterable[Any], template: str, context: dict, channel: str | None,
                       cause: tuple[str, str, str], dedupe_key: str | None, language: str | None,
                       now: dt.datetime) -> list[Message]:
    spec = _spec(template, context)
    _check_channel(channel)
    recipients = _users_with_addresses(users)
    prefs = preferences_by_user([u.pk for u in recipients], template)
    with transaction.atomic():
        planned = [
            _new_message(plan=plan, template=template, context=context, language=_language_of(user, language),
                         recipient_id=user.pk, cause=cause, dedupe_key=dedupe_key, who=f"u{user.pk}")
            for user in recipients
            for plan in plan_for_user(user, spec, prefs.get(user.pk, {}), channel, now)
        ]
        messages = _insert(planned)
        _audit_enqueue(actor, template, cause, messages, recipients=len(recipients))
    return messages


def _audit_enqueue(actor: Actor, template: str, cause: tuple[str, str, str], messages: list[Message],
                   recipients: int) -> None:
    cause_type, cause_id, place_path = cause
    audit.record(actor, "notify.enqueue", target_type=cause_type or "notify.message", target_id=cause_id,
                 target_label=template, place_path=place_path,
                 after={"template": template, "recipients": recipients, "messages": len(messages),
                        "channels": sorted({m.channel for m in messages})})


def enqueue_message(*, actor: Actor, template: str, context: dict, recipient: Any = None, address: str = "",
                    channel: str | None = None, cause: Any = None, cause_type: str = "", cause_id: Any = "",
                    place_path: str = "", dedupe_key: str | None = None, language: str | None = None,
                    now: dt.datetime | None = None) -> list[Message]:
    """Queue ``template`` for a user (on the channels their preferences choose, or ``channel``) or for a raw
    ``address`` on ``channel``. Joins the caller's transaction: a rolled-back cause leaves no message.

    ``cause`` is the row that caused it (its type, id and place path are copied), ``dedupe_key`` makes a repeat
    of the same cause return the rows already queued instead of sending again."""
    now = now or timezone.now()
    cause_t = _cause_of(cause, cause_type, cause_id, place_path)
    if recipient is not None:
        return _enqueue_for_users(actor=actor, users=[recipient], template=template, context=context,
                                  channel=channel, cause=cause_t, dedupe_key=dedupe_key, language=language, now=now)
    errors = ErrorCollector()
    if not address:
        errors.add("recipient", "required", "请指定接收人或地址", "give a recipient user or an address")
    if channel is None:
        errors.add("channel", "required", "发给地址的消息须指定渠道", "a message to an address needs a channel")
    errors.raise_if_any()
    _check_channel(channel)
    _spec(template, context)
    name = str(channel)
    clean = CHANNELS[name].check_address(address)
    plan = Plan(channel=name, address=clean, not_before=now)
    who = "a" + (lookup_hash("notify", clean) or "")[:16]
    with transaction.atomic():
        messages = _insert([_new_message(plan=plan, template=template, context=context,
                                         language=language or settings.LANGUAGE_CODE, recipient_id=None,
                                         cause=cause_t, dedupe_key=dedupe_key, who=who)])
        _audit_enqueue(actor, template, cause_t, messages, recipients=1)
    return messages


def notify_users(*, actor: Actor, users: Iterable[Any], template: str, context: dict, channel: str | None = None,
                 cause: Any = None, cause_type: str = "", cause_id: Any = "", place_path: str = "",
                 dedupe_key: str | None = None, now: dt.datetime | None = None) -> list[Message]:
    """The same message to many users (users or user ids) in one bulk insert, each on the channels their own
    preferences choose; a constant number of queries whatever the number of users."""
    now = now or timezone.now()
    return _enqueue_for_users(actor=actor, users=users, template=template, context=context, channel=channel,
                              cause=_cause_of(cause, cause_type, cause_id, place_path), dedupe_key=dedupe_key,
                              language=None, now=now)


def _schedule_on_commit(ids: Sequence[int]) -> None:
    if ids:
        ids = list(ids)
        # robust: a queue outage must not fail the committed cause; the sweeper re-drives the messages.
        transaction.on_commit(lambda: schedule_delivery(ids), robust=True)


def schedule_delivery(ids: Sequence[int], eta: dt.datetime | None = None) -> None:
    """Hand message ids to the workers (in chunks); at ``eta`` when given."""
    from .tasks import deliver_message, deliver_messages

    if eta is not None:
        for pk in ids:
            deliver_message.schedule(args=(pk,), eta=eta)
        return
    for start in range(0, len(ids), SCHEDULE_CHUNK):
        chunk = list(ids[start:start + SCHEDULE_CHUNK])
        if len(chunk) == 1:
            deliver_message(chunk[0])
        else:
            deliver_messages(chunk)


# --------------------------------------------------------------------------------------------------- delivery

def retry_delay(attempt: int) -> dt.timedelta:
    """Back-off after failed attempt number ``attempt`` (1-based): min(max, base * 2^(attempt-1)), plus up to
    ``jitter`` of it at random so that a burst of failures does not retry in lockstep."""
    base = settings.LINLI_NOTIFY_RETRY_BASE_SECONDS
    seconds = min(settings.LINLI_NOTIFY_RETRY_MAX_SECONDS, base * 2 ** (attempt - 1))
    return dt.timedelta(seconds=seconds * (1 + settings.LINLI_NOTIFY_RETRY_JITTER * _rand()))


def _due(now: dt.datetime) -> Q:
    """Messages a worker may claim now: queued or failed and due, or sending with an expired lease."""
    return (Q(status__in=CLAIMABLE, next_attempt_at__lte=now)
            | Q(status=MessageStatus.SENDING, lease_until__lt=now))


def _claim(message_id: int, now: dt.datetime) -> str | None:
    token = uuid.uuid4().hex
    lease = now + dt.timedelta(seconds=settings.LINLI_NOTIFY_LEASE_SECONDS)
    claimed = Message.objects.filter(_due(now), pk=message_id).update(
        status=MessageStatus.SENDING, lease_until=lease, lease_token=token, attempts=F("attempts") + 1,
        updated_at=now,
    )
    return token if claimed == 1 else None


def _render_once(message: Message, token: str) -> None:
    """Render in the recipient's language on the first attempt; retries send exactly the same text."""
    if message.body:
        return
    rendered = rendering.render(message.template, message.context, message.language)
    message.subject, message.body = rendered.subject, rendered.body
    Message.objects.filter(pk=message.pk, lease_token=token).update(subject=rendered.subject, body=rendered.body)


def _attempt(message: Message, token: str) -> tuple[str, str, str]:
    """(outcome, error, provider id) of one send."""
    try:
        _render_once(message, token)
        return AttemptOutcome.SENT, "", CHANNELS[message.channel].send(message)[:120]
    except TemporaryFailure as exc:
        return AttemptOutcome.TEMPORARY, str(exc)[:2000], ""
    except (PermanentFailure, ValidationFailed) as exc:
        return AttemptOutcome.PERMANENT, str(exc)[:2000], ""
    except Exception as exc:  # noqa: BLE001 - a channel bug must not lose the message: retry, then dead letter
        log.exception("notify: message %s failed on %s", message.pk, message.channel)
        return AttemptOutcome.TEMPORARY, f"{type(exc).__name__}: {exc}"[:2000], ""


def send_message(*, message_id: int, now: dt.datetime | None = None) -> Message | None:
    """Deliver one message by id, idempotently: claim it by compare-and-set (due queued/failed, or a sending one
    whose lease expired), send it, record the attempt, then mark it sent, schedule its retry, or dead-letter it
    and queue the fallback. Returns the message, or None when there was nothing to claim (sent, not due yet, or
    another worker holds it)."""
    started = now or timezone.now()
    token = _claim(message_id, started)
    if token is None:
        return None
    message = Message.objects.select_related(*(f"recipient__{r}" for r in USER_RELATED)).get(pk=message_id)
    outcome, error, provider_id = _attempt(message, token)
    # A caller that fixes the time (tests, replays) gets that time throughout.
    finished = now or timezone.now()
    return _finish(message, token, outcome, error, provider_id, started, finished)


def _finish(message: Message, token: str, outcome: str, error: str, provider_id: str, started: dt.datetime,
            finished: dt.datetime) -> Message:
    retry_at: dt.datetime | None = None
    with transaction.atomic():
        number = (DeliveryAttempt.objects.filter(message=message).aggregate(n=Max("number"))["n"] or 0) + 1
        DeliveryAttempt.objects.create(message=message, number=number, channel=message.channel, started_at=started,
                                       finished_at=finished, outcome=outcome, error=error, provider_id=provider_id)
        mine = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING, lease_token=token)
        common = {"lease_until": None, "lease_token": "", "updated_at": finished}
        if outcome == AttemptOutcome.SENT:
            changed = mine.update(status=MessageStatus.SENT, sent_at=finished, provider_id=provider_id,
                                  last_error="", next_attempt_at=None, **common)
        elif outcome == AttemptOutcome.TEMPORARY and message.attempts < settings.LINLI_NOTIFY_MAX_ATTEMPTS:
            retry_at = started + retry_delay(message.attempts)
            changed = mine.update(status=MessageStatus.FAILED, next_attempt_at=retry_at, last_error=error, **common)
        else:
            changed = mine.update(status=MessageStatus.DEAD, next_attempt_at=None, last_error=error, **common)
            if changed:
                _queue_fallback(message, finished)
        if not changed:
            # The lease expired and another worker took the message over: its outcome stands, not ours.
            log.warning("notify: message %s lost its lease during the send", message.pk)
            retry_at = None
    if retry_at is not None:
        ids = [message.pk]
        transaction.on_commit(lambda: schedule_delivery(ids, eta=retry_at), robust=True)
    message.refresh_from_db()
    return message


def _channels_used(message: Message) -> set[str]:
    used = {message.channel}
    parent_id = message.fallback_of_id
    while parent_id is not None:
        parent = Message.objects.filter(pk=parent_id).values("channel", "fallback_of_id").first()
        if parent is None:
            break
        used.add(parent["channel"])
        parent_id = parent["fallback_of_id"]
    return used


def _queue_fallback(message: Message, now: dt.datetime) -> Message | None:
    """After a dead letter, the same message on the next channel of the fallback chain the recipient can get."""
    spec = CATALOG.get(message.template)
    if spec is None or message.recipient is None:
        return None
    prefs = preferences_by_user([message.recipient_id], message.template).get(message.recipient_id, {})
    plan = plan_fallback(message.recipient, spec, prefs, _channels_used(message), message.channel, now)
    if plan is None:
        return None
    base_key = message.dedupe_key.rsplit("|", 1)[0] if message.dedupe_key else None
    created = _insert([_new_message(
        plan=plan, template=message.template, context=message.context, language=message.language,
        recipient_id=message.recipient_id, cause=(message.cause_type, message.cause_id, message.place_path),
        dedupe_key=base_key and f"{base_key}>fallback", who=f"m{message.pk}", fallback_of=message,
    )])
    return created[0]


def redrive_messages(*, now: dt.datetime | None = None) -> list[int]:
    """The sweeper: hand to the workers every message left behind — due for longer than a grace period (its
    task was lost in a restart) or stuck in sending past its lease (its worker died). Returns their ids."""
    now = now or timezone.now()
    cutoff = now - SWEEP_GRACE
    ids = list(Message.objects.filter(_due(cutoff)).order_by("next_attempt_at", "pk")
               .values_list("pk", flat=True)[:SWEEP_BATCH])
    if ids:
        schedule_delivery(ids)
    return ids


# ----------------------------------------------------------------------------------------- operator and user

def retry_message(*, actor: Actor, message: Message, now: dt.datetime | None = None) -> Message:
    """Re-queue a dead (or waiting) message now, with a fresh count of attempts. Audited."""
    actor.require(Perm.NOTIFY_MANAGE, message.place_path or "/")
    now = now or timezone.now()
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, status__in=[MessageStatus.DEAD, MessageStatus.FAILED]).update(
            status=MessageStatus.QUEUED, attempts=0, next_attempt_at=now, lease_until=None, lease_token="",
            updated_at=now,
        )
        if changed != 1:
            raise Conflict("只有发送失败或待重试的消息可以重新发送", "only a dead or waiting message can be retried",
                           code="not_retryable")
        audit.record(actor, "notify.retry", target=message, target_label=f"{message.template} {message.channel}",
                     before={"status": message.status, "attempts": message.attempts},
                     after={"status": MessageStatus.QUEUED, "attempts": 0})
        _schedule_on_commit([message.pk])
    message.refresh_from_db()
    return message


def mark_read(*, actor: Actor, item: InboxItem, now: dt.datetime | None = None) -> InboxItem:
    """Mark one of the actor's own inbox items read; marking it again changes nothing."""
    if actor.user is None or item.user_id != actor.user.pk:
        raise NotFound("inbox item")
    now = now or timezone.now()
    with transaction.atomic():
        if InboxItem.objects.filter(pk=item.pk, read_at__isnull=True).update(read_at=now) == 1:
            audit.record(actor, "notify.read", target_type="notify.inboxitem", target_id=item.pk,
                         target_label=item.subject[:200], place_path=item.place_path, after={"read_at": now})
    item.refresh_from_db()
    return item


def _clean_preferences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = ErrorCollector()
    seen: set[tuple[str, str]] = set()
    clean = []
    for i, row in enumerate(rows):
        template, channel = row.get("template") or "", row.get("channel")
        start, end = row.get("quiet_start"), row.get("quiet_end")
        if template and template not in CATALOG:
            errors.add(f"preferences[{i}].template", "unknown", "消息模板不存在", f"unknown template {template!r}")
        if channel not in Channel.values:
            errors.add(f"preferences[{i}].channel", "invalid_choice", "发送渠道无效", f"unknown channel {channel!r}")
        if (start is None) != (end is None):
            errors.add(f"preferences[{i}].quiet_end" if end is None else f"preferences[{i}].quiet_start",
                       "required", "免打扰时段需同时填写开始和结束时间", "quiet hours need both a start and an end")
        elif start is not None and start == end:
            errors.add(f"preferences[{i}].quiet_end", "empty_window", "免打扰开始和结束时间不能相同",
                       "quiet hours cannot start and end at the same time")
        if (template, channel) in seen:
            errors.add(f"preferences[{i}].channel", "duplicate", "同一模板和渠道只能设置一次",
                       "one row per template and channel")
        seen.add((template, channel))
        clean.append({"template": template, "channel": channel, "enabled": bool(row.get("enabled", True)),
                      "quiet_start": start, "quiet_end": end})
    errors.raise_if_any()
    return clean


def set_preferences(*, actor: Actor, rows: list[dict[str, Any]]) -> list[NotificationPreference]:
    """Replace the actor's own preferences with ``rows`` (template "" = every template). Audited."""
    if actor.user is None:
        raise NotFound("user")
    clean = _clean_preferences(rows)
    with transaction.atomic():
        current = NotificationPreference.objects.filter(user=actor.user)
        before = [_pref_dict(p) for p in current]
        current.delete()
        created = NotificationPreference.objects.bulk_create(
            [NotificationPreference(user=actor.user, **row) for row in clean])
        audit.record(actor, "notify.preferences", target_type="auth.user", target_id=actor.user.pk,
                     target_label=actor.label, before={"rows": before},
                     after={"rows": [_pref_dict(p) for p in created]})
    return list(NotificationPreference.objects.filter(user=actor.user))


def _pref_dict(p: NotificationPreference) -> dict[str, Any]:
    return {"template": p.template, "channel": p.channel, "enabled": p.enabled,
            "quiet_start": p.quiet_start.isoformat() if p.quiet_start else None,
            "quiet_end": p.quiet_end.isoformat() if p.quiet_end else None}

