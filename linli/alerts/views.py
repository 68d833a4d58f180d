"""Alert console: the live board (list, counts per severity and map, refreshed in place while anything changes),
one alert with its events, pictures, subject and history and the steps on it, the rules that apply at a place
(shipped defaults and overrides) with their form, and the care page of residents living alone.

Every write is an action of linli.alerts.actions; every read a scoped query (another community's alert is 404)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.core.actor import Actor
from linli.core.errors import Conflict, DomainError, ValidationFailed
from linli.core.permissions import Perm, Role
from linli.core.web import actor_of, in_english, is_htmx, message_of, paginate, staff_view
from linli.devices.media import media_links
from linli.devices.queries import visible_events, with_event_relations
from linli.devices.views import place_labels
from linli.people.forms import place_choices
from linli.people.queries import access_resident
from linli.places.models import Place
from linli.places.queries import access_place

from . import actions, care, queries
from .choices import ACTIVE, NOT_SEEN, AlertStatus, HistoryKind, RouteRole, Severity
from .forms import (
    RULE_PLACE_KINDS,
    WEEKDAYS,
    AlertTicketForm,
    BoardFilterForm,
    CareFilterForm,
    NoteForm,
    RuleForm,
    ThresholdForm,
    person_name,
)
from .models import Alert, Rule

MAP_LIMIT = 500  # markers on the board's map: the first alerts of the list
EVENTS_SHOWN = 12
POLL_SECONDS = 2
STEPS: dict[str, Callable[..., Any]] = {
    "acknowledge": actions.acknowledge_alert, "resolve": actions.resolve_alert,
    "false_alarm": actions.mark_false_alarm, "comment": actions.comment_alert,
}
STEP_DONE = {"acknowledge": gettext_lazy("已确认告警"), "resolve": gettext_lazy("已解除告警"),
             "false_alarm": gettext_lazy("已标记为误报"), "comment": gettext_lazy("已添加备注")}


def title_of(kind: str, title: str, name_en: str | None) -> str:
    """An alert's title in the active language (the rule's English name, when there is one)."""
    if not in_english():
        return title
    if kind == NOT_SEEN:
        return "not seen for too long"
    return name_en or title


# ---------------------------------------------------------------- the board

def board_summary(scope: QuerySet[Alert]) -> tuple[list[dict[str, Any]], str]:
    """Counts per severity of the selected alerts and a version that changes whenever any of them changes (a new
    alert, a repeat, a step: each moves ``updated_at``): one grouped query, so polling it is cheap."""
    rows = {r["severity"]: r for r in scope.order_by().values("severity").annotate(
        n=Count("id"), open=Count("id", filter=Q(status=AlertStatus.OPEN)), last=Max("updated_at"), top=Max("id"),
        repeats=Sum("count"))}
    counts = [{"value": s.value, "label": s.label, "n": rows.get(s.value, {}).get("n", 0),
               "open": rows.get(s.value, {}).get("open", 0)} for s in Severity]
    state = sorted((k, r["n"], r["open"], r["last"].isoformat() if r["last"] else "", r["top"], r["repeats"])
                   for k, r in rows.items())
    return counts, hashlib.sha1(repr(state).encode()).hexdigest()[:16]


def _located(rows: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    """(longitude, latitude) of the places above each row's place that have one, in one query."""
    wanted = {int(pk) for r in rows for pk in r["place_path"].strip("/").split("/") if pk.isdigit()}
    places = Place.objects.filter(pk__in=wanted, longitude__isnull=False, latitude__isnull=False)
    return {pk: (lng, lat) for pk, lng, lat in places.values_list("pk", "longitude", "latitude")}


def map_markers(rows_qs: QuerySet[Alert]) -> list[dict[str, Any]]:
    """One marker per listed alert at its device, else its place, else the nearest place above with a location."""
    rows = list(rows_qs.values("pk", "kind", "severity", "status", "title", "rule__name_en", "place_path",
                               "device__longitude", "device__latitude")[:MAP_LIMIT])
    located = _located(rows)
    markers = []
    for r in rows:
        point = None
        if r["device__longitude"] is not None and r["device__latitude"] is not None:
            point = (r["device__longitude"], r["device__latitude"])
        else:
            for pk in reversed([int(p) for p in r["place_path"].strip("/").split("/") if p.isdigit()]):
                if pk in located:
                    point = located[pk]
                    break
        if point is None:
            continue
        markers.append({"id": r["pk"], "lng": point[0], "lat": point[1], "severity": r["severity"],
                        "status": r["status"], "title": title_of(r["kind"], r["title"], r["rule__name_en"]),
                        "url": reverse("alerts:detail", args=[r["pk"]])})
    return markers


