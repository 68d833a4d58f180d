"""The import and export API: template, upload, progress, row errors, the keep-or-discard decision, export."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from linli.core.models import AuditEntry
from linli.people.models import ImportJob, Resident
from linli.people.tests.sheets import MESSY_ERRORS, MESSY_TOTAL_ROWS, MESSY_VALID_ROWS, messy_sheet_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def upload(world, django_capture_on_commit_callbacks):
    """POST a sheet as a user; the background validation runs when the upload commits."""
    def post(client: Client, content: bytes, place=None, filename: str = "梅园社区居民.xlsx"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/imports", {
                "place_id": str((place or world.community_a).pk),
                "file": SimpleUploadedFile(filename, content, content_type=XLSX),
            })
    return post


def test_given_staff_when_downloading_the_template_then_an_xlsx_with_the_columns(world, as_user):
    response = as_user("staff_a").get("/api/v1/imports/template")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    header = [c.value for c in next(load_workbook(io.BytesIO(response.content)).active.iter_rows(max_row=1))]
    assert {"小区", "楼栋", "单元", "房号", "姓名", "身份证号"} <= {str(v).rstrip("*") for v in header if v}
    assert as_user("grid_a").get("/api/v1/imports/template").status_code == 403


def test_given_a_messy_sheet_when_uploaded_then_the_job_reports_counts_and_each_rejected_row(world, as_user, upload):
    client = as_user("staff_a")
    response = upload(client, messy_sheet_bytes())
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert (job["status"], job["progress"], job["original_name"]) == ("validated", 100, "梅园社区居民.xlsx")
    assert (job["total_rows"], job["valid_rows"], job["error_rows"]) == (
        MESSY_TOTAL_ROWS, MESSY_VALID_ROWS, len(MESSY_ERRORS))
    page = client.get(f"/api/v1/imports/{job['id']}/errors?limit=3&offset=0").json()
    assert page["count"] == len(MESSY_ERRORS)
    assert [(e["row"], e["column"], e["code"]) for e in page["items"]] == MESSY_ERRORS[:3]
    assert all(e["message_zh"] and e["message_en"] for e in page["items"])
    everything = client.get(f"/api/v1/imports/{job['id']}/errors?limit=100").json()["items"]
    assert [(e["row"], e["column"], e["code"]) for e in everything] == MESSY_ERRORS
    assert [j["id"] for j in client.get(f"/api/v1/imports?place={world.community_a.pk}").json()["items"]] == [job["id"]]
    assert not Resident.objects.filter(source__startswith="import").exists()


def test_given_a_validated_job_when_the_valid_rows_are_kept_then_they_become_residents_once(
    world, as_user, upload, django_capture_on_commit_callbacks
):
    client = as_user("staff_a")
    job_id = upload(client, messy_sheet_bytes()).json()["id"]
    before = Resident.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        kept = client.post(f"/api/v1/imports/{job_id}/commit", {"keep": "valid"}, content_type="application/json")
    assert kept.status_code == 200
    assert kept.json()["status"] == "committing"
    done = client.get(f"/api/v1/imports/{job_id}").json()
    assert (done["status"], done["created_count"]) == ("done", MESSY_VALID_ROWS)
    assert Resident.objects.count() == before + MESSY_VALID_ROWS
    again = client.post(f"/api/v1/imports/{job_id}/commit", {"keep": "valid"}, content_type="application/json")
    assert again.status_code == 409
    assert Resident.objects.count() == before + MESSY_VALID_ROWS


def test_given_a_validated_job_when_nothing_is_kept_then_it_is_discarded_and_no_resident_is_written(
    world, as_user, upload
):
    client = as_user("staff_a")
    job_id = upload(client, messy_sheet_bytes()).json()["id"]
    before = Resident.objects.count()
    response = client.post(f"/api/v1/imports/{job_id}/commit", {"keep": "nothing"}, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["progress"]) == ("discarded", 100)
    assert Resident.objects.count() == before
    assert AuditEntry.objects.filter(action="resident.import.discard", target_id=str(job_id)).count() == 1


@pytest.mark.parametrize("body", [{"keep": "some"}, {}])
def test_given_a_decision_that_is_neither_valid_nor_nothing_when_committing_then_422(world, as_user, upload, body):
    client = as_user("staff_a")
    job_id = upload(client, messy_sheet_bytes()).json()["id"]
    response = client.post(f"/api/v1/imports/{job_id}/commit", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "keep"
    assert ImportJob.objects.get(pk=job_id).status == "validated"


def test_given_a_file_that_is_not_a_workbook_when_uploaded_then_422_on_file_and_no_job(world, as_user, upload):
    client = as_user("staff_a")
    before = (ImportJob.objects.count(), AuditEntry.objects.count())
    response = upload(client, b"name,id\n", filename="residents.csv")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert (ImportJob.objects.count(), AuditEntry.objects.count()) == before


def test_given_an_upload_without_a_file_when_posted_then_422_and_no_job(world, as_user):
    response = as_user("staff_a").post("/api/v1/imports", {"place_id": str(world.community_a.pk)})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["file"]
    assert not ImportJob.objects.exists()


def test_given_another_communitys_job_when_opened_listed_or_decided_then_404_and_unchanged(world, as_user, upload):
    job_id = upload(as_user("staff_a"), messy_sheet_bytes()).json()["id"]
    other = as_user("staff_b")
    assert other.get(f"/api/v1/imports/{job_id}").status_code == 404
    assert other.get(f"/api/v1/imports/{job_id}/errors").status_code == 404
    assert other.post(f"/api/v1/imports/{job_id}/commit", {"keep": "nothing"},
                      content_type="application/json").status_code == 404
    assert other.get("/api/v1/imports").json()["count"] == 0
    assert ImportJob.objects.get(pk=job_id).status == "validated"
    refused = upload(other, messy_sheet_bytes(), place=world.community_a)
    assert refused.status_code == 404
    assert ImportJob.objects.count() == 1


def test_given_filters_when_exporting_then_an_xlsx_of_those_residents_masked_for_roles_that_may_not_reveal(
    world, as_user
):
    staff = as_user("staff_b").get(f"/api/v1/residents/export?place={world.community_b.pk}")
    assert staff.status_code == 200
    assert (staff["Content-Type"], staff["X-Row-Count"]) == (XLSX, "1")
    rows = list(load_workbook(io.BytesIO(staff.content)).active.iter_rows(values_only=True))
    assert any("李建国" in row and "42120219850720001X" in row for row in rows)
    entry = AuditEntry.objects.get(action="resident.export")
    assert (entry.actor, entry.after["count"]) == (world.users["staff_b"], 1)
    assert as_user("property_a").get("/api/v1/residents/export").status_code == 403
    assert as_user("staff_b").get(f"/api/v1/residents/export?place={world.community_a.pk}").status_code == 404
