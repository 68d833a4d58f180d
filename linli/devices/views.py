"""Device console: the device list and a device's page (re-key, enable, retire), registration and the xlsx import
(each showing the new secrets once), the quarantine list with reprocessing, and the passage search."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.core.errors import Conflict, ValidationFailed
from linli.core.permissions import Perm
from linli.core.web import actor_of, add_domain_errors, in_english, is_htmx, localized, message_of, paginate, staff_view
from linli.places.choices import PlaceKind
from linli.places.models import Place

from . import actions, queries
from .forms import DeviceFilterForm, DeviceForm, ImportForm, PassageFilterForm, QuarantineFilterForm
from .imports import BY_FIELD, import_devices, template_workbook
from .media import media_links
from .models import Device

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LABEL_KINDS = (PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.DWELLING)
RECENT_EVENTS = 20
INGEST_PATHS = {"generic": "generic", "other": "generic", "hikvision": "hikvision", "dahua": "dahua"}


def place_labels(places: Iterable[Place]) -> dict[int, str]:
    """"祥和苑 1栋 1单元" for each place (from the estate down, or the place's own name), in one query."""
    places = list(places)
    ids = {pk for p in places for pk in p.ancestor_ids}
    names = dict(Place.objects.filter(pk__in=ids, kind__in=LABEL_KINDS).values_list("pk", "name"))
    return {p.pk: " ".join(names[pk] for pk in p.ancestor_ids if pk in names) or p.name for p in places}


def _secret_page(request: HttpRequest, devices: list[tuple[Device, str]], title: str) -> HttpResponse:
    """The only time a secret is shown: never stored, never in a redirect or a session."""
    rows = [{"device": d, "secret": s, "ingest_path": INGEST_PATHS.get(d.vendor)} for d, s in devices]
    response = render(request, "devices/secrets.html", {"rows": rows, "title": title})
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- devices

@staff_view
def device_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.DEVICE_VIEW)
    form = DeviceFilterForm(request.GET or None, actor=actor)
    if form.is_bound:
        form.is_valid()
    page = paginate(request, queries.search_devices(actor, form.to_filter()))
    rows = list(page.object_list)
    context = {"form": form, "page": page, "rows": rows, "labels": place_labels(d.place for d in rows),
               "can_manage": actor.has_perm(Perm.DEVICE_MANAGE)}
    if is_htmx(request) and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "devices/_device_results.html", context)
    return render(request, "devices/device_list.html", context)


@staff_view
def device_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.DEVICE_MANAGE)
    form = DeviceForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            device, secret = actions.register_device(actor=actor, place=form.chosen_place(),
                                                     wearer=form.cleaned_data["wearer_id_number"],
                                                     gateway=form.chosen_gateway(), **form.device_data())
        except ValidationFailed as exc:
            add_domain_errors(form, exc, {"wearer": "wearer_id_number"})
        except Conflict as exc:
            form.add_error("serial", message_of(exc))
        else:
            return _secret_page(request, [(device, secret)], _("设备已登记"))
    return render(request, "devices/device_form.html", {"form": form}, status=422 if form.errors else 200)


@staff_view
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    device = queries.with_wearer_names(actor, [queries.access_device(actor, pk)])[0]
    can_read_events = actor.can(Perm.PASSAGE_VIEW, device.place_path)
    events = []
    if can_read_events:
        events = list(queries.with_event_relations(
            queries.visible_events(actor).filter(device=device).order_by("-occurred_at", "-id"))[:RECENT_EVENTS])
    return render(request, "devices/device_detail.html", {
        "device": device, "label": place_labels([device.place])[device.place_id], "events": events,
        "can_read_events": can_read_events, "can_manage": actor.can(Perm.DEVICE_MANAGE, device.place_path),
        "ingest_path": INGEST_PATHS.get(device.vendor),
    })


@staff_view
@require_POST
def device_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    device, secret = actions.rotate_device_secret(actor=actor, device=queries.access_device(actor, pk))
    return _secret_page(request, [(device, secret)], _("已更换密钥"))