def _map_center(actor: Actor) -> list[float] | None:
    """Where the map opens when no alert has a location: the first located place of the actor's area."""
    place = (Place.objects.filter(actor.scope_q(Perm.ALERT_VIEW, "path"), longitude__isnull=False,
                                  latitude__isnull=False).order_by("depth", "path").first())
    return [place.latitude, place.longitude] if place else None


@staff_view
def board(request: HttpRequest) -> HttpResponse:
    """The board. Its results section polls itself every few seconds with the version it shows; the answer is
    204 (nothing to swap) until something in the selection changes."""
    actor = actor_of(request)
    actor.require(Perm.ALERT_VIEW)
    form = BoardFilterForm(request.GET or None, actor=actor)
    scope = form.scope()
    counts, version = board_summary(scope)
    partial = is_htmx(request) and not request.headers.get("HX-History-Restore-Request")
    if partial and request.headers.get("X-Board-Version") == version:
        return HttpResponse(status=204)
    rows_qs = form.rows(scope)
    page = paginate(request, rows_qs)
    rows = list(page.object_list)
    for a in rows:
        a.label = title_of(a.kind, a.title, None)
    if rows and in_english():
        names = dict(Rule.objects.filter(pk__in={a.rule_id for a in rows if a.rule_id}).values_list("pk", "name_en"))
        for a in rows:
            a.label = title_of(a.kind, a.title, names.get(a.rule_id))
    context = {
        "form": form, "page": page, "rows": rows, "counts": counts, "total": sum(c["n"] for c in counts),
        "version": version, "labels": place_labels(a.place for a in rows), "poll_seconds": POLL_SECONDS,
        "map_data": {"markers": map_markers(rows_qs), "limit": MAP_LIMIT}, "severity": form.data.get("severity", ""),
        "can_handle": {a.pk: actor.can(Perm.ALERT_HANDLE, a.place_path) for a in rows},
    }
    if partial:
        response = render(request, "alerts/_board.html", context)
    else:
        context.update({"tiles": settings.LINLI_MAP_TILES, "center": _map_center(actor)})
        response = render(request, "alerts/board.html", context)
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- one alert

def _event_ids(alert: Alert) -> list[int]:
    """The latest events that opened or repeated the alert (the history keeps their ids)."""
    ids: list[int] = []
    if alert.last_event_id:
        ids.append(alert.last_event_id)
    for entry in reversed(list(alert.history.all())):
        for pk in reversed(entry.data.get("event_ids") or []):
            if isinstance(pk, int) and pk not in ids:
                ids.append(pk)
        if len(ids) >= EVENTS_SHOWN:
            break
    return ids[:EVENTS_SHOWN]


def _categories(actor: Actor, alert: Alert) -> list[Any]:
    from linli.tickets.queries import categories_at, visible_categories

    return list(categories_at(alert.place).filter(pk__in=visible_categories(actor).values("pk")).order_by("code"))


def _why(alert: Alert) -> dict[str, Any] | None:
    """Why a care alert was raised (the fixed threshold, or the person's own routine)."""
    if alert.kind != NOT_SEEN or not alert.attrs:
        return None
    since = alert.attrs.get("since")
    return {**alert.attrs, "since": dt.datetime.fromisoformat(since) if since else None}


def _history(alert: Alert) -> list[dict[str, Any]]:
    """The alert's history, runs of repeats shown as one line (a busy alert repeats once per batch)."""
    out: list[dict[str, Any]] = []
    for h in alert.history.all():
        count = h.data.get("count", 0) if h.kind in (HistoryKind.OPENED, HistoryKind.REPEATED) else 0
        if h.kind == HistoryKind.REPEATED and out and out[-1]["kind"] == HistoryKind.REPEATED:
            out[-1]["count"] += count
            out[-1]["until"] = h.at
            continue
        out.append({"kind": h.kind, "at": h.at, "until": None, "count": count, "actor": h.actor_label,
                    "note": h.note, "data": h.data})
    return out


