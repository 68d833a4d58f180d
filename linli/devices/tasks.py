"""Background work of the devices app: process stored event batches by id, re-drive batches left behind, and
move silent devices offline. Each task only calls the pipeline or the ingest functions, which are idempotent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from linli.core import context


@db_task()
def process_event_batch(batch_id: int) -> None:
    from .pipeline import process_batch

    with context.as_task():
        process_batch(batch_id)


@db_periodic_task(crontab(minute="*"))
def sweep_devices() -> None:
    """Every minute: batches whose task was lost, then devices silent past their threshold."""
    from .ingest import sweep_offline_devices
    from .pipeline import redrive_pending

    with context.as_task():
        redrive_pending()
        sweep_offline_devices()
