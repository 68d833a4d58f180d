"""Importing residents from a spreadsheet: upload checks, row validation, keep valid / nothing, re-import, audit."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from linli.core.crypto import lookup_hash
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.people.imports.actions import commit_import, start_import
from linli.people.imports.template import template_workbook
from linli.people.models import ImportJob, ImportRowError, Occupancy, Resident, ResidentTag
from linli.people.queries import access_import_job
from linli.places.models import Place
from linli.places.paths import child_path, natural_key

from . import sheets

pytestmark = pytest.mark.django_db
RA_ID = "421202195003150027"  # 王秀英, community A, make_world()


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[str]:
    return sorted(p.name for p in media.rglob("*") if p.is_file()) if media.exists() else []


def snapshot() -> dict[str, object]:
    """Everything an import may write, to prove that something wrote nothing."""
    return {
        "residents": sorted(Resident.objects.values_list("pk", "name", "sex", "birth_date", "id_hash", "phone_hash",
                                                         "ethnicity", "notes", "place_id", "place_path")),
        "occupancies": sorted(Occupancy.objects.values_list("resident_id", "place_id", "relation", "since", "until")),
        "tags": sorted(ResidentTag.objects.values_list("resident_id", "tag_id", "grade", "until")),
        "places": sorted(Place.objects.values_list("pk", "parent_id", "name", "path", "status")),
        "audit": AuditEntry.objects.count(),
    }


def upload(world, capture, data: bytes, *, who: str = "staff_a", place=None, name: str = "居民.xlsx") -> ImportJob:
    with capture(execute=True):
        job = start_import(actor=world.actor(who), place=place or world.community_a, upload=io.BytesIO(data),
                           filename=name)
    job.refresh_from_db()
    return job


def decide(world, capture, job: ImportJob, keep: str, who: str = "staff_a") -> ImportJob:
    with capture(execute=True):
        commit_import(actor=world.actor(who), job=job, keep=keep)
    job.refresh_from_db()
    return job


def errors_of(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(ImportRowError.objects.filter(job=job).order_by("row", "column").values_list("row", "column", "code"))


def imported(job: ImportJob) -> list[tuple]:
    """(name, ID, phone, building, entrance, dwelling, relation, tag codes) of the residents a job created."""
    out = []
    for r in Resident.objects.filter(source=f"import:{job.pk}").order_by("pk"):
        occ = Occupancy.objects.select_related("place__parent__parent").get(resident=r)
        dwelling = occ.place
        out.append((r.name, r.id_number, r.phone, dwelling.parent.parent.name, dwelling.parent.name, dwelling.name,
                    occ.relation, sorted(r.tags.values_list("tag__code", flat=True))))
    return out


# ---------------------------------------------------------------- the messy sheet

def test_given_the_messy_sheet_when_validated_then_exactly_the_expected_rows_are_rejected(world, django_capture_on_commit_callbacks, media):
    before = snapshot()
    job = upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    assert job.status == "validated"
    assert (job.total_rows, job.processed_rows, job.valid_rows, job.error_rows) == (
        sheets.MESSY_TOTAL_ROWS, sheets.MESSY_TOTAL_ROWS, sheets.MESSY_VALID_ROWS, len(sheets.MESSY_ERRORS))
    assert errors_of(job) == sheets.MESSY_ERRORS
    shown = dict(ImportRowError.objects.filter(job=job).values_list("row", "value"))
    assert shown[13] == sheets.BAD_CHECK_ID[:6] + "********" + sheets.BAD_CHECK_ID[-4:]
    assert shown[18] == "421202********001X"
    assert shown[14] == "1970-02-21" and shown[15] == "孤寡" and shown[16] == sheets.UNKNOWN_ESTATE
    for e in ImportRowError.objects.filter(job=job):
        assert e.message_zh and e.message_en
    assert ImportRowError.objects.get(job=job, row=17).message_en == "the same ID number as row 4"
    # Validation writes no resident, place or audit entry beyond the upload's own.
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert list(AuditEntry.objects.filter(pk__gt=0).values_list("action", flat=True)[:1]) == ["resident.import.upload"]
    assert after["audit"] == before["audit"] + 1
    # The stored upload and staged rows are sealed: no ID number in clear on disk.
    files = [p for p in media.rglob("*") if p.is_file()]
    assert len(files) == 2
    for path in files:
        content = path.read_bytes()
        assert content.startswith(b"v1:") and sheets.ZHANG_WEI.encode() not in content


def test_given_a_validated_messy_sheet_when_nothing_is_kept_then_nothing_is_written(world, django_capture_on_commit_callbacks, media):
    job = upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    before = snapshot()
    job = decide(world, django_capture_on_commit_callbacks, job, "nothing")
    assert job.status == "discarded" and job.finished_at is not None
    after = snapshot()
    assert after["audit"] == before["audit"] + 1
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert AuditEntry.objects.filter(action="resident.import.discard", target_id=str(job.pk)).count() == 1
    assert stored_files(media) == []


def test_given_a_validated_messy_sheet_when_valid_rows_are_kept_then_exactly_those_are_written(world, django_capture_on_commit_callbacks, media):
    job = upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    residents_before = Resident.objects.count()
    job = decide(world, django_capture_on_commit_callbacks, job, "valid")
    assert job.status == "done" and job.progress == 100
    assert (job.created_count, job.updated_count, job.unchanged_count) == (5, 0, 0)
    assert (job.processed_rows, job.valid_rows, job.error_rows) == (13, 5, 8)
    assert Resident.objects.count() == residents_before + 5
    assert imported(job) == sheets.MESSY_RESIDENTS
    zhang = Resident.objects.get(id_hash=lookup_hash("id", sheets.ZHANG_WEI))
    assert (zhang.sex, zhang.birth_date, zhang.ethnicity, zhang.notes) == ("M", dt.date(1980, 5, 12), "汉族", "楼长")
    assert (zhang.id_mask, zhang.phone_mask) == ("421202********0255", "139****5678")
    assert Occupancy.objects.get(resident=zhang).since == dt.date(2015, 6, 1)
    zhao = Resident.objects.get(id_hash=lookup_hash("id", sheets.ZHAO_LIHUA))
    assert list(zhao.tags.order_by("tag__code").values_list("tag__code", "grade")) == [("disabled", 2), ("elderly_alone", None)]
    assert Occupancy.objects.get(resident=zhao).since == dt.date(2020, 1, 1)
    li = Resident.objects.get(id_hash=lookup_hash("id", sheets.LI_NA))
    assert (li.sex, li.birth_date, li.phone, li.phone_hash) == ("F", dt.date(1982, 8, 16), "", None)
    # 1栋/1单元/101 and 102 existed; 2栋, 2单元 and 201, 202 were created with real paths and sort keys.
    assert zhang.place_id == world.dwelling_a.pk
    created = Place.objects.filter(attrs__source=f"import:{job.pk}").order_by("depth", "name")
    assert [(p.kind, p.name) for p in created] == [("building", "2栋"), ("entrance", "2单元"), ("dwelling", "201"),
                                                   ("dwelling", "202")]
    for p in created:
        assert p.path == child_path(p.parent.path, p.pk)
        assert (p.depth, p.sort_key, p.status) == (p.parent.depth + 1, natural_key(p.name), "active")
    assert created[0].parent_id == world.estate_a.pk
    entries = AuditEntry.objects.filter(action__startswith="resident.import")
    assert list(entries.order_by("pk").values_list("action", flat=True)) == [
        "resident.import.upload", "resident.import.keep_valid", "resident.import.commit"]
    commit_entry = entries.get(action="resident.import.commit")
    assert commit_entry.after == {"file": "居民.xlsx", "rows": 13, "created": 5, "updated": 0, "unchanged": 0,
                                  "rejected": 8, "places_created": {"building": 1, "entrance": 1, "dwelling": 2}}
    assert commit_entry.via == "task" and commit_entry.actor_id == world.users["staff_a"].pk
    assert stored_files(media) == []


def test_given_a_committed_sheet_when_it_is_imported_again_then_nothing_changes(world, django_capture_on_commit_callbacks):
    first = upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    decide(world, django_capture_on_commit_callbacks, first, "valid")
    before = snapshot()
    again = upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    assert errors_of(again) == sheets.MESSY_ERRORS
    again = decide(world, django_capture_on_commit_callbacks, again, "valid")
    assert (again.status, again.created_count, again.updated_count, again.unchanged_count) == ("done", 0, 0, 5)
    after = snapshot()
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    # Only the job's own three entries: no per-resident noise.
    assert after["audit"] == before["audit"] + 3
    assert not AuditEntry.objects.filter(action="resident.import_update").exists()


# ---------------------------------------------------------------- updates

def test_given_a_known_resident_with_a_new_phone_when_imported_then_it_is_updated_and_audited_masked(world, django_capture_on_commit_callbacks):
    ra = world.resident_a
    data = sheets.sheet_bytes([sheets.resident_row(name="王秀英", id_number=RA_ID, phone="13700001234",
                                                   tags="独居老人、党员", ethnicity="汉族")])
    job = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, data), "valid")
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 0)
    ra = Resident.objects.get(pk=ra.pk)
    assert (ra.phone, ra.phone_mask, ra.phone_hash) == ("13700001234", "137****1234", lookup_hash("phone", "13700001234"))
    assert ra.ethnicity == "汉族" and Resident.objects.filter(id_hash=lookup_hash("id", RA_ID)).count() == 1
    assert sorted(ra.tags.values_list("tag__code", flat=True)) == ["elderly_alone", "party_member"]
    assert Occupancy.objects.filter(resident=ra).count() == 1  # head of 101 already
    entry = AuditEntry.objects.get(action="resident.import_update")
    assert (entry.target_id, entry.actor_id, entry.place_path) == (str(ra.pk), world.users["staff_a"].pk, ra.place_path)
    assert entry.before == {"phone": "138****8000", "ethnicity": ""}
    assert entry.after == {"phone": "137****1234", "ethnicity": "汉族", "tags_added": ["party_member"], "job": job.pk}
    text = json.dumps([entry.before, entry.after])
    assert "13700001234" not in text and "13800138000" not in text


def test_given_a_known_resident_in_another_dwelling_of_the_area_when_imported_then_an_occupancy_is_added_once(world, django_capture_on_commit_callbacks):
    data = sheets.sheet_bytes([sheets.resident_row(name="王秀英", id_number=RA_ID, dwelling="102", relation="业主")])
    job = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, data), "valid")
    assert (job.created_count, job.updated_count) == (0, 1)
    assert sorted(Occupancy.objects.filter(resident=world.resident_a).values_list("place_id", "relation")) == sorted(
        [(world.dwelling_a.pk, "head"), (world.dwelling_a2.pk, "owner")])
    assert Resident.objects.get(pk=world.resident_a.pk).place_id == world.dwelling_a.pk  # home unchanged
    again = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, data), "valid")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 1)
    assert Occupancy.objects.filter(resident=world.resident_a).count() == 2


# ---------------------------------------------------------------- states, scope and permissions

def test_given_a_job_when_decided_in_the_wrong_state_then_conflict_and_nothing_changes(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # validation not run yet: the job is pending
        pending = start_import(actor=world.actor("staff_a"), place=world.community_a,
                               upload=io.BytesIO(sheets.messy_sheet_bytes()), filename="a.xlsx")
    with pytest.raises(Conflict) as exc:
        commit_import(actor=world.actor("staff_a"), job=pending, keep="valid")
    assert exc.value.status == 409 and exc.value.code == "wrong_state"
    job = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes()), "valid")
    entries = AuditEntry.objects.count()
    for keep in ("valid", "nothing"):
        with pytest.raises(Conflict):
            commit_import(actor=world.actor("staff_a"), job=job, keep=keep)
    job.refresh_from_db()
    assert job.status == "done" and AuditEntry.objects.count() == entries
    with pytest.raises(ValidationFailed) as bad:
        commit_import(actor=world.actor("staff_a"), job=job, keep="everything")
    assert [(e.field, e.code) for e in bad.value.errors] == [("keep", "invalid_choice")]


def test_given_staff_a_job_when_staff_b_looks_or_decides_then_not_found(world, django_capture_on_commit_callbacks):
    job = upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes())
    assert access_import_job(world.actor("staff_a"), job.pk).pk == job.pk
    assert access_import_job(world.actor("street_admin"), job.pk).pk == job.pk
    with pytest.raises(NotFound):
        access_import_job(world.actor("staff_b"), job.pk)
    with pytest.raises(NotFound):
        commit_import(actor=world.actor("staff_b"), job=job, keep="valid")
    job.refresh_from_db()
    assert job.status == "validated"


@pytest.mark.parametrize("who, place_attr, error", [
    ("property_a", "estate_a", PermissionDenied),
    ("grid_a", "community_a", PermissionDenied),
    ("resident_a", "estate_a", PermissionDenied),
    ("staff_b", "community_a", NotFound),
    ("sysadmin", "community_a", PermissionDenied),
    ("nobody", "community_a", NotFound),
])
def test_given_a_role_without_import_rights_when_it_uploads_then_refused_and_nothing_stored(world, media, who, place_attr, error):
    before = snapshot()
    with pytest.raises(error):
        start_import(actor=world.actor(who), place=getattr(world, place_attr), upload=io.BytesIO(sheets.messy_sheet_bytes()),
                     filename="a.xlsx")
    assert snapshot() == before and ImportJob.objects.count() == 0 and stored_files(media) == []


def _zip_without_workbook() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


@pytest.mark.parametrize("data, code", [
    (b"", "empty"),
    (b"name,id\n", "not_xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "xls"),
    (_zip_without_workbook(), "not_xlsx"),
    (sheets.sheet_bytes([["x"]], header=["甲", "乙", "丙"]), "no_header"),
    (sheets.sheet_bytes([], header=["楼栋", "单元", "房号", "姓名", "身份证号"]), "missing_columns"),  # 小区 for a community
])
def test_given_a_bad_file_when_uploaded_then_validation_fails_on_file_and_nothing_is_written(world, media, data, code):
    before = snapshot()
    with pytest.raises(ValidationFailed) as exc:
        start_import(actor=world.actor("staff_a"), place=world.community_a, upload=io.BytesIO(data), filename="a.xlsx")
    assert [(e.field, e.code) for e in exc.value.errors] == [("file", code)]
    assert exc.value.errors[0].message_zh and exc.value.errors[0].message_en
    assert snapshot() == before and ImportJob.objects.count() == 0 and stored_files(media) == []


def test_given_a_file_over_the_size_limit_when_uploaded_then_too_large(world, settings, media):
    settings.LINLI_IMPORT_MAX_BYTES = 1000
    with pytest.raises(ValidationFailed) as exc:
        start_import(actor=world.actor("staff_a"), place=world.community_a, upload=io.BytesIO(sheets.messy_sheet_bytes()),
                     filename="a.xlsx")
    assert [(e.field, e.code) for e in exc.value.errors] == [("file", "too_large")]
    assert ImportJob.objects.count() == 0 and stored_files(media) == []


def test_given_an_estate_column_missing_when_importing_into_an_estate_then_it_is_accepted(world, django_capture_on_commit_callbacks):
    header = ["楼栋", "单元", "房号", "姓名", "身份证号"]
    data = sheets.sheet_bytes([["5", "1", "501", "钱多多", sheets.make_id("19990909", 4, male=False)]], header=header)
    job = decide(world, django_capture_on_commit_callbacks,
                 upload(world, django_capture_on_commit_callbacks, data, place=world.estate_a, name="C:\\文档\\五栋.xlsx"), "valid")
    assert (job.status, job.created_count, job.original_name) == ("done", 1, "五栋.xlsx")
    r = Resident.objects.get(name="钱多多")
    assert r.place.parent.parent.name == "5栋" and r.place.parent.parent.parent_id == world.estate_a.pk


# ---------------------------------------------------------------- template

def test_given_the_template_when_filled_in_and_imported_then_rows_round_trip(world, django_capture_on_commit_callbacks):
    wb = load_workbook(io.BytesIO(template_workbook()))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header == ["小区", "楼栋", "单元", "房号", "姓名", "性别", "出生日期", "身份证号", "手机号", "与户主关系", "民族",
                      "特殊人群", "入住日期", "备注"]
    assert ws.column_dimensions["H"].number_format == "@" and ws.column_dimensions["I"].number_format == "@"
    validations = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert validations == {"F2": '"男,女"', "J2": '"业主,户主,家庭成员,租户"'}
    assert wb.sheetnames[1] == "填写说明 Instructions"
    instructions = [c.value for row in wb.worksheets[1].iter_rows() for c in row if c.value]
    assert "独居老人" in instructions and any("ID number" in str(v) for v in instructions)
    person = sheets.make_id("19580101", 8, male=True)
    ws.append(sheets.resident_row(name="钱学文", id_number=person, building="6", entrance="2", dwelling="602",
                                  phone="13612345678", relation="户主", tags="退役军人", sex="男", birth_date="1958-01-01",
                                  ethnicity="汉族", since="2000-01-01", notes="老党员"))
    buf = io.BytesIO()
    wb.save(buf)
    job = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, buf.getvalue()), "valid")
    assert (job.total_rows, job.error_rows, job.created_count) == (1, 0, 1)
    assert imported(job) == [("钱学文", person, "13612345678", "6栋", "2单元", "602", "head", ["veteran"])]
    r = Resident.objects.get(name="钱学文")
    assert (r.sex, r.birth_date, r.ethnicity, r.notes) == ("M", dt.date(1958, 1, 1), "汉族", "老党员")


def test_given_an_excel_sheet_with_ids_as_numbers_when_imported_then_only_exact_ones_are_kept(world, django_capture_on_commit_callbacks):
    """A program can store all 18 digits in a number cell; Excel cannot (15 digits, the rest become 000)."""
    exact = sheets.make_id("19560606", 5, male=True)
    rounded = sheets.make_id("19570707", 6, male=True)
    header = ["小区", "楼栋", "单元", "房号", "姓名", "身份证号", "出生日期"]
    data = sheets.excel_xlsx([["居民信息"], header,
                              ["祥和苑", 7, 1, 701, "甲一", int(exact), dt.date(1956, 6, 6)],
                              ["祥和苑", 7, 1, 702, "乙二", int(rounded[:15] + "000"), dt.date(1957, 7, 7)]])
    job = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, data), "valid")
    assert errors_of(job) == [(4, "身份证号", "stored_as_number")]
    assert imported(job) == [("甲一", exact, "", "7栋", "1单元", "701", "member", [])]


def test_given_an_import_when_rows_are_added_the_ordinary_way_afterwards_then_ids_do_not_collide(world, django_capture_on_commit_callbacks):
    """Imports reserve their ids up front (sequence on PostgreSQL, the top id under the write lock on SQLite)."""
    from linli.core.actor import Actor
    from linli.people.actions import register_resident
    from linli.places.actions import create_place

    job = decide(world, django_capture_on_commit_callbacks, upload(world, django_capture_on_commit_callbacks, sheets.messy_sheet_bytes()), "valid")
    top_resident = Resident.objects.order_by("-pk").values_list("pk", flat=True).first()
    top_place = Place.objects.order_by("-pk").values_list("pk", flat=True).first()
    building = create_place(actor=Actor.system("t"), kind="building", parent=world.estate_a, name="9栋")
    person = register_resident(actor=world.actor("staff_a"), place=world.dwelling_a2, name="后来者",
                               id_number=sheets.make_id("19900909", 9, male=True))
    assert building.pk > top_place and person.pk > top_resident
    assert job.created_count == Resident.objects.filter(source=f"import:{job.pk}").count() == 5


def test_given_a_household_whose_address_cells_are_merged_down_when_imported_then_every_member_lives_there(world, django_capture_on_commit_callbacks):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["楼栋", "单元", "房号", "姓名", "身份证号", "与户主关系"])
    members = [("周大海", sheets.make_id("19600101", 70, male=True), "户主"),
               ("吴小梅", sheets.make_id("19620202", 71, male=False), "妻"),
               ("周小海", sheets.make_id("19900303", 72, male=True), "子")]
    for i, (name, number, relation) in enumerate(members):
        ws.append(["8栋" if i == 0 else None, "1单元" if i == 0 else None, "801" if i == 0 else None, name, number,
                   relation])
    for col in "ABC":
        ws.merge_cells(f"{col}2:{col}5")  # the block reaches one row further than the household: that row is blank
    buf = io.BytesIO()
    wb.save(buf)
    job = decide(world, django_capture_on_commit_callbacks,
                 upload(world, django_capture_on_commit_callbacks, buf.getvalue(), place=world.estate_a), "valid")
    assert (job.total_rows, job.error_rows, job.created_count) == (3, 0, 3)
    assert [(name, dwelling, relation) for name, _, _, _, _, dwelling, relation, _ in imported(job)] == [
        ("周大海", "801", "head"), ("吴小梅", "801", "member"), ("周小海", "801", "member")]