def _detail_context(actor: Actor, alert: Alert, **extra: Any) -> dict[str, Any]:
    path = alert.place_path
    can_handle = actor.can(Perm.ALERT_HANDLE, path)
    active = alert.status in ACTIVE
    events: list[Any] = []
    can_read_events = actor.can(Perm.PASSAGE_VIEW, path)
    if can_read_events:
        events = list(with_event_relations(visible_events(actor).filter(pk__in=_event_ids(alert)))
                      .order_by("-occurred_at", "-id"))
        for e in events:
            e.pictures = media_links(e)
    resident = alert.resident
    contacts = list(resident.emergency_contacts.order_by("priority", "pk")) if (
        resident is not None and alert.kind == NOT_SEEN) else []
    can_ticket = can_handle and active and alert.ticket_id is None and actor.can(Perm.TICKET_SUBMIT, path)
    ticket_form = extra.pop("ticket_form", None)
    if can_ticket and ticket_form is None:
        ticket_form = AlertTicketForm(categories=_categories(actor, alert))
    name_en = alert.rule.name_en if alert.rule_id and alert.rule else None
    return {
        "alert": alert, "label": title_of(alert.kind, alert.title, name_en), "history": _history(alert),
        "place_label": place_labels([alert.place])[alert.place_id], "events": events,
        "can_read_events": can_read_events, "can_handle": can_handle,
        "can_acknowledge": can_handle and alert.status == AlertStatus.OPEN, "can_close": can_handle and active,
        "can_ticket": can_ticket, "ticket_form": ticket_form if can_ticket else None,
        "resident_link": resident is not None and actor.can(Perm.RESIDENT_VIEW, resident.place_path),
        "contacts": contacts, "why": _why(alert), "history_labels": dict(HistoryKind.choices),
        "roles": dict(Role.choices),
        "step_error": "", "failed": "", "note_error": "", "values": {}, **extra,
    }


def _alert(actor: Actor, pk: int) -> Alert:
    return queries.alert_with_history(actor, pk)


@staff_view
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.ALERT_VIEW)
    return render(request, "alerts/detail.html", _detail_context(actor, _alert(actor, pk)))


def _refused(request: HttpRequest, actor: Actor, pk: int, exc: DomainError | None, failed: str,
             **extra: Any) -> HttpResponse:
    """The alert's page again with the reason a step was refused (409 for a step its state does not allow, 422 for
    bad input); nothing was written."""
    errors = exc.errors if exc is not None else []
    note_error = next((message_of(e) for e in errors if e.field == "note"), "")
    message = message_of(errors[0] if len(errors) == 1 else exc) if exc is not None else _("请检查填写的内容")
    context = _detail_context(actor, _alert(actor, pk), step_error=message, failed=failed, note_error=note_error,
                              values=request.POST, **extra)
    return render(request, "alerts/detail.html", context, status=exc.status if exc is not None else 422)


def _next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


@staff_view
@require_POST
def alert_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """Acknowledge, resolve, mark a false alarm or comment. The action's compare-and-set decides: a step the
    alert's state no longer allows (someone was quicker) is refused with the reason."""
    actor = actor_of(request)
    alert = queries.access_alert(actor, pk)
    if step not in STEPS:
        raise Http404(_("没有这一步操作"))
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        STEPS[step](actor=actor, alert=alert, note=form.cleaned_data.get("note", ""))
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, actor, pk, exc, failed=step)
    messages.success(request, STEP_DONE[step])
    return redirect(_next(request) or reverse("alerts:detail", args=[pk]))


@staff_view
@require_POST
def alert_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn the alert into a ticket of the chosen category for field work."""
    from linli.tickets.queries import access_category

    actor = actor_of(request)
    alert = queries.access_alert(actor, pk)
    form = AlertTicketForm(request.POST, categories=_categories(actor, alert))
    if not form.is_valid():
        return _refused(request, actor, pk, None, failed="ticket", ticket_form=form)
    data = form.cleaned_data
    try:
        ticket = actions.ticket_from_alert(actor=actor, alert=alert, kind=data["kind"],
                                           category=access_category(actor, data["category_id"]),
                                           description=data["description"])
    except (ValidationFailed, Conflict) as exc:
        for error in exc.errors:
            name = {"category": "category_id"}.get(error.field, error.field)
            form.add_error(name if name in form.fields else None, message_of(error))
        return _refused(request, actor, pk, exc, failed="ticket", ticket_form=form)
    messages.success(request, _("已转为工单：%(number)s") % {"number": ticket.number})
    return redirect("alerts:detail", pk=pk)


# ---------------------------------------------------------------- rules

def _rule_place(actor: Actor, request: HttpRequest) -> Place | None:
    """The place whose rules the page shows: the one asked for, or the actor's first place for rules."""
    wanted = request.GET.get("place") or request.POST.get("place")
    if wanted:
        return access_place(actor, wanted)
    choices = place_choices(actor, Perm.RULE_MANAGE, RULE_PLACE_KINDS)
    return access_place(actor, choices[0][0]) if choices else None


