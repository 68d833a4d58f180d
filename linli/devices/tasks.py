"""Background work of the devices app: process stored event batches by id, re-drive batches left behind, and
move silent devices offline. Each task only calls the pipeline or the ingest functions, which are idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from linli.core import context


@contextmanager
def _as_task() -> Iterator[None]:
    token = context.set_current(context.RequestContext(via="task"))
    try:
        yield
    finally:
        context.reset(token)


@db_task()
def process_event_batch(batch_id: int) -> None:
    from .pipeline import process_batch

    with _as_task():
        process_batch(batch_id)


@db_periodic_task(crontab(minute="*"))
def sweep_devices() -> None:
    """Every minute: batches whose task was lost, then devices silent past their threshold."""
    from .ingest import sweep_offline_devices
    from .pipeline import redrive_pending

    with _as_task():
        redrive_pending()
        sweep_offline_devices()
