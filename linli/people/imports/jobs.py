"""The life of an import job row: claims, heartbeats and endings, each a compare-and-set on the row.

A worker claims a job by moving it into a running status (``validating`` or ``committing``), stamping
``started_at`` and raising ``attempts``. While it works it touches ``updated_at`` (the lease) together with the
progress counters, always filtering on its own attempt number: a worker whose lease expired and whose job was
claimed again by another attempt finds its writes refused (``Superseded``) and stops. The sweeper re-drives
jobs whose lease expired and gives up after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from linli.core import context
from linli.core.actor import Actor

from ..choices import ImportStatus
from ..models import ImportJob

LEASE = dt.timedelta(minutes=10)  # a running job not touched for this long belongs to a dead worker
START_GRACE = dt.timedelta(minutes=2)  # a queued job not started after this long lost its queue message
MAX_ATTEMPTS = 3
UNFINISHED = (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.COMMITTING)


class Superseded(Exception):
    """Another attempt owns the job now, or it was ended meanwhile."""


def claim(job_id: int, *, waiting: str, running: str) -> ImportJob | None:
    """Take the job when it waits in ``waiting`` or its running attempt's lease expired; None when not ours."""
    now = timezone.now()
    claimable = Q(status=waiting, started_at__isnull=True) | Q(status=running, updated_at__lt=now - LEASE)
    taken = ImportJob.objects.filter(claimable, pk=job_id, attempts__lt=MAX_ATTEMPTS).update(
        status=running, started_at=now, updated_at=now, attempts=F("attempts") + 1
    )
    if taken != 1:
        return None
    return ImportJob.objects.select_related("place", "created_by").get(pk=job_id)


def touch(job: ImportJob, **fields: Any) -> None:
    """Renew the lease (and write counters) as the attempt that owns the job."""
    fields["updated_at"] = timezone.now()
    if not ImportJob.objects.filter(pk=job.pk, status=job.status, attempts=job.attempts).update(**fields):
        raise Superseded(job.pk)
    for key, value in fields.items():
        setattr(job, key, value)


def end(job: ImportJob, status: str, **fields: Any) -> None:
    now = timezone.now()
    touch(job, status=status, finished_at=now if status != ImportStatus.VALIDATED else None, **fields)


def fail(job_id: int, zh: str, en: str) -> bool:
    """Give up on an unfinished job; the message tells the user what happened, in Chinese then English."""
    now = timezone.now()
    return bool(ImportJob.objects.filter(pk=job_id, status__in=UNFINISHED).update(
        status=ImportStatus.FAILED, message=f"{zh}\n{en}", finished_at=now, updated_at=now
    ))


def actor_of(job: ImportJob) -> Actor | None:
    """The background work acts as the user who uploaded the sheet, with the roles they hold now."""
    return Actor.for_user(job.created_by) if job.created_by is not None and job.created_by.is_active else None


def task_context(job: ImportJob) -> contextlib.AbstractContextManager[None]:
    return context.as_task(request_id=f"import-{job.pk}")


def stalled(now: dt.datetime | None = None) -> list[ImportJob]:
    """Jobs a crashed worker or a lost queue message left behind."""
    now = now or timezone.now()
    never_started = Q(status__in=[ImportStatus.PENDING, ImportStatus.COMMITTING], started_at__isnull=True,
                      updated_at__lt=now - START_GRACE)
    lease_expired = Q(status__in=[ImportStatus.VALIDATING, ImportStatus.COMMITTING], started_at__isnull=False,
                      updated_at__lt=now - LEASE)
    return list(ImportJob.objects.filter(never_started | lease_expired).order_by("pk"))
