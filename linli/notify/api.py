"""/api/v1/notifications/: my inbox and preferences; the outbox of my area (dead letters) and re-queueing."""

from __future__ import annotations

from ninja import Query, Router, Schema

from linli.api import Paging, actor_of, paginate
from linli.core.permissions import Perm

from . import actions, queries
from .catalog import CATALOG
from .choices import Channel
from .schemas import (
    InboxItemOut,
    InboxPage,
    MessageDetail,
    MessageOut,
    MessagePage,
    PreferencesIn,
    PreferencesOut,
)

router = Router(tags=["notifications"])


class InboxQuery(Schema):
    unread: bool | None = None


@router.get("/notifications/inbox", response=InboxPage, summary="My in-app messages, newest first, and the unread count")
def inbox(request, filters: Query[InboxQuery], paging: Query[Paging]):
    actor = actor_of(request)
    qs = queries.own_inbox(actor)
    if filters.unread is not None:
        qs = qs.filter(read_at__isnull=filters.unread)
    return {**paginate(qs, paging), "unread": queries.unread_count(actor)}


@router.post("/notifications/inbox/{item_id}/read", response=InboxItemOut, summary="Mark one of my messages read")
def read_item(request, item_id: int):
    actor = actor_of(request)
    return actions.mark_read(actor=actor, item=queries.access_inbox_item(actor, item_id))


class MessageQuery(Schema):
    status: str | None = None
    channel: str | None = None
    template: str | None = None
    cause_type: str | None = None
    cause_id: str | None = None


@router.get("/notifications/messages", response=MessagePage, summary="The outbox of my area (filter status=dead for dead letters)")
def list_messages(request, filters: Query[MessageQuery], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.NOTIFY_MANAGE)
    qs = queries.search_messages(actor, queries.MessageFilter(**filters.dict()))
    return paginate(qs, paging)


def _detail(actor, message) -> dict:
    data = MessageOut.from_orm(message).dict()
    data["attempts_log"] = list(message.delivery_attempts.all())
    # The text names residents: only roles that may see residents there read it.
    if actor.can(Perm.RESIDENT_VIEW, message.place_path or "/"):
        data.update(subject=message.subject, body=message.body, context=message.context)
    return data


@router.get("/notifications/messages/{message_id}", response=MessageDetail, summary="One outbox row with its delivery attempts")
def get_message(request, message_id: int):
    actor = actor_of(request)
    return _detail(actor, queries.access_message(actor, message_id))


@router.post("/notifications/messages/{message_id}/retry", response=MessageDetail, summary="Re-queue a dead message (audited)")
def retry_message(request, message_id: int):
    actor = actor_of(request)
    message = actions.retry_message(actor=actor, message=queries.access_message(actor, message_id))
    return _detail(actor, message)


def _preferences(actor) -> dict:
    return {
        "preferences": list(queries.own_preferences(actor)),
        "templates": [{"key": s.key, "label_zh": s.label_zh, "label_en": s.label_en,
                       "default_channels": list(s.default_channels), "urgent": s.urgent} for s in CATALOG.values()],
        "channels": list(Channel.values),
    }


@router.get("/notifications/preferences", response=PreferencesOut, summary="My notification preferences")
def get_preferences(request):
    return _preferences(actor_of(request))


@router.put("/notifications/preferences", response=PreferencesOut, summary="Replace my notification preferences")
def put_preferences(request, payload: PreferencesIn):
    actor = actor_of(request)
    actions.set_preferences(actor=actor, rows=[p.dict() for p in payload.preferences])
    return _preferences(actor)
