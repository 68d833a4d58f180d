"""Ticket pages: a resident's own tickets (phone-sized first), the staff pool of their area, one ticket with its
history and the steps this user may take, a new ticket (their own, or entered by staff for a caller), and the
KPI table. Every write is an action of linli.tickets.actions; every read a scoped query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.actor import Actor
from linli.core.errors import Conflict, DomainError, FieldError, ValidationFailed
from linli.core.permissions import Perm
from linli.core.web import actor_of, message_of, paginate, staff_view

from . import actions, kpis, queries
from .actions.base import parties_of
from .choices import PhotoStage, TicketStatus
from .forms import KpiForm, PhotoForm, RatingForm, TicketFilterForm, TicketForm
from .models import Ticket
from .transitions import Action, Party

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTION_LABELS = {
    Action.ACCEPT: gettext_lazy("受理"), Action.REJECT: gettext_lazy("不予受理"), Action.WITHDRAW: gettext_lazy("撤回"),
    Action.ASSIGN: gettext_lazy("派单"), Action.GRAB: gettext_lazy("抢单"), Action.DISPATCH: gettext_lazy("轮派"),
    Action.REASSIGN: gettext_lazy("改派"), Action.TRANSFER: gettext_lazy("转办"), Action.START: gettext_lazy("开始处理"),
    Action.PAUSE: gettext_lazy("挂起"), Action.RESUME: gettext_lazy("恢复处理"), Action.RESOLVE: gettext_lazy("办结"),
    Action.CONFIRM: gettext_lazy("确认办结"), Action.AUTO_CLOSE: gettext_lazy("自动关闭"),
    Action.REOPEN: gettext_lazy("重新打开"), "submit": gettext_lazy("提交"), "comment": gettext_lazy("留言"),
    "photo": gettext_lazy("上传照片"), "rate": gettext_lazy("评价"),
}
# The form fields each step reads (a missing one is left to the action to refuse); "photos" are files.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    Action.REJECT: ("reason",), Action.WITHDRAW: ("reason",), Action.ASSIGN: ("assignee_id",),
    Action.REASSIGN: ("assignee_id", "reason"), Action.TRANSFER: ("organisation_id", "reason"),
    Action.PAUSE: ("reason",), Action.RESOLVE: ("note", "photos"), Action.REOPEN: ("reason",),
}
STEPS: dict[str, Callable[..., Ticket]] = {
    Action.ACCEPT: actions.accept_ticket, Action.REJECT: actions.reject_ticket, Action.WITHDRAW: actions.withdraw_ticket,
    Action.ASSIGN: actions.assign_ticket, Action.GRAB: actions.grab_ticket, Action.DISPATCH: actions.dispatch_ticket,
    Action.REASSIGN: actions.reassign_ticket, Action.TRANSFER: actions.transfer_ticket,
    Action.START: actions.start_ticket, Action.PAUSE: actions.pause_ticket, Action.RESUME: actions.resume_ticket,
    Action.RESOLVE: actions.resolve_ticket, Action.CONFIRM: actions.confirm_ticket, Action.REOPEN: actions.reopen_ticket,
}


def is_staff(actor: Actor) -> bool:
    return actor.has_perm(Perm.TICKET_VIEW)


@staff_view
def ticket_list(request: HttpRequest) -> HttpResponse:
    """A resident's own tickets, or the pool of the staff member's area, newest first, with filters."""
    actor = actor_of(request)
    actor.require(Perm.TICKET_SUBMIT)
    form = TicketFilterForm(request.GET or None, actor=actor)
    pool = queries.search_tickets(actor, form.to_filter())
    page = paginate(request, queries.with_row_relations(pool))
    # the count stops past its cap (TicketPool.count_cap): the page then says "more than 10,000"
    capped = pool.count_cap if page.paginator.count > pool.count_cap else None
    return render(request, "tickets/list.html", {"form": form, "page": page, "rows": list(page.object_list),
                                                 "staff": is_staff(actor), "capped": capped})


def _uploads(files: list) -> list[actions.Upload]:
    """The uploaded files, read one byte past the limit so that the photo check sees a file too big as such."""
    limit = settings.LINLI_TICKET_PHOTO_MAX_BYTES + 1
    return [actions.Upload(name=f.name or "photo", data=f.read(limit)) for f in files]


def _form_errors(form: Any, exc: ValidationFailed) -> None:
    for error in exc.errors:
        name = error.field.split("[")[0]
        form.add_error(name if name in form.fields else None, message_of(error))


@staff_view
def ticket_new(request: HttpRequest) -> HttpResponse:
    """报事: a resident for themselves (their dwelling or a public spot of their estate), or staff for a resident
    who phoned, walked in or wrote on the message board (the channel is recorded)."""
    actor = actor_of(request)
    actor.require(Perm.TICKET_SUBMIT)
    staff = is_staff(actor)
    post = request.method == "POST"
    form = TicketForm(request.POST if post else None, request.FILES if post else None, actor=actor, for_staff=staff)
    if post and form.is_valid():
        data = form.cleaned_data
        # A facility chosen on the map: the ticket is at the facility's place, at its point, and named after it.
        facility = form.facility
        spot = {"longitude": facility.longitude, "latitude": facility.latitude,
                "title": f"{facility.name} · {data['description'].strip()[:30]}"} if facility else {}
        try:
            ticket = actions.submit_ticket(
                actor=actor, kind=data["kind"], category=queries.access_category(actor, data["category_id"]),
                place=queries.access_ticket_place(actor, data["place_id"]), description=data["description"],
                preferred_from=data["preferred_from"], preferred_until=data["preferred_until"],
                channel=data.get("channel"), reporter_name=data.get("reporter_name", ""),
                photos=_uploads(data["photos"]), **spot)
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("工单已提交：%(number)s") % {"number": ticket.number})
            return redirect("tickets:detail", pk=ticket.pk)
    picker = form.picker
    return render(request, "tickets/new.html", {
        "form": form, "staff": staff, "picker": picker, "map_data": picker.map if picker else None,
    }, status=422 if form.errors else 200)


def _detail_context(actor: Actor, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    allowed = actions.allowed_actions(actor, ticket)
    mine = parties_of(actor, ticket)
    rating = getattr(ticket, "rating", None)  # the reverse one-to-one raises an AttributeError when absent
    can_rate = Party.REPORTER in mine and ticket.status == TicketStatus.CLOSED and rating is None
    members = list(queries.active_members(ticket.organisation).order_by("user__username")) if (
        {Action.ASSIGN, Action.REASSIGN} & set(allowed)) else []
    organisations = [o for o in queries.visible_organisations(actor).filter(active=True)
                     if ticket.place_path.startswith(o.place_path) and o.pk != ticket.organisation_id
                     ] if Action.TRANSFER in allowed else []
    photo_base = reverse("api:get_photo", args=[ticket.pk, 0]).rsplit("/0", 1)[0]
    photos = [{"photo": p, "url": f"{photo_base}/{p.pk}", "thumb": f"{photo_base}/{p.pk}?thumbnail=true"}
              for p in ticket.photos.all()]
    return {
        "ticket": ticket, "events": list(ticket.events.all()), "rating": rating, "photos": photos,
        "photo_groups": [{"stage": stage, "label": label, "photos": [p for p in photos if p["photo"].stage == stage]}
                         for stage, label in PhotoStage.choices if any(p["photo"].stage == stage for p in photos)],
        "photo_form": extra.pop("photo_form", None) or _photo_form(actor, ticket),
        "steps": [{"action": a, "label": ACTION_LABELS.get(a, a), "fields": STEP_FIELDS.get(a, ())} for a in allowed],
        "labels": ACTION_LABELS, "members": members, "organisations": organisations, "staff": is_staff(actor),
        "rating_form": extra.pop("rating_form", None) or (RatingForm() if can_rate else None),
        "failed": "", "step_errors": {}, "step_error": "", "values": {}, **extra,
    }


@staff_view
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    ticket = queries.ticket_detail(actor, pk)
    return render(request, "tickets/detail.html", _detail_context(actor, ticket))


def _step_arguments(actor: Actor, action: str, post: Any, files: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in STEP_FIELDS.get(action, ()):
        if name == "photos":
            out[name] = _uploads(files.getlist("photos"))
            continue
        value = (post.get(name) or "").strip()
        if name == "assignee_id":
            out[name] = int(value) if value.isdigit() else None
        elif name == "organisation_id":
            out["organisation"] = _organisation(actor, value)
        else:
            out[name] = value
    return out


def _organisation(actor: Actor, value: str) -> Any:
    if not value.isdigit():
        raise ValidationFailed(FieldError("organisation_id", "required", "请选择机构", "choose an organisation"))
    return queries.access_organisation(actor, value)


@staff_view
@require_POST
def ticket_step(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step of the status table; a refused step shows why (in the active language) and writes nothing."""
    actor = actor_of(request)
    ticket = queries.access_ticket(actor, pk)
    if action not in STEPS:
        raise Conflict("没有这一步操作", f"there is no step {action!r}", code="unknown_step")
    try:
        actions.check_step(actor, ticket, action)
        STEPS[action](actor=actor, ticket=ticket, **_step_arguments(actor, action, request.POST, request.FILES))
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, actor, pk, exc, failed=action)
    messages.success(request, _("已%(action)s") % {"action": ACTION_LABELS.get(action, action)})
    return redirect("tickets:detail", pk=pk)


