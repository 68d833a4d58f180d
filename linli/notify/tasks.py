"""Background work of the notify app: deliver messages by id, and the sweeper that re-drives what was left behind
(every minute). Each task only calls actions; delivering the same id twice sends once."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from linli.core import context


@db_task()
def deliver_message(message_id: int) -> None:
    from .actions import send_message

    with context.as_task():
        send_message(message_id=message_id)


@db_task()
def deliver_messages(message_ids: list[int]) -> None:
    from .actions import send_message

    with context.as_task():
        for message_id in message_ids:
            send_message(message_id=message_id)


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> None:
    from .actions import redrive_messages

    with context.as_task():
        redrive_messages()
