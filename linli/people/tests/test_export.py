"""Exporting residents to xlsx: the template's columns, values masked by role, one audit entry, and a round trip."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from linli.core.errors import NotFound, PermissionDenied
from linli.core.models import AuditEntry
from linli.core.permissions import ROLE_PERMISSIONS, Perm, Role
from linli.people.imports.actions import commit_import, export_residents, start_import
from linli.people.imports.columns import COLUMNS
from linli.people.models import Resident
from linli.people.queries import ResidentFilter

from . import sheets
from .test_import import snapshot

pytestmark = pytest.mark.django_db
RA_ROW = ["祥和苑", "1栋", "1单元", "101", "王秀英", "女", dt.datetime(1950, 3, 15), "421202195003150027", "13800138000",
          "户主", None, "独居老人", None, None]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def rows_of(content: bytes) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    return [[c.value for c in row] for row in ws.iter_rows()]


def import_messy(world, capture) -> None:
    with capture(execute=True):
        job = start_import(actor=world.actor("staff_a"), place=world.community_a,
                           upload=io.BytesIO(sheets.messy_sheet_bytes()), filename="a.xlsx")
    job.refresh_from_db()
    with capture(execute=True):
        commit_import(actor=world.actor("staff_a"), job=job, keep="valid")


def test_given_a_grid_worker_when_exporting_then_full_values_in_the_template_columns_and_one_audit_entry(world):
    content, count = export_residents(actor=world.actor("grid_a"), filters=ResidentFilter())
    rows = rows_of(content)
    assert rows[0] == [c.zh for c in COLUMNS]
    assert count == 1 and rows[1:] == [RA_ROW]
    ws = load_workbook(io.BytesIO(content)).worksheets[0]
    assert (ws["H2"].number_format, ws["I2"].number_format, ws["G2"].number_format) == ("@", "@", "yyyy-mm-dd")
    entry = AuditEntry.objects.get(action="resident.export")
    assert entry.actor_id == world.users["grid_a"].pk
    assert entry.after == {"count": 1, "full_values": True, "full_rows": 1, "filters": {"status": "active"}}


def test_given_a_role_that_may_export_but_not_reveal_when_exporting_then_values_are_masked(world, monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.PROPERTY_STAFF,
                        ROLE_PERMISSIONS[Role.PROPERTY_STAFF] | {Perm.RESIDENT_EXPORT})
    content, count = export_residents(actor=world.actor("property_a"), filters=ResidentFilter())
    assert count == 1
    assert rows_of(content)[1][7:9] == ["421202********0027", "138****8000"]
    assert AuditEntry.objects.get(action="resident.export").after["full_values"] is False


@pytest.mark.parametrize("who", ["property_a", "resident_a", "committee_a", "sysadmin", "nobody"])
def test_given_a_role_without_export_rights_when_exporting_then_refused_and_not_audited(world, who):
    with pytest.raises(PermissionDenied):
        export_residents(actor=world.actor(who), filters=ResidentFilter())
    assert not AuditEntry.objects.filter(action="resident.export").exists()


def test_given_staff_of_one_community_when_exporting_then_only_their_residents_and_other_places_are_404(world):
    content, count = export_residents(actor=world.actor("staff_b"), filters=ResidentFilter())
    assert count == 1 and rows_of(content)[1][4] == "李建国"
    with pytest.raises(NotFound):
        export_residents(actor=world.actor("staff_b"), filters=ResidentFilter(place_id=world.estate_a.pk))
    content, count = export_residents(actor=world.actor("street_admin"), filters=ResidentFilter(tag="elderly"))
    assert count == 1 and rows_of(content)[1][4] == "王秀英"


def test_given_an_export_when_it_is_imported_back_then_nothing_changes(world, django_capture_on_commit_callbacks):
    import_messy(world, django_capture_on_commit_callbacks)
    content, count = export_residents(actor=world.actor("staff_a"), filters=ResidentFilter())
    assert count == 1 + sheets.MESSY_VALID_ROWS
    exported = {row[4]: row for row in rows_of(content)[1:]}
    assert exported["赵丽华"][:4] == ["祥和苑", "2栋", "2单元", "201"]
    assert exported["赵丽华"][9:13] == ["业主", "回族", "独居老人、残疾人:2", dt.datetime(2020, 1, 1)]
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        job = start_import(actor=world.actor("staff_a"), place=world.community_a, upload=io.BytesIO(content),
                           filename="export.xlsx")
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.error_rows) == ("validated", count, 0)
    with django_capture_on_commit_callbacks(execute=True):
        commit_import(actor=world.actor("staff_a"), job=job, keep="valid")
    job.refresh_from_db()
    assert (job.status, job.created_count, job.updated_count, job.unchanged_count) == ("done", 0, 0, count)
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert Resident.objects.count() == 2 + sheets.MESSY_VALID_ROWS
