"""Periodic work of the alerts app, each from stored times and idempotent: a restart or a missed run loses
nothing, and a second run finds nothing new."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from linli.core import context


@db_periodic_task(crontab(minute="*"))
def sweep_alerts() -> None:
    """Every minute: escalate open alerts past their escalation time; resolve alerts without repeats."""
    from .actions import sweep_auto_resolve, sweep_escalations

    with context.as_task():
        sweep_escalations()
        sweep_auto_resolve()


@db_periodic_task(crontab(minute="*/5"))
def sweep_care() -> None:
    """Every five minutes: residents living alone not seen for longer than their threshold."""
    from .care import sweep_not_seen

    with context.as_task():
        sweep_not_seen()
