"""Periodic work of the tickets app: the deadline sweep every minute (reminders, overdue flags, escalation,
auto-close), computed from stored times so that a restart loses nothing."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from linli.core import context


@db_periodic_task(crontab(minute="*"))
def sweep_ticket_deadlines() -> None:
    from .actions import sweep_deadlines

    with context.as_task():
        sweep_deadlines()
