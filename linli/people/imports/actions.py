"""The import and export actions staff call: upload a sheet, keep its valid rows or nothing, export residents."""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from linli.core import audit
from linli.core.actor import Actor, require_visible
from linli.core.errors import Conflict, PermissionDenied, invalid
from linli.core.identity import clean_text
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place
from linli.places.queries import access_place

from ..choices import ImportStatus
from ..models import ImportJob
from ..queries import ResidentFilter, search_residents
from . import reader, storage
from .export import write_residents

KEEP_CHOICES = ("valid", "nothing")
DEFAULT_NAME = "residents.xlsx"


def start_import(*, actor: Actor, place: Place, upload, filename: str) -> ImportJob:
    """Store an uploaded residents sheet and queue its validation. Bad files raise ValidationFailed on ``file``."""
    _require_import_at(actor, place)
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY) or place.status != PlaceStatus.ACTIVE:
        raise invalid("place", "wrong_kind", "只能导入到在用的社区或小区", "import into an active community or estate")
    data = _read_upload(upload)
    wb = reader.open_workbook(data)
    try:
        reader.find_header(wb, into_community=place.kind == PlaceKind.COMMUNITY)
    finally:
        wb.close()
    name = _file_name(filename)
    digest = hashlib.sha256(data).hexdigest()
    stored = storage.save_sealed(data, "xlsx")
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                place=place, place_path=place.path, created_by=actor.user if getattr(actor.user, "pk", None) else None,
                file=stored, original_name=name, sha256=digest,
            )
            audit.record(actor, "resident.import.upload", target=job, target_label=name,
                         after={"file": name, "bytes": len(data), "sha256": digest, "place": place.pk})
            transaction.on_commit(lambda: _queue_validation(job.pk))
    except BaseException:
        storage.delete(stored)
        raise
    return job


def commit_import(*, actor: Actor, job: ImportJob, keep: str) -> ImportJob:
    """The user's decision on a validated job: keep the valid rows (committed in the background) or nothing."""
    if keep not in KEEP_CHOICES:
        raise invalid("keep", "invalid_choice", "请选择导入正确的行或全部放弃", "keep must be 'valid' or 'nothing'")
    require_visible(actor, Perm.RESIDENT_IMPORT, job.place_path, "import job")
    now = timezone.now()
    waiting = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED)
    with transaction.atomic():
        if keep == "valid":
            # The rows validation rejected count as processed, so the progress bar runs up to total_rows.
            changed = waiting.update(status=ImportStatus.COMMITTING, started_at=None, attempts=0,
                                     processed_rows=F("error_rows"), updated_at=now)
        else:
            changed = waiting.update(status=ImportStatus.DISCARDED, finished_at=now, updated_at=now)
        if changed != 1:
            raise Conflict("该导入任务当前不在待确认状态", "the import job is not waiting for a decision", code="wrong_state")
        job.refresh_from_db()
        audit.record(actor, "resident.import.keep_valid" if keep == "valid" else "resident.import.discard", target=job,
                     target_label=job.original_name[:200],
                     after={"valid_rows": job.valid_rows, "error_rows": job.error_rows, "total_rows": job.total_rows})
        if keep == "valid":
            transaction.on_commit(lambda: _queue_commit(job.pk))
        else:
            names = (job.file, job.staged)
            transaction.on_commit(lambda: storage.delete(*names))
    return job


def export_residents(*, actor: Actor, filters: ResidentFilter) -> tuple[bytes, int]:
    """The residents matching ``filters`` that the actor may export, as xlsx in the template's columns."""
    actor.require(Perm.RESIDENT_EXPORT)
    ids = list(search_residents(actor, filters).filter(actor.scope_q(Perm.RESIDENT_EXPORT))
               .order_by("place_path", "name", "pk").values_list("pk", flat=True))
    result = write_residents(actor, ids)
    audit.record(actor, "resident.export", target_type="people.resident", target_label=f"{result.rows} residents",
                 place_path=_filter_path(filters),
                 after={"count": result.rows, "full_values": result.full_rows > 0, "full_rows": result.full_rows,
                        "filters": {k: v for k, v in vars(filters).items() if v not in (None, "")}})
    return result.content, result.rows


def _require_import_at(actor: Actor, place: Place) -> None:
    """403 on a place the actor sees but may not import into; 404 on a place outside their area."""
    if actor.can(Perm.RESIDENT_IMPORT, place.path):
        return
    access_place(actor, place.pk)
    raise PermissionDenied(Perm.RESIDENT_IMPORT)


def _read_upload(upload) -> bytes:
    limit = settings.LINLI_IMPORT_MAX_BYTES
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limit + 1)
    if not data:
        raise reader.file_error("empty", "上传的文件是空的", "the uploaded file is empty")
    if len(data) > limit:
        mb = limit // (1024 * 1024)
        raise reader.file_error("too_large", f"文件超过{mb}MB，请分成几个表格上传",
                                f"the file is larger than {mb} MB; split it into several sheets")
    return data


def _file_name(filename: str) -> str:
    name = re.split(r"[\\/]", clean_text(filename))[-1]
    return name[:200] or DEFAULT_NAME


def _filter_path(filters: ResidentFilter) -> str:
    if filters.place_id:
        return Place.objects.filter(pk=filters.place_id).values_list("path", flat=True).first() or ""
    return ""


# The tasks module imports the pipeline, which imports linli.people.actions, which re-exports this module's
# actions: the tasks are looked up when queued, not when this module loads.
def _queue_validation(job_id: int) -> None:
    from linli.people.tasks import validate_import

    validate_import(job_id)


def _queue_commit(job_id: int) -> None:
    from linli.people.tasks import run_import

    run_import(job_id)
