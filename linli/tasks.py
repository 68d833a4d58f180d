"""The task queue (Huey: SQLite embedded, Redis in production) as /healthz sees it. Tasks live in each app's
tasks.py; platform-wide periodic ones in linli/core/tasks.py."""

from __future__ import annotations

from huey.contrib.djhuey import HUEY


def queue_state() -> dict:
    """What /healthz reports about the queue: reachable, and how much work waits."""
    try:
        pending = HUEY.pending_count()
        scheduled = HUEY.scheduled_count()
        return {"status": "ok", "backend": type(HUEY).__name__, "pending": pending, "scheduled": scheduled,
                "immediate": bool(HUEY.immediate)}
    except Exception as exc:  # noqa: BLE001
        return {"status": "error", "backend": type(HUEY).__name__, "error": str(exc)[:200]}
