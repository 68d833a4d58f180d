"""Place pages: the lazy tree, a place's detail with its map, the child and edit forms, the estate merge."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from linli.core.actor import Actor
from linli.core.errors import Conflict, ValidationFailed
from linli.core.permissions import Perm
from linli.core.web import actor_of, add_domain_errors, message_of, staff_view
from linli.people.queries import ResidentFilter, search_residents

from . import actions, geo
from .choices import PARENT_KIND, PlaceKind, PlaceStatus
from .forms import MergeEstatesForm, PlaceForm
from .models import Place, PlaceEvent
from .queries import access_place, ancestors, place_children, root_places, visible_facilities, visible_grids

CHILD_KIND: dict[str, str] = {parent: child for child, parent in PARENT_KIND.items() if parent is not None}
CHILDREN_SHOWN = 500


@staff_view
def tree(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PLACE_VIEW)
    nodes = list(root_places(actor))
    if len(nodes) == 1:  # a single top place (one community, one street ...) opens at once
        nodes[0].open_kids = list(place_children(actor, nodes[0])[:CHILDREN_SHOWN])
    return render(request, "places/tree.html", {"nodes": nodes})


@staff_view
def children(request: HttpRequest, pk: int) -> HttpResponse:
    """The next level of the tree under one place (htmx swaps it in when a node opens)."""
    actor = actor_of(request)
    place = access_place(actor, pk)
    return render(request, "places/_children.html", {"nodes": place_children(actor, place)[:CHILDREN_SHOWN]})


def _map_data(place: Place, kids: list[Place]) -> dict[str, Any] | None:
    points = [{"name": c.name, "lng": c.longitude, "lat": c.latitude} for c in kids
              if c.longitude is not None and c.latitude is not None]
    point = [place.longitude, place.latitude] if place.longitude is not None and place.latitude is not None else None
    if point is None and not place.boundary and not points:
        return None
    return {"point": point, "boundary": place.boundary, "children": points, "tiles": settings.LINLI_MAP_TILES,
            "name": place.name}


def _coordinates(place: Place) -> list[dict[str, Any]]:
    if place.longitude is None or place.latitude is None:
        return []
    rows = [{"system": "WGS-84", "lng": place.longitude, "lat": place.latitude}]
    for target, label in (("gcj02", "GCJ-02"), ("bd09", "BD-09")):
        lng, lat = geo.convert(place.longitude, place.latitude, "wgs84", target)
        rows.append({"system": label, "lng": round(lng, 6), "lat": round(lat, 6)})
    return rows


def _grids(actor: Actor, place: Place) -> list:
    if place.kind == PlaceKind.COMMUNITY:
        return list(visible_grids(actor).filter(place=place).prefetch_related("buildings", "workers"))
    if place.kind == PlaceKind.BUILDING:
        return list(visible_grids(actor).filter(buildings=place).prefetch_related("buildings", "workers"))
    return []


def _history(place: Place) -> list[PlaceEvent]:
    """What happened to this place, and which places were moved or merged into it."""
    return list(PlaceEvent.objects.filter(Q(place=place) | Q(new_parent=place))
                .select_related("place", "old_parent", "new_parent", "actor")[:50])


@staff_view
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    place = access_place(actor, pk)
    kids = list(place_children(actor, place)[:CHILDREN_SHOWN])
    context: dict[str, Any] = {
        "place": place,
        "trail": ancestors(place),
        "kids": kids,
        "child_kind": PlaceKind(CHILD_KIND[place.kind]).label if place.kind in CHILD_KIND else None,
        "facilities": list(visible_facilities(actor).filter(place_path__startswith=place.path)[:100]),
        "grids": _grids(actor, place),
        "history": _history(place),
        "merged_from": list(place.merged_from.all()),
        "coordinates": _coordinates(place),
        "map_data": _map_data(place, kids),
        "active": place.status == PlaceStatus.ACTIVE,
        "can_edit": place.status == PlaceStatus.ACTIVE and actor.can(Perm.PLACE_EDIT, place.path),
        "can_merge": place.kind == PlaceKind.COMMUNITY and actor.can(Perm.PLACE_MERGE, place.path),
    }
    if actor.has_perm(Perm.RESIDENT_VIEW):
        context["resident_count"] = search_residents(actor, ResidentFilter(place_id=place.pk)).count()
    return render(request, "places/detail.html", context)


@staff_view
def add_child(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    parent = access_place(actor, pk)
    actor.require(Perm.PLACE_EDIT, parent.path)
    if parent.kind not in CHILD_KIND:
        raise Conflict("房屋下不能再添加地点", "nothing can be added inside a dwelling")
    kind = CHILD_KIND[parent.kind]
    form = PlaceForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            child = actions.create_place(actor=actor, kind=kind, parent=parent, **form.action_data())
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("已添加“%(name)s”") % {"name": child.name})
            return redirect("places:detail", pk=child.pk)
    return render(request, "places/form.html", {
        "form": form, "place": parent, "trail": ancestors(parent) + [parent],
        "heading": _("在“%(parent)s”下添加%(kind)s") % {"parent": parent.name, "kind": str(PlaceKind(kind).label).lower()},
    }, status=422 if form.errors else 200)


@staff_view
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    place = access_place(actor, pk)
    actor.require(Perm.PLACE_EDIT, place.path)
    form = PlaceForm(request.POST or None, kind=place.kind, initial=PlaceForm.initial_for(place))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_place(actor=actor, place=place, **form.action_data())
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, message_of(exc))
        else:
            messages.success(request, _("已保存"))
            return redirect("places:detail", pk=place.pk)
    return render(request, "places/form.html", {
        "form": form, "place": place, "trail": ancestors(place) + [place],
        "heading": _("编辑%(kind)s“%(name)s”") % {"kind": str(place.get_kind_display()).lower(), "name": place.name},
    }, status=422 if form.errors else 200)


@staff_view
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """拆墙并院: merge estates of one community into a new or an existing estate."""
    actor = actor_of(request)
    community = access_place(actor, pk)
    actor.require(Perm.PLACE_MERGE, community.path)
    if community.kind != PlaceKind.COMMUNITY:
        raise Conflict("请在社区页面合并小区", "merge estates from their community's page")
    estates = list(place_children(actor, community).filter(kind=PlaceKind.ESTATE))
    form = MergeEstatesForm(request.POST or None, estates=estates)
    if request.method == "POST" and form.is_valid():
        chosen, into = form.chosen()
        try:
            target = actions.merge_estates(actor=actor, estates=chosen, into=into, into_name=form.cleaned_data["into_name"],
                                           note=form.cleaned_data["note"])
        except ValidationFailed as exc:
            add_domain_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, message_of(exc))
        else:
            messages.success(request, _("已合并为“%(name)s”") % {"name": target.name})
            return redirect("places:detail", pk=target.pk)
    return render(request, "places/merge.html", {"form": form, "place": community,
                                                 "trail": ancestors(community) + [community]},
                  status=422 if form.errors else 200)
