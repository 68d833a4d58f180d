"""Helpers of the alert tests: events pushed the way devices send them (parsed by the generic adapter, stored by
record_device_events, then the pipeline run on the stored ids), at fixed local times."""

from __future__ import annotations

import datetime as dt
import json
from itertools import count

from django.utils import timezone

from linli.core.models import AuditEntry
from linli.devices.adapters import parse_generic
from linli.devices.ingest import record_device_events
from linli.devices.pipeline import after_store
from linli.notify.models import Message

from ..models import Alert, AlertEvent, Rule

TZ = timezone.get_default_timezone()
_ids = count(1)


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A local (Asia/Shanghai) time in April 2026: 2026-04-23 is a Thursday."""
    return dt.datetime(2026, 4, day, hour, minute, second, tzinfo=TZ)


def event(kind: str, at: dt.datetime, **fields) -> dict:
    return {"kind": kind, "time": at.isoformat(), "id": f"e{next(_ids)}", **fields}


def push(device, *events: dict) -> list[int]:
    """Store the events as the HTTP endpoint does and run the pipeline (rules included) on the stored ids."""
    result = parse_generic(json.dumps({"events": list(events)}).encode(), default_device=device.serial)
    assert not result.rejects, result.rejects
    received = max(dt.datetime.fromisoformat(e["time"]) for e in events)
    outcome = record_device_events(device=device, vendor=device.vendor, source="generic", events=result.events,
                                   received_at=received)
    after_store(outcome.stored)
    return outcome.stored


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Rule, Alert, AlertEvent, Message, AuditEntry)}


def outbox(template: str) -> list[tuple[str, str]]:
    """(recipient username or masked address, channel) of the queued messages of a template."""
    rows = Message.objects.filter(template=template).select_related("recipient").order_by("pk")
    return sorted((m.recipient.get_username() if m.recipient else m.address_mask, m.channel) for m in rows)
