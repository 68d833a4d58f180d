"""Background work of the devices app: process stored event batches by id, re-drive batches left behind, and
move silent devices offline. Each task only calls the pipeline or the ingest functions, which are idempotent."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from linli.core import context
from linli.core.heap import collector_paused, freeze_heap

_heap_frozen = False


@db_task()
def process_event_batch(batch_id: int) -> None:
    from .pipeline import process_batch

    _freeze_heap_once()
    with context.as_task(), collector_paused():
        process_batch(batch_id)


def _freeze_heap_once() -> None:
    """In a worker process (not with tasks run at once, as in tests): what it holds by its first batch is left out
    of the garbage collector's passes from then on (linli.core.heap.freeze_heap)."""
    global _heap_frozen
    from huey.contrib.djhuey import HUEY

    if _heap_frozen or HUEY.immediate:
        return
    _heap_frozen = True
    freeze_heap()


@db_periodic_task(crontab(minute="*"))
def sweep_devices() -> None:
    """Every minute: batches whose task was lost, then devices silent past their threshold."""
    from .ingest import sweep_offline_devices
    from .pipeline import redrive_pending

    with context.as_task():
        redrive_pending()
        sweep_offline_devices()
