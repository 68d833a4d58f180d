"""The task queue (Huey: SQLite embedded, Redis in production) and platform-wide periodic tasks."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

log = logging.getLogger(__name__)


def queue_state() -> dict:
    """What /healthz reports about the queue: reachable, and how much work waits."""
    try:
        pending = HUEY.pending_count()
        scheduled = HUEY.scheduled_count()
        return {"status": "ok", "backend": type(HUEY).__name__, "pending": pending, "scheduled": scheduled,
                "immediate": bool(HUEY.immediate)}
    except Exception as exc:  # noqa: BLE001
        return {"status": "error", "backend": type(HUEY).__name__, "error": str(exc)[:200]}


@db_periodic_task(crontab(minute="*"))
def consumer_heartbeat() -> None:
    from linli.core.models import Heartbeat

    Heartbeat.objects.update_or_create(name="consumer", defaults={"at": timezone.now(), "detail": {"queue": type(HUEY).__name__}})
