"""Ticket set-up pages for staff (/tickets/manage/): categories (list, add, change), organisations (list, add,
rename or switch off, members and who of them is on duty for round-robin and grab) and return visits (the due
and overdue calls of the user's area; record the outcome).

Scoped like the API: categories and organisations outside the user's area are 404 (``queries.access_*``);
visible ones the user may not configure (a platform category, the street office above a community) are 403.
Every write is an action of linli.tickets.actions; refused input shows the field and the reason and writes
nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.accounts.models import RoleAssignment
from linli.core.actor import Actor
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.permissions import Perm
from linli.core.web import actor_of, add_domain_errors, message_of, paginate, staff_view
from linli.places.models import Place

from . import actions, queries
from .choices import ReturnVisitStatus
from .forms_manage import (
    GLOBAL,
    CategoryForm,
    MemberForm,
    OrganisationEditForm,
    OrganisationForm,
    ReturnVisitForm,
)
from .models import Membership, Organisation

SECTIONS = (
    ("tickets:manage_categories", gettext_lazy("工单类别"), Perm.TICKET_CONFIGURE, "categories"),
    ("tickets:manage_organisations", gettext_lazy("处理机构"), Perm.TICKET_CONFIGURE, "organisations"),
    ("tickets:manage_visits", gettext_lazy("回访"), Perm.TICKET_HANDLE, "visits"),
)
VISIT_FILTERS = (("pending", gettext_lazy("待回访")), ("overdue", gettext_lazy("已逾期")),
                 ("done", gettext_lazy("已回访")), ("all", gettext_lazy("全部")))


def _context(actor: Actor, current: str, **extra: Any) -> dict[str, Any]:
    sections = [{"url": reverse(url), "label": label, "current": key == current}
                for url, label, perm, key in SECTIONS if actor.has_perm(perm)]
    return {"sections": sections, "section": current, **extra}


def _configurable(actor: Actor, path: str) -> bool:
    return actor.can(Perm.TICKET_CONFIGURE, path or "/")


@staff_view
def manage_home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    if actor.has_perm(Perm.TICKET_CONFIGURE):
        return redirect("tickets:manage_categories")
    actor.require(Perm.TICKET_HANDLE)
    return redirect("tickets:manage_visits")


# ---------------------------------------------------------------------------------------------- categories

@staff_view
def category_list(request: HttpRequest) -> HttpResponse:
    """The categories the user sees (platform ones and those of their area), marked where they may change them."""
    actor = actor_of(request)
    actor.require(Perm.TICKET_CONFIGURE)
    qs = queries.visible_categories(actor).select_related("place")
    page = paginate(request, qs.order_by("place_path", "sort", "id"))
    open_counts = queries.open_tickets_per_category(actor, [c.pk for c in page.object_list])
    rows = [{"category": c, "editable": _configurable(actor, c.place_path), "open": open_counts.get(c.pk, 0)}
            for c in page.object_list]
    return render(request, "tickets/manage/categories.html", _context(
        actor, "categories", page=page, rows=rows, can_add=True))


@staff_view
def category_new(request: HttpRequest) -> HttpResponse:
    """Add a category for the platform (system admins) or for a place of the user's area."""
    actor = actor_of(request)
    actor.require(Perm.TICKET_CONFIGURE)
    form = CategoryForm(request.POST if request.method == "POST" else None, actor=actor)
    if request.method == "POST" and form.is_valid():
        choice = form.cleaned_data["place"]
        place = None if choice == GLOBAL else Place.objects.get(pk=int(choice))
        try:
            category = actions.create_category(actor=actor, code=form.cleaned_data["code"], place=place,
                                               name=form.cleaned_data["name"], **_without_name(form.action_data()))
        except ValidationFailed as exc:
            add_domain_errors(form, exc, {"place_id": "place"})
        else:
            messages.success(request, _("已添加类别“%(name)s”") % {"name": category.name})
            return redirect("tickets:manage_categories")
    return render(request, "tickets/manage/category_form.html", _context(actor, "categories", form=form, category=None),
                  status=422 if form.errors else 200)


def _without_name(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "name"}


