"""Writing audit entries. Actions call ``record`` inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import TYPE_CHECKING, Any

from . import context
from .models import AuditEntry

if TYPE_CHECKING:
    from .actor import Actor


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def build(actor: Actor | None, action: str, *, target: Any = None, target_type: str = "", target_id: Any = "",
          target_label: str = "", place_path: str = "", before: dict | None = None, after: dict | None = None) -> AuditEntry:
    ctx = context.current()
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
        target_label = target_label or str(target)[:200]
        place_path = place_path or getattr(target, "place_path", "") or getattr(target, "path", "")
    user = actor.user if actor is not None else None
    return AuditEntry(
        actor=user if user is not None and user.pk else None,
        actor_label=(actor.label if actor is not None else "system")[:150],
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        target_label=target_label[:200],
        place_path=place_path,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        request_id=ctx.request_id,
        ip=ctx.ip,
        via=ctx.via,
    )


def record(actor: Actor | None, action: str, **kwargs: Any) -> AuditEntry:
    entry = build(actor, action, **kwargs)
    entry.save()
    return entry


def diff(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys that changed, for compact before/after pairs."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
