"""Resident pages: list and filters, masked detail, audited reveal, the edit form, import and export, by role."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.core.testing import random_id_number
from linli.people.actions import register_resident
from linli.people.models import ImportJob, Resident, ResidentTag

from . import sheets

pytestmark = pytest.mark.django_db
RA_ID = "421202195003150027"  # 王秀英, community A
RA_PHONE = "13800138000"


def login(client, world, name: str):
    client.force_login(world.users[name])
    return client


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def snapshot() -> dict[str, object]:
    return {
        "residents": sorted(Resident.objects.values_list("pk", "name", "sex", "birth_date", "id_hash", "phone_hash",
                                                         "ethnicity", "notes", "status")),
        "tags": sorted(ResidentTag.objects.values_list("resident_id", "tag_id", "grade", "until")),
        "audit": AuditEntry.objects.count(),
        "jobs": ImportJob.objects.count(),
    }


def names(response) -> list[str]:
    return [r.name for r in response.context["rows"]]


def test_given_community_staff_when_the_list_opens_then_only_their_residents_show_masked(client, world):
    response = login(client, world, "staff_a").get("/people/")

    html = response.content.decode()
    assert names(response) == ["王秀英"]
    assert "421202********0027" in html and "138****8000" in html
    assert RA_ID not in html and RA_PHONE not in html
    assert "祥和苑 1栋 1单元 101" in html


@pytest.fixture
def neighbours(world):
    system = Actor.system("test")
    old = register_resident(actor=system, place=world.dwelling_a2, name="刘桂兰", relation="head", tags=["aged_80"],
                            id_number=random_id_number(birth="19400101", seq=3, male=False))
    child = register_resident(actor=system, place=world.dwelling_a2, name="刘小宝", relation="member",
                              id_number=random_id_number(birth="20150601", seq=4), phone="13700001111")
    return old, child


@pytest.mark.parametrize(("query", "expected"), [
    ({"tag": "elderly"}, ["刘桂兰", "王秀英"]),  # a parent tag includes its children (独居老人, 高龄老人)
    ({"tag": "aged_80"}, ["刘桂兰"]),
    ({"age_max": "17"}, ["刘小宝"]),
    ({"age_min": "60", "age_max": "80"}, ["王秀英"]),
    ({"q": "刘"}, ["刘小宝", "刘桂兰"]),
    ({"q": RA_ID}, ["王秀英"]),
    ({"q": "137 0000 1111"}, ["刘小宝"]),
    ({"q": "421202"}, []),  # a fragment of an ID number finds nobody
    ({"sex": "M"}, ["刘小宝"]),
])
def test_given_filters_when_the_list_opens_then_exactly_the_matching_residents_show(client, world, neighbours, query,
                                                                                   expected):
    response = login(client, world, "staff_a").get("/people/", query)

    assert sorted(names(response)) == sorted(expected)


def test_given_a_place_filter_when_the_list_opens_then_residents_below_that_place_show(client, world, neighbours):
    response = login(client, world, "street_admin").get("/people/", {"place": world.community_b.pk})

    assert names(response) == ["李建国"]


def test_given_a_place_of_another_community_when_filtering_then_the_choice_is_refused(client, world):
    response = login(client, world, "staff_a").get("/people/", {"place": world.community_b.pk})

    assert names(response) == ["王秀英"]
    assert list(response.context["form"].errors) == ["place"]


def test_given_an_htmx_request_when_the_list_refreshes_then_only_the_results_fragment_comes(client, world):
    response = login(client, world, "staff_a").get("/people/", {"q": "王"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="resident-results"')
    assert "<html" not in html and "王秀英" in html


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/people/").status_code == 200
    return len(ctx.captured_queries)


def test_given_more_residents_when_the_list_opens_then_the_query_count_stays_the_same(client, world):
    login(client, world, "staff_a")
    few = _list_queries(client)
    system = Actor.system("test")
    for seq in range(12):
        register_resident(actor=system, place=world.dwelling_a2, name=f"居民{'甲乙丙丁戊己庚辛壬癸子丑'[seq]}",
                          relation="member", tags=["party_member", "veteran"],
                          id_number=random_id_number(birth="19700101", seq=seq))

    assert _list_queries(client) == few


def test_given_many_residents_when_the_list_opens_then_it_is_paginated(client, world):
    system = Actor.system("test")
    for seq in range(31):
        register_resident(actor=system, place=world.dwelling_a2, name="张某", relation="member",
                          id_number=random_id_number(birth="19700101", seq=seq))

    response = login(client, world, "staff_a").get("/people/", {"page": "2"})

    assert response.context["page"].paginator.count == 32
    assert len(response.context["rows"]) == 2


@pytest.mark.parametrize("name", ["committee_a", "nobody"])
def test_given_a_role_without_resident_rights_when_the_list_opens_then_it_is_forbidden(client, world, name):
    assert login(client, world, name).get("/people/").status_code == 403


def test_given_community_staff_when_a_resident_opens_then_fields_are_masked_with_show_buttons(client, world):
    html = login(client, world, "staff_a").get(f"/people/{world.resident_a.pk}/").content.decode()

    assert "421202********0027" in html and RA_ID not in html and RA_PHONE not in html
    assert f'hx-post="/people/{world.resident_a.pk}/reveal/id_number/"' in html
    assert f'hx-post="/people/{world.resident_a.pk}/reveal/phone/"' in html
    assert "独居老人" in html


@pytest.mark.parametrize("url", ["/people/{pk}/", "/people/{pk}/edit/"])
def test_given_staff_of_community_b_when_a_resident_of_a_is_opened_then_404(client, world, url):
    assert login(client, world, "staff_b").get(url.format(pk=world.resident_a.pk)).status_code == 404


def test_given_staff_of_community_b_when_revealing_a_resident_of_a_then_404_and_no_audit_entry(client, world):
    before = AuditEntry.objects.count()

    response = login(client, world, "staff_b").post(f"/people/{world.resident_a.pk}/reveal/id_number/")

    assert response.status_code == 404
    assert AuditEntry.objects.count() == before


def test_given_community_staff_when_revealing_the_id_number_then_the_full_value_comes_and_is_audited(client, world):
    response = login(client, world, "staff_a").post(f"/people/{world.resident_a.pk}/reveal/id_number/",
                                                    HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert f'data-revealed="id_number">{RA_ID}</span>' in response.content.decode()
    entry = AuditEntry.objects.get(action="resident.reveal.id_number")
    assert (entry.actor, entry.target_id, entry.via, entry.ip) == (world.users["staff_a"], str(world.resident_a.pk),
                                                                    "web", "127.0.0.1")


def test_given_property_staff_when_a_resident_opens_then_there_is_no_show_button_and_reveal_is_forbidden(client, world):
    login(client, world, "property_a")
    html = client.get(f"/people/{world.resident_a.pk}/").content.decode()
    before = AuditEntry.objects.count()

    response = client.post(f"/people/{world.resident_a.pk}/reveal/phone/")

    assert "/reveal/" not in html
    assert response.status_code == 403
    assert AuditEntry.objects.count() == before


def test_given_a_get_when_revealing_then_it_is_refused_without_audit(client, world):
    before = AuditEntry.objects.count()

    response = login(client, world, "staff_a").get(f"/people/{world.resident_a.pk}/reveal/id_number/")

    assert response.status_code == 405
    assert AuditEntry.objects.count() == before


def test_given_an_unknown_field_when_revealing_then_it_is_refused_without_audit(client, world):
    before = AuditEntry.objects.count()

    response = login(client, world, "staff_a").post(f"/people/{world.resident_a.pk}/reveal/notes/")

    assert response.status_code == 422
    assert AuditEntry.objects.count() == before


def _edit_data(**changes: str) -> dict:
    data = {"name": "王秀英", "sex": "F", "birth_date": "1950-03-15", "id_number": "", "phone": "", "ethnicity": "汉族",
            "status": "active", "has_smartphone": "on", "tags": ["elderly_alone"], "disability_grade": "", "notes": ""}
    data.update(changes)
    return data


def test_given_the_edit_form_when_it_opens_then_it_holds_no_full_id_number_or_phone(client, world):
    html = login(client, world, "staff_a").get(f"/people/{world.resident_a.pk}/edit/").content.decode()

    assert RA_ID not in html and RA_PHONE not in html
    assert 'placeholder="421202********0027"' in html


def test_given_valid_changes_when_editing_then_the_record_and_its_tags_change(client, world):
    response = login(client, world, "staff_a").post(
        f"/people/{world.resident_a.pk}/edit/",
        _edit_data(ethnicity="回族", phone="13911112222", tags=["elderly_alone", "disabled"], disability_grade="2"))

    resident = Resident.objects.get(pk=world.resident_a.pk)
    assert response.status_code == 302
    assert (resident.ethnicity, resident.phone, resident.id_number) == ("回族", "13911112222", RA_ID)
    assert sorted(resident.tags.filter(until__isnull=True).values_list("tag__code", "grade")) == [
        ("disabled", 2), ("elderly_alone", None)]
    assert set(AuditEntry.objects.filter(target_id=str(resident.pk), actor=world.users["staff_a"])
               .values_list("action", flat=True)) == {"resident.update", "resident.tags"}


@pytest.mark.parametrize(("changes", "errors"), [
    ({"id_number": "421202195003150028"}, {"id_number": ["身份证号校验位不正确（可能录错一位）"]}),
    ({"name": "", "phone": "12345"}, {"name": ["姓名不能为空"], "phone": ["手机号应为1开头的11位数字"]}),
    ({"birth_date": "1951-03-15"}, {"birth_date": ["出生日期与身份证号不符（身份证为1950-03-15）"]}),
    ({"tags": ["disabled"], "disability_grade": "", "name": "王 3"}, {"name": ["姓名不能含数字或特殊符号"]}),
])
def test_given_bad_input_when_editing_then_the_fields_say_why_and_nothing_is_written(client, world, changes, errors):
    before = snapshot()

    response = login(client, world, "staff_a").post(f"/people/{world.resident_a.pk}/edit/", _edit_data(**changes))

    assert response.status_code == 422
    assert response.context["form"].errors == errors
    assert snapshot() == before


def test_given_a_grid_worker_in_english_when_an_edit_is_refused_then_the_error_is_in_english(client, world):
    client.cookies["django_language"] = "en"
    response = login(client, world, "grid_a").post(f"/people/{world.resident_a.pk}/edit/", _edit_data(phone="12"))

    assert response.context["form"].errors == {"phone": ["a mobile number has 11 digits and starts with 1"]}


def test_given_property_staff_when_the_edit_form_opens_then_it_is_forbidden(client, world):
    assert login(client, world, "property_a").get(f"/people/{world.resident_a.pk}/edit/").status_code == 403


def test_given_staff_when_the_template_is_downloaded_then_it_is_the_residents_workbook(client, world):
    response = login(client, world, "staff_a").get("/people/import/template.xlsx")

    workbook = load_workbook(io.BytesIO(response.content))
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert [c.value for c in workbook.worksheets[0][1]][:5] == ["小区", "楼栋", "单元", "房号", "姓名"]


def test_given_property_staff_when_the_import_page_opens_then_it_is_forbidden(client, world):
    assert login(client, world, "property_a").get("/people/import/").status_code == 403


def test_given_community_staff_when_the_import_page_opens_then_only_their_places_are_offered(client, world):
    response = login(client, world, "staff_a").get("/people/import/")

    assert [label.strip("\u3000") for _, label in response.context["form"].fields["place"].choices] == ["梅园社区", "祥和苑"]


def _upload(client, data: bytes, place, capture, name: str = "居民.xlsx"):
    """Post a sheet to the import page; the validation queued on commit runs inline."""
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    with capture(execute=True):
        return client.post("/people/import/", {"place": place.pk, "file": upload})


def test_given_the_messy_sheet_when_imported_and_valid_rows_kept_then_the_job_shows_errors_then_counts(
        client, world, django_capture_on_commit_callbacks):
    login(client, world, "staff_a")

    response = _upload(client, sheets.messy_sheet_bytes(), world.community_a, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/people/import/{job.pk}/"
    page = client.get(f"/people/import/{job.pk}/")
    shown = [(e.row, e.column, e.code) for e in page.context["row_errors"]]
    assert shown == sheets.MESSY_ERRORS
    html = page.content.decode()
    assert 'data-status="validated"' in html and "hx-trigger" not in html
    assert f'<dd data-counter="valid">{sheets.MESSY_VALID_ROWS}</dd>' in html

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/people/import/{job.pk}/commit/", {"keep": "valid"})

    status = client.get(f"/people/import/{job.pk}/status/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="done"' in status and "hx-trigger" not in status
    assert f'<dd data-counter="created">{sheets.MESSY_VALID_ROWS}</dd>' in status


def test_given_english_when_a_job_shows_its_rejected_rows_then_columns_and_reasons_are_in_english(
        client, world, django_capture_on_commit_callbacks):
    login(client, world, "staff_a")
    _upload(client, sheets.messy_sheet_bytes(), world.community_a, django_capture_on_commit_callbacks)
    client.cookies["django_language"] = "en"

    html = client.get(f"/people/import/{ImportJob.objects.get().pk}/").content.decode()

    assert "<td data-label=\"Column\">ID number</td>" in html
    assert "the ID number&#x27;s check digit is wrong (a digit was mistyped)" in html


def test_given_a_running_job_when_its_status_is_polled_then_the_fragment_keeps_polling(client, world):
    job = ImportJob.objects.create(place=world.community_a, place_path=world.community_a.path, file="x.xlsx",
                                   original_name="x.xlsx", status="validating", total_rows=200, processed_rows=50)

    html = login(client, world, "staff_a").get(f"/people/import/{job.pk}/status/").content.decode()

    assert f'hx-get="/people/import/{job.pk}/status/" hx-trigger="every 1s"' in html
    assert 'aria-valuenow="25"' in html


def test_given_keep_nothing_when_deciding_then_the_job_is_discarded_and_no_resident_is_added(
        client, world, django_capture_on_commit_callbacks):
    login(client, world, "staff_a")
    _upload(client, sheets.messy_sheet_bytes(), world.community_a, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    residents = Resident.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/people/import/{job.pk}/commit/", {"keep": "nothing"})

    assert 'data-status="discarded"' in client.get(f"/people/import/{job.pk}/").content.decode()
    assert Resident.objects.count() == residents


def test_given_a_file_that_is_not_a_workbook_when_uploaded_then_the_form_says_so_and_no_job_is_made(
        client, world, django_capture_on_commit_callbacks):
    before = snapshot()
    login(client, world, "staff_a")

    response = _upload(client, b"name,id\n", world.community_a, django_capture_on_commit_callbacks, name="a.csv")

    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["file"]
    assert snapshot() == before


def test_given_staff_of_community_b_when_a_job_of_a_is_opened_or_decided_then_404(
        client, world, django_capture_on_commit_callbacks):
    login(client, world, "staff_a")
    _upload(client, sheets.messy_sheet_bytes(), world.community_a, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()

    login(client, world, "staff_b")
    assert client.get(f"/people/import/{job.pk}/").status_code == 404
    assert client.post(f"/people/import/{job.pk}/commit/", {"keep": "valid"}).status_code == 404
    job.refresh_from_db()
    assert job.status == "validated"


def test_given_filters_when_exporting_then_the_matching_residents_come_as_a_workbook_and_it_is_audited(client, world):
    response = login(client, world, "staff_a").post("/people/export/", {"tag": "elderly_alone"})

    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row]
    assert response["Content-Disposition"].startswith('attachment; filename="residents-')
    assert "王秀英" in values and "李建国" not in values
    assert AuditEntry.objects.filter(action="resident.export", actor=world.users["staff_a"]).count() == 1


def test_given_property_staff_when_exporting_then_it_is_forbidden(client, world):
    assert login(client, world, "property_a").post("/people/export/", {}).status_code == 403
