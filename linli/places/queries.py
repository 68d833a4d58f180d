"""Scoped reads of places, grids and facilities."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.core.permissions import Perm

from .choices import PlaceStatus
from .models import Facility, Grid, Place


def _place_scope(actor: Actor) -> Q:
    """A place is visible inside the actor's subtrees, and so are its ancestors (to draw the tree down to it)."""
    paths = actor.paths_for(Perm.PLACE_VIEW)
    if not paths:
        return Q(pk__in=[])
    if "/" in paths:
        return Q()
    q = Q()
    ancestor_ids: set[int] = set()
    for p in paths:
        q |= Q(path__startswith=p)
        ancestor_ids.update(int(x) for x in p.strip("/").split("/") if x)
    return q | Q(pk__in=ancestor_ids)


def visible_places(actor: Actor, *, include_inactive: bool = False) -> QuerySet[Place]:
    qs = Place.objects.filter(_place_scope(actor))
    if not include_inactive:
        qs = qs.filter(status=PlaceStatus.ACTIVE)
    return qs


def access_place(actor: Actor, pk: int | str) -> Place:
    try:
        return visible_places(actor, include_inactive=True).get(pk=int(pk))
    except (Place.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("place") from exc


def place_children(actor: Actor, parent: Place | None) -> QuerySet[Place]:
    qs = visible_places(actor).filter(parent=parent).annotate(
        child_count=Count("children", filter=Q(children__status=PlaceStatus.ACTIVE))
    )
    return qs


def root_places(actor: Actor) -> QuerySet[Place]:
    """The top of the tree this actor sees: its assignment places (or every district for a global role)."""
    paths = actor.paths_for(Perm.PLACE_VIEW)
    if "/" in paths:
        return place_children(actor, None)
    ids = [int(p.strip("/").split("/")[-1]) for p in paths]
    return visible_places(actor).filter(pk__in=ids).annotate(
        child_count=Count("children", filter=Q(children__status=PlaceStatus.ACTIVE))
    )


def ancestors(place: Place) -> list[Place]:
    ids = place.ancestor_ids[:-1]
    by_id = {p.pk: p for p in Place.objects.filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def visible_facilities(actor: Actor) -> QuerySet[Facility]:
    return Facility.objects.filter(actor.scope_q(Perm.PLACE_VIEW)).select_related("place")


def access_facility(actor: Actor, pk: int | str) -> Facility:
    try:
        return visible_facilities(actor).get(pk=int(pk))
    except (Facility.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("facility") from exc


def visible_grids(actor: Actor) -> QuerySet[Grid]:
    return Grid.objects.filter(actor.scope_q(Perm.PLACE_VIEW)).select_related("place")


def access_grid(actor: Actor, pk: int | str) -> Grid:
    try:
        return visible_grids(actor).get(pk=int(pk))
    except (Grid.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("grid") from exc


def community_of(place: Place) -> Place | None:
    from .choices import PlaceKind

    if place.kind == PlaceKind.COMMUNITY:
        return place
    ids = place.ancestor_ids
    return Place.objects.filter(pk__in=ids, kind=PlaceKind.COMMUNITY).first()
