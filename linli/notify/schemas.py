"""API schemas of the notify app: inbox items, outbox rows (addresses masked), attempts and preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class InboxItemOut(Schema):
    id: int
    template: str
    subject: str
    body: str
    cause_type: str
    cause_id: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxPage(Schema):
    count: int
    unread: int
    limit: int
    offset: int
    items: list[InboxItemOut]


class MessageOut(Schema):
    """An outbox row as operators see it: never the full address, never the text (see MessageDetail)."""

    id: int
    recipient_id: int | None
    address_mask: str
    channel: str
    template: str
    language: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    provider_id: str
    cause_type: str
    cause_id: str
    place_path: str
    fallback_of_id: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


class MessagePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[MessageOut]


class AttemptOut(Schema):
    number: int
    channel: str
    started_at: dt.datetime
    finished_at: dt.datetime
    outcome: str
    error: str
    provider_id: str


class MessageDetail(MessageOut):
    subject: str = Field("", description="only for roles that may see residents' data in this place")
    body: str = ""
    context: dict[str, Any] = Field(default_factory=dict)
    attempts_log: list[AttemptOut]


class PreferenceIn(Schema):
    template: str = Field("", description='a template key, or "" for every template')
    channel: str
    enabled: bool = True
    quiet_start: dt.time | None = Field(None, description="quiet hours (local time), e.g. 22:00")
    quiet_end: dt.time | None = Field(None, description="e.g. 07:00; the window may wrap midnight")


class PreferenceOut(PreferenceIn):
    pass


class PreferencesIn(Schema):
    preferences: list[PreferenceIn] = Field(..., max_length=200)


class TemplateOut(Schema):
    key: str
    label_zh: str
    label_en: str
    default_channels: list[str]
    urgent: bool


class PreferencesOut(Schema):
    preferences: list[PreferenceOut]
    templates: list[TemplateOut]
    channels: list[str]