def _refused(request: HttpRequest, actor: Actor, pk: int, exc: DomainError, **extra: Any) -> HttpResponse:
    ticket = queries.ticket_detail(actor, pk)
    errors = {e.field.split("[")[0]: message_of(e) for e in exc.errors}
    context = _detail_context(actor, ticket, step_errors=errors, step_error=message_of(exc),
                              values=request.POST, **extra)
    return render(request, "tickets/detail.html", context, status=exc.status)


def _photo_form(actor: Actor, ticket: Ticket) -> PhotoForm | None:
    """The photo upload of the detail page, for the stages this actor may add photos to now (none: no form). The
    resolving assignee attaches photos to the resolve step itself; this form is for photos before or besides."""
    stages = actions.photo_stages(actor, ticket)
    if not stages:
        return None
    return PhotoForm(stages=stages)


@staff_view
@require_POST
def ticket_photos(request: HttpRequest, pk: int) -> HttpResponse:
    """Photos of the report or of the work (staff on site, the assignee), checked and cleaned like the API's."""
    actor = actor_of(request)
    ticket = queries.access_ticket(actor, pk)
    form = PhotoForm(request.POST, request.FILES, stages=actions.photo_stages(actor, ticket) or list(PhotoStage.values))
    if not form.is_valid():
        detail = queries.ticket_detail(actor, pk)
        return render(request, "tickets/detail.html", _detail_context(actor, detail, photo_form=form), status=422)
    try:
        rows = actions.add_photos(actor=actor, ticket=ticket, stage=form.cleaned_data["stage"],
                                  photos=_uploads(form.cleaned_data["photos"]))
    except (ValidationFailed, Conflict) as exc:
        _form_errors(form, exc)
        return _refused(request, actor, pk, exc, photo_form=form, failed="photos")
    messages.success(request, _("已上传%(count)s张照片") % {"count": len(rows)})
    return redirect("tickets:detail", pk=pk)


