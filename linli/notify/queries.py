"""Scoped reads of the notify app: one's own inbox and preferences; the outbox of an area for operators."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.permissions import Perm

from .models import InboxItem, Message, NotificationPreference


def own_inbox(actor: Actor) -> QuerySet[InboxItem]:
    if actor.user is None:
        return InboxItem.objects.none()
    return InboxItem.objects.filter(user=actor.user).order_by("-created_at", "-id")


def unread_count(actor: Actor) -> int:
    return own_inbox(actor).filter(read_at__isnull=True).count()


def access_inbox_item(actor: Actor, pk: int | str) -> InboxItem:
    """Inbox items are personal: anybody else's is 404."""
    try:
        return own_inbox(actor).get(pk=int(pk))
    except (InboxItem.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("inbox item") from exc


def own_preferences(actor: Actor) -> QuerySet[NotificationPreference]:
    if actor.user is None:
        return NotificationPreference.objects.none()
    return NotificationPreference.objects.filter(user=actor.user).order_by("template", "channel")


@dataclass
class MessageFilter:
    status: str | None = None
    channel: str | None = None
    template: str | None = None
    cause_type: str | None = None
    cause_id: str | None = None


def visible_messages(actor: Actor) -> QuerySet[Message]:
    """Outbox rows about places inside the actor's NOTIFY_MANAGE subtrees (rows without a place: global roles)."""
    return Message.objects.filter(actor.scope_q(Perm.NOTIFY_MANAGE))


def search_messages(actor: Actor, f: MessageFilter) -> QuerySet[Message]:
    qs = visible_messages(actor)
    for field in ("status", "channel", "template", "cause_type", "cause_id"):
        value = getattr(f, field)
        if value:
            qs = qs.filter(**{field: value})
    return qs.order_by("-created_at", "-id")


def access_message(actor: Actor, pk: int | str) -> Message:
    try:
        return visible_messages(actor).get(pk=int(pk))
    except (Message.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("message") from exc
