"""API schemas of the place tree, grids, facilities and coordinate conversion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from .choices import FacilityKind, PlaceKind, PlaceStatus
from .models import Place
from .queries import ancestors

PlaceKindName = Literal[tuple(PlaceKind.values)]  # type: ignore[valid-type]
PlaceStatusName = Literal[tuple(PlaceStatus.values)]  # type: ignore[valid-type]
FacilityKindName = Literal[tuple(FacilityKind.values)]  # type: ignore[valid-type]
CoordinateSystem = Literal["wgs84", "gcj02", "bd09"]
# A row id in a body or a query: a positive 64-bit key (larger numbers are refused as input, not as a crash).
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class PlaceRef(Schema):
    id: int
    kind: str
    name: str


class PlaceRow(Schema):
    id: int
    kind: str
    kind_label: str
    parent_id: int | None
    path: str
    depth: int
    name: str
    code: str
    status: str
    longitude: float | None
    latitude: float | None
    year_built: int | None
    floors: int | None
    dwelling_count: int | None
    child_count: int

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(PlaceKind(obj.kind).label)


class PlaceDetail(PlaceRow):
    merged_into_id: int | None
    boundary: dict[str, Any] | None
    address: str
    area_m2: Decimal | None
    attrs: dict[str, Any]
    ancestors: list[PlaceRef]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_ancestors(obj) -> list[Place]:
        return ancestors(obj)


class PlacePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PlaceRow]


class PlaceFields(Schema):
    """The attributes staff keep on a place; PATCH changes only the ones sent."""

    name: str | None = Field(None, max_length=100)
    code: str | None = Field(None, max_length=40)
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS-84")
    latitude: float | None = Field(None, ge=-90, le=90, description="WGS-84")
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon (WGS-84)")
    address: str | None = Field(None, max_length=200)
    year_built: int | None = None
    floors: int | None = None
    dwelling_count: int | None = None
    area_m2: Decimal | None = Field(None, ge=0, lt=10**10)
    attrs: dict[str, Any] | None = None


class PlaceCreate(PlaceFields):
    kind: PlaceKindName
    parent_id: Id | None = Field(None, description="empty only for a district")
    name: str = Field(..., max_length=100)


class MergeEstatesIn(Schema):
    estate_ids: list[Id] = Field(..., min_length=1)
    into_id: Id | None = Field(None, description="merge into this existing estate ...")
    into_name: str = Field("", max_length=100, description="... or into a new estate with this name")
    note: str = Field("", max_length=500)


class PlaceEventOut(Schema):
    id: int
    place_id: int
    kind: str
    at: dt.datetime
    actor_id: int | None
    old_parent_id: int | None
    new_parent_id: int | None
    old_path: str
    new_path: str
    old_name: str
    new_name: str
    note: str


class PlaceEventPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PlaceEventOut]


class GridOut(Schema):
    id: int
    name: str
    code: str
    community_id: int
    place_path: str
    building_ids: list[int]
    worker_ids: list[int]

    @staticmethod
    def resolve_community_id(obj) -> int:
        return obj.place_id

    @staticmethod
    def resolve_building_ids(obj) -> list[int]:
        return sorted(b.pk for b in obj.buildings.all())

    @staticmethod
    def resolve_worker_ids(obj) -> list[int]:
        return sorted(w.pk for w in obj.workers.all())


class GridPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[GridOut]


class GridCreate(Schema):
    community_id: Id
    name: str = Field(..., max_length=100)
    code: str = Field("", max_length=40)
    building_ids: list[Id] = []
    worker_ids: list[Id] | None = None


class GridUpdate(Schema):
    name: str | None = Field(None, max_length=100)
    code: str | None = Field(None, max_length=40)
    building_ids: list[Id] | None = None
    worker_ids: list[Id] | None = None


class FacilityOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    place_id: int
    place_name: str
    place_path: str
    address: str
    longitude: float | None
    latitude: float | None
    floor_area_m2: Decimal | None
    land_area_m2: Decimal | None
    capacity: int | None
    opening_hours: str
    phone: str
    operator: str
    active: bool
    attrs: dict[str, Any]

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(FacilityKind(obj.kind).label) if obj.kind in FacilityKind.values else obj.kind

    @staticmethod
    def resolve_place_name(obj) -> str:
        return obj.place.name


class FacilityPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[FacilityOut]


class FacilityFields(Schema):
    kind: FacilityKindName | None = None
    name: str | None = Field(None, max_length=120)
    address: str | None = Field(None, max_length=200)
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    floor_area_m2: Decimal | None = Field(None, ge=0, lt=10**8)
    land_area_m2: Decimal | None = Field(None, ge=0, lt=10**8)
    capacity: int | None = Field(None, ge=0, le=1_000_000)
    opening_hours: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=40)
    operator: str | None = Field(None, max_length=120)
    active: bool | None = None
    attrs: dict[str, Any] | None = None


class FacilityCreate(FacilityFields):
    place_id: Id
    kind: FacilityKindName  # type: ignore[assignment]
    name: str = Field(..., max_length=120)


class GeoConverted(Schema):
    lng: float
    lat: float
    system: CoordinateSystem
    in_china: bool = Field(..., description="outside mainland China the three systems coincide")

