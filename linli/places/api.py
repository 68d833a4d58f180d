"""/api/v1/: the place tree, estate merges, grids, facilities and coordinate conversion."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet
from ninja import Field, Query, Router, Schema, Status

from linli.api import Paging, actor_of, paginate
from linli.core.actor import Actor
from linli.core.permissions import Perm

from . import actions, geo, queries
from .choices import PlaceStatus
from .models import Grid, Place, PlaceEvent
from .schemas import (
    CoordinateSystem,
    FacilityCreate,
    FacilityFields,
    FacilityKindName,
    FacilityOut,
    FacilityPage,
    GeoConverted,
    GridCreate,
    GridOut,
    GridPage,
    GridUpdate,
    Id,
    MergeEstatesIn,
    PlaceCreate,
    PlaceDetail,
    PlaceEventPage,
    PlaceFields,
    PlaceKindName,
    PlacePage,
    PlaceStatusName,
)

router = Router(tags=["places"])


def _with_child_count(qs: QuerySet[Place]) -> QuerySet[Place]:
    return qs.annotate(child_count=Count("children", filter=Q(children__status=PlaceStatus.ACTIVE)))


def _detail(actor: Actor, place: Place) -> Place:
    """The place as the detail schema shows it (with its active children counted), read through the actor's scope."""
    return _with_child_count(queries.visible_places(actor, include_inactive=True)).get(pk=place.pk)


# ---------------------------------------------------------------- places

class PlaceFilter(Schema):
    parent: Id | None = None
    kind: PlaceKindName | None = None
    q: str | None = Field(None, description="part of the name, or the start of the code")
    status: PlaceStatusName | None = Field(None, description="empty: active places only")


@router.get("/places", response=PlacePage, summary="Places I can see: children of a parent, by kind, name or code")
def list_places(request, filters: Query[PlaceFilter], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PLACE_VIEW)
    qs = queries.visible_places(actor, include_inactive=filters.status is not None)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    if filters.parent is not None:
        qs = qs.filter(parent=queries.access_place(actor, filters.parent))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    text = (filters.q or "").strip()
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(code__startswith=text))
    return paginate(_with_child_count(qs).order_by("depth", "sort_key", "name", "id"), paging)


@router.post("/places/merge-estates", response=PlaceDetail, summary="拆墙并院: merge estates into one")
def merge_estates(request, payload: MergeEstatesIn):
    actor = actor_of(request)
    estates = [queries.access_place(actor, pk) for pk in dict.fromkeys(payload.estate_ids)]
    into = queries.access_place(actor, payload.into_id) if payload.into_id is not None else None
    target = actions.merge_estates(actor=actor, estates=estates, into=into, into_name=payload.into_name,
                                   note=payload.note)
    return _detail(actor, target)


@router.get("/places/{id:place_id}", response=PlaceDetail, summary="One place with its ancestors (breadcrumb)")
def get_place(request, place_id: int):
    actor = actor_of(request)
    return _detail(actor, queries.access_place(actor, place_id))


@router.post("/places", response={201: PlaceDetail}, summary="Add a place under a parent")
def create_place(request, payload: PlaceCreate):
    actor = actor_of(request)
    parent = queries.access_place(actor, payload.parent_id) if payload.parent_id is not None else None
    data = payload.model_dump(exclude_unset=True, exclude={"kind", "parent_id"})
    return Status(201, _detail(actor, actions.create_place(actor=actor, kind=payload.kind, parent=parent, **data)))


@router.patch("/places/{id:place_id}", response=PlaceDetail, summary="Change a place's attributes (only the fields sent)")
def update_place(request, place_id: int, payload: PlaceFields):
    actor = actor_of(request)
    place = queries.access_place(actor, place_id)
    return _detail(actor, actions.update_place(actor=actor, place=place, **payload.model_dump(exclude_unset=True)))


@router.get("/places/{id:place_id}/events", response=PlaceEventPage, summary="History of a place: merges, moves, renames")
def place_events(request, place_id: int, paging: Query[Paging]):
    place = queries.access_place(actor_of(request), place_id)
    qs = PlaceEvent.objects.filter(Q(place=place) | Q(old_parent=place) | Q(new_parent=place)).order_by("-at", "-id")
    return paginate(qs, paging)


# ---------------------------------------------------------------- grids

