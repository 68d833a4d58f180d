"""Resident pages: the filtered list and its export, a resident's detail with audited reveals and the edit form,
and the spreadsheet import with its progress and rejected rows."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.actor import Actor
from linli.core.errors import Conflict, ValidationFailed
from linli.core.permissions import Perm
from linli.core.web import actor_of, add_domain_errors, in_english, is_htmx, message_of, paginate, staff_view
from linli.places.choices import PlaceKind
from linli.places.models import Place
from linli.places.queries import visible_places

from . import actions
from .choices import ImportStatus
from .forms import ImportForm, ResidentFilterForm, ResidentForm
from .imports import actions as import_actions
from .imports.columns import COLUMNS
from .imports.template import template_workbook
from .models import ImportJob
from .queries import (
    access_import_job,
    access_resident,
    household,
    resident_contacts,
    resident_occupancies,
    search_residents,
    visible_import_jobs,
    with_list_relations,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADDRESS_KINDS = (PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE)
RUNNING = (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.COMMITTING)
ERRORS_SHOWN = 500
COLUMN_EN = {c.zh: c.en for c in COLUMNS}


def addresses(actor: Actor, places: list[Place]) -> dict[int, str]:
    """Each place's address from its estate down ("祥和苑 1栋 1单元 101"), in one query."""
    wanted = {pk for p in places for pk in p.ancestor_ids[:-1]}
    names = dict(visible_places(actor, include_inactive=True).filter(pk__in=wanted, kind__in=ADDRESS_KINDS)
                 .values_list("pk", "name"))
    return {p.pk: " ".join([names[i] for i in p.ancestor_ids[:-1] if i in names] + [p.name]) for p in places}


def _download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_view
def resident_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.RESIDENT_VIEW)
    form = ResidentFilterForm(request.GET or None, actor=actor)
    if form.is_bound:
        form.is_valid()
    page = paginate(request, with_list_relations(search_residents(actor, form.to_filter())))
    rows = list(page.object_list)
    context = {"form": form, "page": page, "rows": rows, "addresses": addresses(actor, [r.place for r in rows]),
               "can_export": actor.has_perm(Perm.RESIDENT_EXPORT)}
    if is_htmx(request) and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "people/_results.html", context)
    return render(request, "people/list.html", context)


@staff_view
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    """The residents matching the list's filters as a sheet, masked by role (the action decides and audits)."""
    actor = actor_of(request)
    actor.require(Perm.RESIDENT_EXPORT)
    form = ResidentFilterForm(request.POST, actor=actor)
    form.is_valid()
    content, _count = import_actions.export_residents(actor=actor, filters=form.to_filter())
    return _download(content, f"residents-{timezone.localdate():%Y%m%d}.xlsx")


@staff_view
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    resident = access_resident(actor, pk)
    occupancies = list(resident_occupancies(resident))
    current_home = next((o.place for o in occupancies if o.until is None), None)
    members = [o for o in household(actor, current_home.pk) if o.resident_id != resident.pk] if current_home else []
    places = [resident.place] + [o.place for o in occupancies]
    return render(request, "people/detail.html", {
        "resident": resident,
        "occupancies": occupancies,
        "members": members,
        "contacts": list(resident_contacts(resident)),
        "addresses": addresses(actor, places),
        "can_reveal": actor.can(Perm.RESIDENT_REVEAL, resident.place_path),
        "can_edit": actor.can(Perm.RESIDENT_EDIT, resident.place_path),
    })


@staff_view
@require_POST
def reveal(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """The full ID number or phone in place of the mask (htmx); every reveal leaves an audit entry."""
    actor = actor_of(request)
    resident = access_resident(actor, pk)
    value = actions.reveal_sensitive(actor=actor, resident=resident, field=field, reason=request.POST.get("reason", ""))
    return render(request, "people/_revealed.html", {"field": field, "value": value})


@staff_view
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    resident = access_resident(actor, pk)
    actor.require(Perm.RESIDENT_EDIT, resident.place_path)
    form = ResidentForm.for_resident(resident, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            # The record and its tags change together or not at all.
            with transaction.atomic():
                actions.update_resident(actor=actor, resident=resident, **form.resident_data())
                actions.set_tags(actor=actor, resident=resident, tags=form.tag_codes())
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("people:detail", pk=resident.pk)
    return render(request, "people/form.html", {"form": form, "resident": resident},
                  status=422 if form.errors else 200)


@staff_view
def import_page(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.RESIDENT_IMPORT)
    form = ImportForm(request.POST or None, request.FILES or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_actions.start_import(actor=actor, place=form.chosen_place(actor), upload=upload,
                                              filename=upload.name)
        except ValidationFailed as exc:
            add_domain_errors(form, exc, {"upload": "file", "filename": "file"})
        else:
            return redirect("people:import_job", pk=job.pk)
    jobs = list(visible_import_jobs(actor).select_related("place", "created_by")[:10])
    return render(request, "people/import.html", {"form": form, "jobs": jobs},
                  status=422 if form.errors else 200)


@staff_view
def import_template(request: HttpRequest) -> HttpResponse:
    actor_of(request).require(Perm.RESIDENT_IMPORT)
    return _download(template_workbook(), "linli-residents-template.xlsx")


def _job_context(job: ImportJob) -> dict[str, Any]:
    errors = list(job.row_errors.all()[:ERRORS_SHOWN]) if job.status == ImportStatus.VALIDATED else []
    english = in_english()
    for e in errors:
        e.column_label = COLUMN_EN.get(e.column, e.column) if english else e.column
    return {"job": job, "running": job.status in RUNNING, "row_errors": errors,
            "errors_hidden": max(0, job.row_errors.count() - ERRORS_SHOWN) if errors else 0}


@staff_view
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = access_import_job(actor_of(request), pk)
    return render(request, "people/job.html", _job_context(job))


@staff_view
def import_job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress, polled every second while it runs; then its rejected rows or its result."""
    job = access_import_job(actor_of(request), pk)
    return render(request, "people/_job_status.html", _job_context(job))


@staff_view
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    job = access_import_job(actor, pk)
    try:
        import_actions.commit_import(actor=actor, job=job, keep=request.POST.get("keep", ""))
    except Conflict as exc:
        messages.error(request, message_of(exc))
    return redirect("people:import_job", pk=job.pk)

