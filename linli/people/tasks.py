"""Background work of the people app: validating and committing spreadsheet imports, and re-driving them.

Tasks act on import jobs by id and are idempotent: each step first claims the job by a compare-and-set on its
status (linli.people.imports.jobs), so a duplicate message, a retry or the sweeper never runs a step twice.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .choices import ImportStatus
from .imports import jobs, pipeline

log = logging.getLogger(__name__)


@db_task()
def validate_import(job_id: int) -> None:
    pipeline.validate_job(job_id)


@db_task()
def run_import(job_id: int) -> None:
    pipeline.commit_job(job_id)


@db_periodic_task(crontab(minute="*/5"))
def sweep_import_jobs() -> None:
    """Queue again the jobs a crashed worker or a lost message left behind; fail those out of attempts."""
    for job in jobs.stalled():
        if job.attempts >= jobs.MAX_ATTEMPTS:
            if jobs.fail(job.pk, f"导入在{job.attempts}次尝试后仍未完成，已停止，请重新上传",
                         f"the import did not finish after {job.attempts} attempts and was stopped; upload it again"):
                log.warning("import job %s failed after %s attempts", job.pk, job.attempts)
        elif job.status == ImportStatus.COMMITTING:
            run_import(job.pk)
        else:
            validate_import(job.pk)