def conditions(rule: Rule) -> list[str]:
    """A rule's conditions in words, in the active language."""
    out = []
    if rule.min_score is not None:
        out.append(_("置信度 ≥ %(v)s") % {"v": f"{rule.min_score:g}"})
    if rule.zones:
        out.append(_("区域：%(v)s") % {"v": ", ".join(rule.zones)})
    if rule.min_stationary_seconds:
        out.append(_("停留 ≥ %(v)s 秒") % {"v": rule.min_stationary_seconds})
    if rule.repeat_count > 1:
        out.append(_("%(m)s 分钟内 ≥ %(n)s 次") % {"m": rule.repeat_minutes, "n": rule.repeat_count})
    if rule.time_from and rule.time_until:
        out.append(f"{rule.time_from:%H:%M}–{rule.time_until:%H:%M}")
    if rule.weekdays:
        days = dict(WEEKDAYS)
        out.append("、".join(str(days[d]) for d in sorted(rule.weekdays) if d in days))
    return out


def escalation_text(rule: Rule) -> list[str]:
    roles = dict(Role.choices)
    return [_("%(m)s 分钟未确认：%(role)s") % {"m": step.get("after_minutes"),
                                           "role": roles.get(step.get("to_role"), step.get("to_role"))}
            for step in rule.escalation or []]


def rules_at(actor: Actor, place: Place) -> list[dict[str, Any]]:
    """Every rule that applies at ``place`` or below it, grouped by code; for each code the rule that decides at
    the place itself (the nearest one: an override beats the shipped default, even when it is disabled)."""
    above = ["", *queries.ancestors(place.path)]
    people = Prefetch("route_users", queryset=get_user_model().objects.select_related("linli_profile").order_by("pk"))
    rules = list(queries.visible_rules(actor).filter(Q(place_path__in=above) | Q(place_path__startswith=place.path))
                 .select_related("place").prefetch_related(people).order_by("code", "place_path"))
    labels = place_labels(r.place for r in rules if r.place_id)
    groups: dict[str, dict[str, Any]] = {}
    english = in_english()
    for rule in rules:
        group = groups.setdefault(rule.code, {"code": rule.code, "rules": [], "effective": None})
        rule.where = labels.get(rule.place_id) if rule.place_id else None
        rule.label = (rule.name_en or rule.name) if english else rule.name
        rule.conditions = conditions(rule)
        rule.routes = [str(dict(RouteRole.choices).get(r, r)) for r in rule.route_roles or []]
        rule.route_people = [person_name(u) for u in rule.route_users.all()]
        rule.steps = escalation_text(rule)
        rule.below = rule.place_path not in above
        rule.editable = bool(rule.place_id) and actor.can(Perm.RULE_MANAGE, rule.place_path)
        rule.overridable = not rule.below and rule.place_path != place.path and actor.can(Perm.RULE_MANAGE, place.path)
        if not rule.below:
            group["effective"] = rule  # ordered by path: the last one above is the nearest
        group["rules"].append(rule)
    return list(groups.values())


@staff_view
def rule_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.RULE_MANAGE)
    place = _rule_place(actor, request)
    return render(request, "alerts/rule_list.html", {
        "place": place, "groups": rules_at(actor, place) if place else [],
        "places": place_choices(actor, Perm.RULE_MANAGE, RULE_PLACE_KINDS),
        "can_create": place is not None and actor.can(Perm.RULE_MANAGE, place.path),
    })


def _rule_errors(form: RuleForm, exc: ValidationFailed) -> None:
    for error in exc.errors:
        form.add_error(form.field_for(error.field), message_of(error))


@staff_view
def rule_new(request: HttpRequest) -> HttpResponse:
    """A rule at a place subtree; ``?from=<rule>`` starts from that rule's values (to override a default)."""
    actor = actor_of(request)
    actor.require(Perm.RULE_MANAGE)
    place = _rule_place(actor, request)
    if request.method == "POST":
        form = RuleForm(request.POST, actor=actor)
        if form.is_valid():
            try:
                rule = actions.create_rule(actor=actor, place=form.chosen_place(), fields=form.rule_fields(),
                                           route_users=form.cleaned_data["route_users"])
            except ValidationFailed as exc:
                _rule_errors(form, exc)
            else:
                messages.success(request, _("规则已保存"))
                return redirect(f"{reverse('alerts:rules')}?place={rule.place_id}")
    else:
        initial: dict[str, Any] = {"repeat_count": 1, "enabled": True}
        if request.GET.get("from"):
            initial = RuleForm.initial_from(queries.access_rule(actor, request.GET["from"]))
        if place is not None:
            initial["place"] = str(place.pk)
        form = RuleForm(initial=initial, actor=actor)
    return render(request, "alerts/rule_form.html", {"form": form, "rule": None, "place": place},
                  status=422 if form.errors else 200)