@staff_view
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a category's names, deadlines and rules; tickets already filed keep their deadlines."""
    actor = actor_of(request)
    category = queries.access_category(actor, pk)
    if not _configurable(actor, category.place_path):
        raise PermissionDenied(Perm.TICKET_CONFIGURE)
    form = CategoryForm(request.POST if request.method == "POST" else None, actor=actor, category=category)
    if request.method == "POST" and form.is_valid():
        try:
            category = actions.update_category(actor=actor, category=category, **form.action_data())
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("已保存类别“%(name)s”") % {"name": category.name})
            return redirect("tickets:manage_categories")
    return render(request, "tickets/manage/category_form.html",
                  _context(actor, "categories", form=form, category=category), status=422 if form.errors else 200)


# ------------------------------------------------------------------------------------------- organisations

@staff_view
def organisation_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.TICKET_CONFIGURE)
    member = Q(memberships__active=True, memberships__assignment__active=True, memberships__user__is_active=True)
    qs = queries.visible_organisations(actor).annotate(
        member_count=Count("memberships", filter=member, distinct=True),
        on_duty_count=Count("memberships", filter=member & Q(memberships__assignment__on_duty=True), distinct=True))
    page = paginate(request, qs.order_by("place_path", "kind", "id"))
    rows = [{"organisation": o, "editable": _configurable(actor, o.place_path)} for o in page.object_list]
    return render(request, "tickets/manage/organisations.html", _context(actor, "organisations", page=page, rows=rows))


@staff_view
def organisation_new(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.TICKET_CONFIGURE)
    form = OrganisationForm(request.POST if request.method == "POST" else None, actor=actor)
    if request.method == "POST" and form.is_valid():
        place = Place.objects.get(pk=int(form.cleaned_data["place"]))
        try:
            organisation = actions.create_organisation(actor=actor, kind=form.cleaned_data["kind"],
                                                       name=form.cleaned_data["name"], place=place)
        except ValidationFailed as exc:
            add_domain_errors(form, exc, {"place_id": "place"})
        else:
            messages.success(request, _("已添加机构“%(name)s”") % {"name": organisation.name})
            return redirect("tickets:manage_organisation", pk=organisation.pk)
    return render(request, "tickets/manage/organisation_form.html", _context(actor, "organisations", form=form),
                  status=422 if form.errors else 200)


def _organisation(actor: Actor, pk: int) -> Organisation:
    """An organisation of the user's area (404 elsewhere) that they may configure (403 for one above it)."""
    organisation = queries.access_organisation(actor, pk)
    if not _configurable(actor, organisation.place_path):
        raise PermissionDenied(Perm.TICKET_CONFIGURE)
    return organisation


def _organisation_page(request: HttpRequest, actor: Actor, organisation: Organisation, *, status: int = 200,
                       **forms: Any) -> HttpResponse:
    members = list(queries.organisation_members(organisation))
    context = _context(
        actor, "organisations", organisation=organisation, members=members,
        on_duty=sum(1 for m in members if m.assignment.on_duty and m.assignment.active),
        edit_form=forms.get("edit_form") or OrganisationEditForm(organisation=organisation),
        member_form=forms.get("member_form") or MemberForm(candidates=queries.member_candidates(organisation)),
        member_error=forms.get("member_error", ""))
    return render(request, "tickets/manage/organisation.html", context, status=status)