@staff_view
@require_POST
def device_enable(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    device = queries.access_device(actor, pk)
    actions.update_device(actor=actor, device=device, enabled=request.POST.get("enabled") == "1")
    messages.success(request, _("已保存"))
    return redirect("devices:detail", pk=pk)


@staff_view
@require_POST
def device_retire(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        actions.retire_device(actor=actor, device=queries.access_device(actor, pk))
    except Conflict as exc:
        messages.error(request, message_of(exc))
    else:
        messages.success(request, _("设备已停用"))
    return redirect("devices:detail", pk=pk)


@staff_view
def device_import(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.DEVICE_MANAGE)
    form = ImportForm(request.POST or None, request.FILES or None, actor=actor)
    row_errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            created = import_devices(actor=actor, place=form.chosen_place(), data=form.cleaned_data["file"].read())
        except ValidationFailed as exc:
            for error in exc.errors:
                if error.field.startswith("rows."):
                    row_errors.append(_row_error(error.field, error.code, message_of(error)))
                else:
                    form.add_error("file", message_of(error))
        except Conflict as exc:
            form.add_error("file", message_of(exc))
        else:
            return _secret_page(request, created, _("设备已导入"))
    failed = bool(form.errors or row_errors)
    return render(request, "devices/import.html", {"form": form, "row_errors": row_errors},
                  status=422 if failed else 200)


def _row_error(field: str, code: str, message: str) -> dict[str, Any]:
    """"rows.12.serial" -> row 12, the column's header in the active language."""
    _rows, row, name = field.split(".", 2)
    column = BY_FIELD[name]
    return {"row": int(row), "column": column.en if in_english() else column.zh, "code": code, "message": message}


@staff_view
def import_template(request: HttpRequest) -> HttpResponse:
    actor_of(request).require(Perm.DEVICE_MANAGE)
    response = HttpResponse(template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="linli-devices-template.xlsx"'
    return response


# ---------------------------------------------------------------- quarantine

@staff_view
def quarantine_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.DEVICE_VIEW)
    form = QuarantineFilterForm(request.GET or None, actor=actor)
    if form.is_bound:
        form.is_valid()
    page = paginate(request, queries.search_quarantine(actor, form.to_filter()))
    return render(request, "devices/quarantine_list.html", {"form": form, "page": page, "rows": list(page.object_list)})


@staff_view
def quarantine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    item = queries.access_quarantined(actor, pk)
    visible = queries.payload_visible(actor, item)
    return render(request, "devices/quarantine_detail.html", {
        "item": item, "payload_visible": visible,
        "payload_text": bytes(item.payload[:64 * 1024]).decode("utf-8", "replace") if visible else "",
        "can_reprocess": item.reprocessable and actor.can(Perm.DEVICE_MANAGE, item.place_path),
    })


@staff_view
@require_POST
def quarantine_reprocess(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    try:
        item = actions.reprocess_quarantined(actor=actor, item=queries.access_quarantined(actor, pk))
    except Conflict as exc:
        messages.error(request, message_of(exc))
    else:
        if item.status == "reprocessed":
            messages.success(request, _("已重新处理，存入 %(n)d 条事件") % {"n": item.events_stored})
        else:
            messages.error(request, _("仍无法解析：%(reason)s") % {"reason": localized(item.message_zh, item.message_en)})
    return redirect("devices:quarantine_detail", pk=pk)


# ---------------------------------------------------------------- passages and pictures

@staff_view
def passage_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PASSAGE_VIEW)
    form = PassageFilterForm(request.GET or None, actor=actor)
    if form.is_bound:
        form.is_valid()
    page = paginate(request, queries.with_event_relations(queries.search_passages(actor, form.to_filter())))
    rows = list(page.object_list)
    for row in rows:
        row.pictures = media_links(row)
    context = {"form": form, "page": page, "rows": rows, "labels": place_labels(r.device.place for r in rows)}
    if is_htmx(request) and not request.headers.get("HX-History-Restore-Request"):
        return render(request, "devices/_passage_results.html", context)
    return render(request, "devices/passage_list.html", context)


@staff_view
def event_media(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    """A picture of an event (or its thumbnail with ?thumb=1), for those who may read the event."""
    event = queries.access_event(actor_of(request), pk)
    refs = event.media or []
    if index >= len(refs):
        raise Http404(_("没有这张图片"))
    name = refs[index].get("thumb") if request.GET.get("thumb") else refs[index].get("file")
    if not name or not default_storage.exists(name):
        raise Http404(_("没有这张图片"))
    response = FileResponse(default_storage.open(name, "rb"), content_type=mimetypes.guess_type(name)[0] or
                            "application/octet-stream")
    response["Cache-Control"] = "private, max-age=3600"
    return response