def _with_members(qs: QuerySet[Grid]) -> QuerySet[Grid]:
    return qs.prefetch_related(
        Prefetch("buildings", queryset=Place.objects.only("id")),
        Prefetch("workers", queryset=get_user_model().objects.only("id")),
    )


def _grid(actor: Actor, pk: int) -> Grid:
    return _with_members(queries.visible_grids(actor)).get(pk=pk)


class GridFilter(Schema):
    place: Id | None = Field(None, description="grids inside this place")


@router.get("/grids", response=GridPage, summary="Grids I can see")
def list_grids(request, filters: Query[GridFilter], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PLACE_VIEW)
    qs = queries.visible_grids(actor)
    if filters.place is not None:
        qs = qs.filter(place_path__startswith=queries.access_place(actor, filters.place).path)
    return paginate(_with_members(qs), paging)


@router.post("/grids", response={201: GridOut}, summary="Draw a grid: buildings of one community and its workers")
def create_grid(request, payload: GridCreate):
    actor = actor_of(request)
    community = queries.access_place(actor, payload.community_id)
    grid = actions.save_grid(actor=actor, community=community, name=payload.name, code=payload.code,
                             building_ids=payload.building_ids, worker_ids=payload.worker_ids)
    return Status(201, _grid(actor, grid.pk))


@router.patch("/grids/{id:grid_id}", response=GridOut, summary="Rename a grid or change its buildings or workers")
def update_grid(request, grid_id: int, payload: GridUpdate):
    actor = actor_of(request)
    grid = queries.access_grid(actor, grid_id)
    building_ids = payload.building_ids
    if building_ids is None:
        building_ids = list(grid.buildings.values_list("pk", flat=True))
    actions.save_grid(actor=actor, community=grid.place, grid=grid, building_ids=building_ids,
                      name=grid.name if payload.name is None else payload.name,
                      code=grid.code if payload.code is None else payload.code, worker_ids=payload.worker_ids)
    return _grid(actor, grid.pk)


# ---------------------------------------------------------------- facilities

class FacilityFilter(Schema):
    kind: FacilityKindName | None = None
    place: Id | None = Field(None, description="facilities inside this place")
    q: str | None = Field(None, description="part of the name")


@router.get("/facilities", response=FacilityPage, summary="Facilities I can see")
def list_facilities(request, filters: Query[FacilityFilter], paging: Query[Paging]):
    actor = actor_of(request)
    actor.require(Perm.PLACE_VIEW)
    qs = queries.visible_facilities(actor)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.place is not None:
        qs = qs.filter(place_path__startswith=queries.access_place(actor, filters.place).path)
    text = (filters.q or "").strip()
    if text:
        qs = qs.filter(name__contains=text)
    return paginate(qs.order_by("place_path", "kind", "name", "id"), paging)


@router.post("/facilities", response={201: FacilityOut}, summary="Add a facility to a street, community, estate or building")
def create_facility(request, payload: FacilityCreate):
    actor = actor_of(request)
    place = queries.access_place(actor, payload.place_id)
    data = payload.model_dump(exclude_unset=True, exclude={"place_id"})
    return Status(201, actions.create_facility(actor=actor, place=place, **data))


@router.patch("/facilities/{id:facility_id}", response=FacilityOut, summary="Change a facility (only the fields sent)")
def update_facility(request, facility_id: int, payload: FacilityFields):
    actor = actor_of(request)
    facility = queries.access_facility(actor, facility_id)
    return actions.update_facility(actor=actor, facility=facility, **payload.model_dump(exclude_unset=True))


# ---------------------------------------------------------------- coordinates

class GeoQuery(Schema):
    lng: float = Field(..., ge=-180, le=180, description="longitude in the source system")
    lat: float = Field(..., ge=-90, le=90, description="latitude in the source system")
    source: CoordinateSystem = Field(..., alias="from")
    target: CoordinateSystem = Field(..., alias="to")


@router.get("/geo/convert", response=GeoConverted, summary="Convert a point between WGS-84, GCJ-02 (Amap) and BD-09 (Baidu)")
def convert_point(request, point: Query[GeoQuery]):
    lng, lat = geo.convert(point.lng, point.lat, point.source, point.target)
    return {"lng": round(lng, 8), "lat": round(lat, 8), "system": point.target,
            "in_china": not geo.out_of_china(point.lng, point.lat)}