@staff_view
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One organisation: rename it or switch it off, its members and who of them is on duty."""
    actor = actor_of(request)
    organisation = _organisation(actor, pk)
    if request.method != "POST":
        return _organisation_page(request, actor, organisation)
    form = OrganisationEditForm(request.POST, organisation=organisation)
    if form.is_valid():
        try:
            organisation = actions.update_organisation(actor=actor, organisation=organisation, **form.cleaned_data)
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("已保存机构“%(name)s”") % {"name": organisation.name})
            return redirect("tickets:manage_organisation", pk=organisation.pk)
    return _organisation_page(request, actor, organisation, edit_form=form, status=422)


@staff_view
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    organisation = _organisation(actor, pk)
    form = MemberForm(request.POST, candidates=queries.member_candidates(organisation))
    if form.is_valid():
        assignment = RoleAssignment.objects.get(pk=form.cleaned_data["assignment"])
        try:
            membership = actions.add_member(actor=actor, organisation=organisation, assignment=assignment)
        except ValidationFailed as exc:
            add_domain_errors(form, exc, {"assignment_id": "assignment"})
        except Conflict as exc:
            return _organisation_page(request, actor, organisation, member_form=form, member_error=message_of(exc),
                                      status=exc.status)
        else:
            user = membership.user
            messages.success(request, _("已添加成员 %(name)s") % {"name": user.get_full_name() or user.get_username()})
            return redirect("tickets:manage_organisation", pk=organisation.pk)
    return _organisation_page(request, actor, organisation, member_form=form, status=422)


def _membership(organisation: Organisation, member_id: int) -> Membership:
    membership = queries.organisation_members(organisation).filter(pk=member_id).first()
    if membership is None:
        raise Http404(_("未找到该成员"))
    return membership


@staff_view
@require_POST
def member_duty(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    """On or off duty: the member's role assignment's flag, which round-robin and grab read."""
    actor = actor_of(request)
    organisation = _organisation(actor, pk)
    membership = _membership(organisation, member_id)
    on_duty = request.POST.get("on_duty") == "1"
    actions.set_on_duty(actor=actor, membership=membership, on_duty=on_duty)
    name = membership.user.get_full_name() or membership.user.get_username()
    messages.success(request, (_("%(name)s 已在岗") if on_duty else _("%(name)s 已离岗")) % {"name": name})
    return redirect("tickets:manage_organisation", pk=organisation.pk)


@staff_view
@require_POST
def member_remove(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    actor = actor_of(request)
    organisation = _organisation(actor, pk)
    membership = _membership(organisation, member_id)
    actions.remove_member(actor=actor, membership=membership)
    name = membership.user.get_full_name() or membership.user.get_username()
    messages.success(request, _("已移除成员 %(name)s") % {"name": name})
    return redirect("tickets:manage_organisation", pk=organisation.pk)


# ------------------------------------------------------------------------------------------- return visits

@staff_view
def visit_list(request: HttpRequest) -> HttpResponse:
    """The return visits of the user's area: pending (soonest due first), overdue, done or all."""
    actor = actor_of(request)
    actor.require(Perm.TICKET_HANDLE)
    shown = request.GET.get("status") or "pending"
    if shown not in dict(VISIT_FILTERS):
        shown = "pending"
    now = timezone.now()
    status = {"pending": ReturnVisitStatus.PENDING, "overdue": ReturnVisitStatus.PENDING,
              "done": ReturnVisitStatus.DONE}.get(shown)
    qs = queries.search_return_visits(actor, status)
    if shown == "overdue":
        qs = qs.filter(due_at__lt=now)
    if shown == "done":
        qs = qs.order_by("-completed_at", "-id")
    page = paginate(request, qs.select_related("ticket__place"))
    overdue = queries.search_return_visits(actor, ReturnVisitStatus.PENDING).filter(due_at__lt=now).count()
    return render(request, "tickets/manage/visits.html", _context(
        actor, "visits", page=page, rows=list(page.object_list), now=now, shown=shown, overdue_count=overdue,
        filters=[{"key": k, "label": label, "current": k == shown} for k, label in VISIT_FILTERS]))


@staff_view
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One return visit: the ticket it follows, and the form to record the call's outcome (once)."""
    actor = actor_of(request)
    actor.require(Perm.TICKET_HANDLE)
    visit = queries.access_return_visit(actor, pk)
    done = visit.status == ReturnVisitStatus.DONE
    form = ReturnVisitForm(request.POST if request.method == "POST" and not done else None)
    error, status = "", 200
    if request.method == "POST":
        if done:
            error, status = message_of(Conflict("该回访已完成", "this return visit was already completed")), 409
        elif form.is_valid():
            try:
                actions.complete_return_visit(actor=actor, visit=visit, **form.cleaned_data)
            except ValidationFailed as exc:
                add_domain_errors(form, exc)
            except Conflict as exc:
                error, status = message_of(exc), exc.status
            else:
                messages.success(request, _("已记录回访结果：%(number)s") % {"number": visit.ticket.number})
                return redirect("tickets:manage_visits")
        if form.errors and status == 200:
            status = 422
    return render(request, "tickets/manage/visit.html", _context(
        actor, "visits", visit=visit, form=None if done else form, error=error, now=timezone.now()), status=status)
