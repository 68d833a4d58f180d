"""The two background steps of an import job: validate the uploaded sheet, then commit the rows kept.

Both are safe to run again for the same job id: a step runs only after claiming the job (jobs.claim), and a
commit resumes after the last chunk it finished, because each chunk's rows and the job's counters are written in
one transaction.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count

from linli.core import audit
from linli.core.actor import Actor
from linli.core.errors import ValidationFailed
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind
from linli.places.models import Place

from ..choices import ImportStatus
from ..models import ImportJob, ImportRowError
from . import jobs, reader, staged, storage
from .commit import CHUNK_ROWS, Committer, row_errors
from .validate import RowChecker, RowIssue
from .xlsx import BadWorkbook, Workbook

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1000
LOOKUP_BATCH = 1000
ERROR_BATCH = 1000


def validate_job(job_id: int) -> None:
    job = jobs.claim(job_id, waiting=ImportStatus.PENDING, running=ImportStatus.VALIDATING)
    if job is None:
        return
    with jobs.task_context(job):
        try:
            actor = _allowed_actor(job)
            if actor is not None:
                _validate(job, actor)
        except jobs.Superseded:
            log.info("import job %s: validation superseded by another attempt", job.pk)


def commit_job(job_id: int) -> None:
    job = jobs.claim(job_id, waiting=ImportStatus.COMMITTING, running=ImportStatus.COMMITTING)
    if job is None:
        return
    with jobs.task_context(job):
        try:
            actor = _allowed_actor(job)
            if actor is not None:
                _commit(job, actor)
        except jobs.Superseded:
            log.info("import job %s: commit superseded by another attempt", job.pk)


def _allowed_actor(job: ImportJob) -> Actor | None:
    actor = jobs.actor_of(job)
    if actor is None or not actor.can(Perm.RESIDENT_IMPORT, job.place_path):
        jobs.fail(job.pk, "上传该表格的用户已无导入权限，导入已停止", "the user who uploaded the sheet may no longer import; the job stopped")
        return None
    return actor


def _validate(job: ImportJob, actor: Actor) -> None:
    try:
        wb = reader.open_workbook(storage.load_sealed(job.file))
        try:
            header = reader.find_header(wb, into_community=job.place.kind == PlaceKind.COMMUNITY)
            jobs.touch(job, total_rows=reader.row_estimate(wb, header), processed_rows=0)
            writer, issues, total, error_rows = _check_rows(job, actor, wb, header)
        finally:
            wb.close()
    except ValidationFailed as exc:
        jobs.fail(job.pk, exc.message_zh, exc.message_en)
        return
    except BadWorkbook:
        error = reader.damaged().errors[0]
        jobs.fail(job.pk, error.message_zh, error.message_en)
        return
    staged_name = storage.save_sealed(writer.blob(error_rows), "staged")
    try:
        with transaction.atomic():
            jobs.end(job, ImportStatus.VALIDATED, total_rows=total, processed_rows=total, valid_rows=writer.count,
                     error_rows=error_rows, staged=staged_name, message="")
            ImportRowError.objects.bulk_create(row_errors(job, issues), batch_size=ERROR_BATCH)
    except BaseException:
        storage.delete(staged_name)
        raise


def _check_rows(job: ImportJob, actor: Actor, wb: Workbook, header: reader.Header
                ) -> tuple[staged.StagedWriter, list[RowIssue], int, int]:
    checker = RowChecker(job.place)
    writer = staged.StagedWriter()
    issues: list[RowIssue] = []
    pending: list[staged.StagedRow] = []
    total = error_rows = 0

    def flush() -> int:
        kept, scope_issues = checker.outside_scope(actor, pending)
        for row in kept:
            writer.add(row)
        issues.extend(scope_issues)
        pending.clear()
        return len(scope_issues)

    for number, cells in reader.data_rows(wb, header):
        if reader.is_blank(cells.values()):
            continue
        total += 1
        row, row_issues = checker.check(number, cells)
        if row is None:
            issues.extend(row_issues)
            error_rows += 1
        else:
            pending.append(row)
            if len(pending) >= LOOKUP_BATCH:
                error_rows += flush()
        if total % PROGRESS_EVERY == 0:
            jobs.touch(job, processed_rows=total)
    error_rows += flush()
    return writer, issues, total, error_rows


def _commit(job: ImportJob, actor: Actor) -> None:
    blob = storage.load_sealed(job.staged)
    # processed_rows started at the rows validation rejected (commit_import), so the bar runs to total_rows.
    done = job.processed_rows - staged.read_header(blob)["errors"]
    committer = Committer(job, actor)
    chunk: list[staged.StagedRow] = []
    for row in staged.read_rows(blob, skip=done):
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            _commit_chunk(job, committer, chunk)
            chunk = []
    if chunk:
        _commit_chunk(job, committer, chunk)
    del blob
    places = dict(Place.objects.filter(attrs__source=committer.source).values("kind").annotate(n=Count("pk"))
                  .values_list("kind", "n"))
    with transaction.atomic():
        jobs.end(job, ImportStatus.DONE)
        audit.record(actor, "resident.import.commit", target=job, target_label=job.original_name[:200], after={
            "file": job.original_name, "rows": job.total_rows, "created": job.created_count,
            "updated": job.updated_count, "unchanged": job.unchanged_count, "rejected": job.error_rows,
            "places_created": places,
        })
        names = (job.file, job.staged)
        transaction.on_commit(lambda: storage.delete(*names))


def _commit_chunk(job: ImportJob, committer: Committer, rows: list[staged.StagedRow]) -> None:
    with transaction.atomic():
        result = committer.commit_chunk(rows)
        ImportRowError.objects.bulk_create(row_errors(job, result.issues), batch_size=ERROR_BATCH)
        jobs.touch(
            job,
            processed_rows=job.processed_rows + len(rows),
            created_count=job.created_count + result.created,
            updated_count=job.updated_count + result.updated,
            unchanged_count=job.unchanged_count + result.unchanged,
            valid_rows=job.valid_rows - len(result.issues),
            error_rows=job.error_rows + len(result.issues),
        )