@staff_view
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = queries.access_rule(actor, pk)
    actor.require(Perm.RULE_MANAGE, rule.place_path or "/")
    if request.method == "POST":
        form = RuleForm(request.POST, actor=actor, rule=rule)
        if form.is_valid():
            try:
                actions.update_rule(actor=actor, rule=rule, fields=form.rule_fields(),
                                    route_users=form.cleaned_data["route_users"])
            except ValidationFailed as exc:
                _rule_errors(form, exc)
            else:
                messages.success(request, _("规则已保存"))
                return redirect(f"{reverse('alerts:rules')}?place={rule.place_id}")
    else:
        form = RuleForm(initial=RuleForm.initial_from(rule), actor=actor, rule=rule)
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule, "place": rule.place},
                  status=422 if form.errors else 200)


@staff_view
@require_POST
def rule_enable(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    rule = queries.access_rule(actor, pk)
    enabled = request.POST.get("enabled") == "1"
    actions.update_rule(actor=actor, rule=rule, fields={"enabled": enabled})
    messages.success(request, _("规则已启用") if enabled else _("规则已停用"))
    return redirect(f"{reverse('alerts:rules')}?place={request.POST.get('place') or rule.place_id}")


# ---------------------------------------------------------------- care

def _care_context(request: HttpRequest, actor: Actor, errors: dict[int, str] | None = None) -> dict[str, Any]:
    form = CareFilterForm(request.GET or None, actor=actor)
    page = paginate(request, queries.visible_care_tags(actor, place_path=form.place_path(),
                                                              alerting_only=form.alerting_only()))
    tags = list(page.object_list)
    ids = [t.resident_id for t in tags]
    now = timezone.now()
    alerts = {a.resident_id: a for a in Alert.objects.filter(kind=NOT_SEEN, status__in=ACTIVE, resident_id__in=ids)}
    histories = care._histories(ids, now) if ids else {}
    rows = []
    for tag in tags:
        resident = tag.resident
        presence = getattr(resident, "presence", None)
        since = presence.last_seen_at if presence else None
        threshold = care.threshold_hours(tag.attrs)
        routine = care.learn_routine(histories.get(resident.pk, []), now)
        silent = (now - (since or tag.created_at)).total_seconds() / 3600
        limit = routine.limit_hours if routine and routine.limit_hours < threshold else threshold
        alert = alerts.get(resident.pk)
        rows.append({"tag": tag, "resident": resident, "last_seen": since, "silent_hours": silent,
                     "threshold": threshold, "custom": "not_seen_hours" in (tag.attrs or {}), "routine": routine,
                     "limit": limit, "over": silent > limit, "alert": alert, "why": _why(alert) if alert else None,
                     "can_edit": actor.can(Perm.RESIDENT_EDIT, resident.place_path),
                     "error": (errors or {}).get(resident.pk, "")})
    return {"form": form, "page": page, "rows": rows, "labels": place_labels(t.resident.place for t in tags),
            "default_hours": care.DEFAULT_HOURS, "quiet_from": care.QUIET_FROM, "quiet_until": care.QUIET_UNTIL}


@staff_view
def care_list(request: HttpRequest) -> HttpResponse:
    """Residents living alone in the actor's area, longest silent first: last passage, threshold, the routine
    learned from their passages, the open not-seen alert and why it was raised."""
    actor = actor_of(request)
    actor.require(Perm.ALERT_VIEW)
    actor.require(Perm.RESIDENT_VIEW)
    return render(request, "alerts/care.html", _care_context(request, actor))


@staff_view
@require_POST
def care_threshold(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.ALERT_VIEW)
    resident = access_resident(actor, pk)
    form = ThresholdForm(request.POST)
    form.is_valid()
    try:
        actions.set_care_threshold(actor=actor, resident=resident, hours=form.value())
    except (ValidationFailed, Conflict) as exc:
        context = _care_context(request, actor, errors={resident.pk: message_of(exc.errors[0] if exc.errors else exc)})
        return render(request, "alerts/care.html", context, status=exc.status)
    messages.success(request, _("已保存 %(name)s 的未出门阈值") % {"name": resident.name})
    return redirect(_next(request) or reverse("alerts:care"))