@staff_view
@require_POST
def ticket_rate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    ticket = queries.access_ticket(actor, pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        detail = queries.ticket_detail(actor, pk)
        return render(request, "tickets/detail.html", _detail_context(actor, detail, rating_form=form), status=422)
    try:
        actions.rate_ticket(actor=actor, ticket=ticket, **form.cleaned_data)
    except (ValidationFailed, Conflict) as exc:
        _form_errors(form, exc)
        return _refused(request, actor, pk, exc, rating_form=form, failed="rate")
    messages.success(request, _("感谢您的评价"))
    return redirect("tickets:detail", pk=pk)


KPI_RATES = [("on_time_rate", gettext_lazy("及时率")), ("handling_rate", gettext_lazy("办结率")),
             ("complaint_handling_rate", gettext_lazy("投诉办结率")), ("satisfaction_rate", gettext_lazy("满意率")),
             ("reopen_rate", gettext_lazy("重新打开率"))]


def _kpi_table(request: HttpRequest, *, trend: bool = False) -> tuple[KpiForm, kpis.KpiTable]:
    """The form and its KPI table; with ``trend``, the chart's trend computed in the same pass."""
    from .kpi_charts import trend_unit

    actor = actor_of(request)
    actor.require(Perm.TICKET_KPI)
    form = KpiForm(request.GET or None, actor=actor)
    filters, group = form.to_filter()
    unit = trend_unit(*kpis.period(filters)) if trend else None
    return form, kpis.kpi_table(actor, filters, group, trend=unit)


def _percent(value: float | None, target: float | None) -> dict[str, Any]:
    """A rate as "95.0%", and whether it misses its target (for the red mark)."""
    return {"text": "—" if value is None else f"{value:.1%}",
            "missed": value is not None and target is not None and value < target}


@staff_view
def kpi_page(request: HttpRequest) -> HttpResponse:
    """The KPI table of the user's area for a period and a place, against the targets, and its charts: drawn
    from the same rows (kpi_charts), plus the trend of the period, computed in the table's pass."""
    from . import kpi_charts

    form, table = _kpi_table(request, trend=True)
    rows = [*table.rows, table.total]
    trend = kpi_charts.trend_of(table)
    labels = {**dict(KPI_RATES), "median_response_minutes": gettext_lazy("响应时长中位数（分钟）"),
              "median_resolution_hours": gettext_lazy("办结时长中位数（小时）")}
    return render(request, "tickets/kpis.html", {
        "form": form, "table": table, "rates": [
            {"name": name, "label": label, "target": table.targets.get(name),
             "values": [{**_percent(getattr(r, name), table.targets.get(name)), "group": r.label} for r in rows]}
            for name, label in KPI_RATES],
        "rows": rows, "export_query": request.GET.urlencode(),
        "charts": kpi_charts.chart_data(table, trend, labels)})


@staff_view
def kpi_export(request: HttpRequest) -> HttpResponse:
    _form, table = _kpi_table(request)
    response = HttpResponse(kpis.kpi_xlsx(table), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="ticket-kpis-{table.since:%Y%m%d}-{table.until:%Y%m%d}.xlsx"'
    return response
