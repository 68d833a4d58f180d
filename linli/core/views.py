from __future__ import annotations

import time

from django import forms
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.people.queries import ResidentFilter, care_tags, search_residents, visible_import_jobs
from linli.places.choices import PlaceKind
from linli.places.queries import visible_places

from .actor import Actor
from .permissions import Perm
from .queries import audit_actions, visible_audit_entries
from .web import actor_of, paginate, staff_view


def healthz(request):
    """Liveness and readiness: the database, the task queue and the consumer's last heartbeat."""
    from linli.core.models import Heartbeat
    from linli.tasks import queue_state

    result: dict = {"status": "ok", "time": timezone.now().isoformat()}
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        result["database"] = {"status": "ok", "vendor": connection.vendor,
                              "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # noqa: BLE001 - health must report, not crash
        result["database"] = {"status": "error", "error": str(exc)[:200]}
        result["status"] = "error"
    result["queue"] = queue_state()
    if result["queue"]["status"] != "ok":
        result["status"] = "error"
    if result["database"]["status"] == "ok":
        beat = Heartbeat.objects.filter(name="consumer").first()
        age = (timezone.now() - beat.at).total_seconds() if beat else None
        result["consumer"] = {
            "status": "ok" if age is not None and age < 180 else "unknown",
            "last_heartbeat": beat.at.isoformat() if beat else None,
        }
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)


# Care tags counted on the home page, in the order shown.
HOME_TAGS = ("elderly_alone", "empty_nest", "aged_80", "disabled", "low_income", "left_behind_child")


def _place_counts(actor: Actor) -> dict[str, int]:
    kinds = [PlaceKind.COMMUNITY, PlaceKind.ESTATE, PlaceKind.BUILDING, PlaceKind.DWELLING]
    # Only the actor's own subtrees: the ancestors drawn above them in the tree are not counted.
    rows = (visible_places(actor).filter(actor.scope_q(Perm.PLACE_VIEW, "path"), kind__in=kinds)
            .order_by().values_list("kind").annotate(n=Count("pk")))
    counts = dict(rows)
    return {kind.value: counts.get(kind.value, 0) for kind in kinds}


def _resident_counts(actor: Actor) -> tuple[int, list[dict]]:
    total = search_residents(actor, ResidentFilter()).count()
    tags = {t.code: t for t in care_tags().filter(code__in=HOME_TAGS)}
    groups = [{"tag": tags[code], "count": search_residents(actor, ResidentFilter(tag=code)).count()}
              for code in HOME_TAGS if code in tags]
    return total, groups


@staff_view
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context: dict = {"place_counts": _place_counts(actor) if actor.has_perm(Perm.PLACE_VIEW) else None}
    if actor.has_perm(Perm.RESIDENT_VIEW):
        context["resident_total"], context["care_groups"] = _resident_counts(actor)
    if actor.has_perm(Perm.RESIDENT_IMPORT):
        context["recent_jobs"] = list(visible_import_jobs(actor).select_related("place")[:5])
    return render(request, "core/home.html", context)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("操作"), required=False)
    target_type = forms.CharField(label=_("对象类型"), required=False, max_length=60)
    target_id = forms.CharField(label=_("对象编号"), required=False, max_length=64)
    q = forms.CharField(label=_("对象名称或操作人"), required=False, max_length=100)

    def __init__(self, *args, actions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("全部操作"))] + [(a, a) for a in actions]


@staff_view
def audit_log(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.AUDIT_VIEW)
    form = AuditFilterForm(request.GET or None, actions=audit_actions(actor))
    entries = visible_audit_entries(actor)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["target_type"]:
            entries = entries.filter(target_type=data["target_type"].strip().lower())
        if data["target_id"]:
            entries = entries.filter(target_id=data["target_id"].strip())
        if data["q"]:
            entries = entries.filter(Q(target_label__contains=data["q"]) | Q(actor_label__contains=data["q"]))
    return render(request, "core/audit_log.html", {"form": form, "page": paginate(request, entries, 50)})
