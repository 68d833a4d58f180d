"""Import jobs in the background: idempotent tasks, resuming a crashed commit, the sweeper, constant query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.people import tasks
from linli.people.imports import commit as commit_module
from linli.people.imports import jobs, pipeline
from linli.people.imports.actions import commit_import, start_import
from linli.people.imports.columns import COLUMNS
from linli.people.models import ImportJob, ImportRowError, Occupancy, Resident
from linli.places.models import Place

from . import sheets

pytestmark = pytest.mark.django_db
LONG_AGO = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def queued(world, capture, data: bytes, who: str = "staff_a") -> ImportJob:
    """An uploaded job whose queue message was lost (the on-commit callback never ran)."""
    with capture(execute=False):
        job = start_import(actor=world.actor(who), place=world.community_a, upload=io.BytesIO(data), filename="a.xlsx")
    return job


def age(job: ImportJob, by: dt.timedelta = LONG_AGO) -> None:
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - by)


def many_rows(count: int, first_seq: int = 0) -> bytes:
    """``count`` new people, two per dwelling, in buildings of 20 dwellings: every row needs new places."""
    rows = []
    for i in range(count):
        seq = first_seq + i
        rows.append(sheets.resident_row(
            name="测试居民", id_number=sheets.make_id("19700101", seq % 400, male=seq % 2 == 0, region=f"4212{seq // 400:02d}"),
            building=str(10 + seq // 40), entrance="1", dwelling=str(101 + (seq // 2) % 20), phone=f"139{seq:08d}",
            relation="户主" if seq % 2 == 0 else "配偶", tags="党员" if seq % 3 == 0 else ""))
    return sheets.sheet_bytes(rows)


def test_given_a_lost_queue_message_when_the_sweeper_runs_then_the_job_is_validated(world, django_capture_on_commit_callbacks):
    job = queued(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    tasks.sweep_import_jobs.call_local()
    job.refresh_from_db()
    assert job.status == "pending"  # too recent: the queue may simply be busy
    age(job)
    tasks.sweep_import_jobs.call_local()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.valid_rows) == ("validated", 1, sheets.MESSY_VALID_ROWS)


def test_given_a_finished_step_when_its_task_runs_again_then_nothing_happens(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_import(actor=world.actor("staff_a"), place=world.community_a,
                           upload=io.BytesIO(sheets.messy_sheet_bytes()), filename="a.xlsx")
    tasks.validate_import.call_local(job.pk)
    assert ImportRowError.objects.filter(job=job).count() == len(sheets.MESSY_ERRORS)
    with django_capture_on_commit_callbacks(execute=True):
        commit_import(actor=world.actor("staff_a"), job=job, keep="valid")
    residents = Resident.objects.count()
    tasks.run_import.call_local(job.pk)
    tasks.validate_import.call_local(job.pk)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.attempts) == ("done", sheets.MESSY_VALID_ROWS, 1)
    assert Resident.objects.count() == residents
    assert ImportRowError.objects.filter(job=job).count() == len(sheets.MESSY_ERRORS)


def test_given_a_worker_crash_mid_commit_when_the_sweeper_runs_then_the_commit_resumes_without_duplicates(
        world, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    job = queued(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    tasks.validate_import.call_local(job.pk)
    real_chunk = commit_module.Committer.commit_chunk
    calls = []

    def crash_on_second_chunk(self, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_chunk(self, rows)

    monkeypatch.setattr(commit_module.Committer, "commit_chunk", crash_on_second_chunk)
    with django_capture_on_commit_callbacks(execute=True):
        commit_import(actor=world.actor("staff_a"), job=job, keep="valid")
    job.refresh_from_db()
    assert (job.status, job.created_count, job.processed_rows) == ("committing", 2, len(sheets.MESSY_ERRORS) + 2)
    tasks.sweep_import_jobs.call_local()  # the lease has not expired: the worker might still be alive
    job.refresh_from_db()
    assert job.attempts == 1
    age(job)
    tasks.sweep_import_jobs.call_local()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.created_count, job.unchanged_count) == ("done", 2, 5, 0)
    assert calls == [2, 2, 2, 1]
    assert Resident.objects.filter(source=f"import:{job.pk}").count() == 5
    assert Occupancy.objects.filter(resident__source=f"import:{job.pk}").count() == 5


def test_given_a_job_out_of_attempts_when_the_sweeper_runs_then_it_fails_with_a_message(world, django_capture_on_commit_callbacks):
    job = queued(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    ImportJob.objects.filter(pk=job.pk).update(status="validating", started_at=timezone.now(), attempts=jobs.MAX_ATTEMPTS)
    age(job)
    tasks.sweep_import_jobs.call_local()
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert job.message == ("导入在3次尝试后仍未完成，已停止，请重新上传\n"
                           "the import did not finish after 3 attempts and was stopped; upload it again")
    assert ImportRowError.objects.filter(job=job).count() == 0


def test_given_a_superseded_worker_when_it_reports_progress_then_its_write_is_refused(world, django_capture_on_commit_callbacks):
    job = queued(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    mine = jobs.claim(job.pk, waiting="pending", running="validating")
    assert jobs.claim(job.pk, waiting="pending", running="validating") is None  # the lease is held
    age(job)
    theirs = jobs.claim(job.pk, waiting="pending", running="validating")
    assert (mine.attempts, theirs.attempts) == (1, 2)
    with pytest.raises(jobs.Superseded):
        jobs.touch(mine, processed_rows=5)
    jobs.touch(theirs, processed_rows=7)
    job.refresh_from_db()
    assert job.processed_rows == 7


def test_given_an_uploader_who_lost_the_role_when_validation_runs_then_the_job_fails(world, django_capture_on_commit_callbacks):
    from linli.accounts.models import RoleAssignment

    job = queued(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    RoleAssignment.objects.filter(user=world.users["staff_a"]).update(active=False)
    tasks.validate_import.call_local(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.message.startswith("上传该表格的用户已无导入权限")
    assert ImportRowError.objects.filter(job=job).count() == 0


def test_given_more_rows_when_validated_and_committed_then_the_query_count_does_not_grow(world, django_capture_on_commit_callbacks):
    """A sheet of 20 and one of 50 rows (every row a new person, half of them in new dwellings) cost the same.

    (Bulk inserts are split by the database's parameter limit, 999 on SQLite, so past ~55 rows per insert the
    count grows by one statement per batch, never per row.)"""
    counts = []
    for size, first in ((20, 0), (50, 1000)):
        job = queued(world, django_capture_on_commit_callbacks, many_rows(size, first))
        with CaptureQueriesContext(connection) as validating:
            tasks.validate_import.call_local(job.pk)
        with django_capture_on_commit_callbacks(execute=False):
            commit_import(actor=world.actor("staff_a"), job=job, keep="valid")
        with CaptureQueriesContext(connection) as committing:
            tasks.run_import.call_local(job.pk)
        job.refresh_from_db()
        assert (job.status, job.created_count, job.error_rows) == ("done", size, 0)
        counts.append((len(validating), len(committing)))
    assert counts[0] == counts[1]
    assert Place.objects.filter(kind="dwelling", attrs__source__startswith="import:").count() == 10 + 25


def test_given_a_sheet_damaged_below_its_header_when_validated_then_the_job_fails_with_a_reason(world, django_capture_on_commit_callbacks):
    import zipfile

    rows = [sheets.resident_row(name="测试", id_number=sheets.make_id("19700101", i, male=True), dwelling=str(100 + i))
            for i in range(600)]  # the damage lies past the first block the header search reads
    good = zipfile.ZipFile(io.BytesIO(sheets.excel_xlsx([[c.zh for c in COLUMNS], *rows])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as damaged:
        for item in good.infolist():
            content = good.read(item)
            if item.filename.endswith("sheet1.xml"):
                content = content.replace(b'<row r="500">', b'<row r="500"><c r="A500"><v>1</c>')
            damaged.writestr(item, content)
    job = queued(world, django_capture_on_commit_callbacks, buf.getvalue())
    tasks.validate_import.call_local(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message) == ("failed", "无法打开该 Excel 文件，文件可能已损坏\nthe Excel file cannot be opened; it may be damaged")
    assert ImportRowError.objects.filter(job=job).count() == 0
