"""Where a resident files a ticket: their own dwelling or a public spot (the estate, a building, an entrance, a
facility) of their estate, as a list (works without JavaScript, big touch targets) and as map data drawn by
Leaflet from our own coordinates and GeoJSON (a base layer only when LINLI_MAP_TILES is set).

Reads only; the places offered are ``forms.resident_places`` (the same set ``actions.submit`` accepts), the
facilities those of the resident's estates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from linli.core.actor import Actor
from linli.core.permissions import Role
from linli.places.choices import PlaceKind
from linli.places.models import Facility, Place


@dataclass
class PlaceOption:
    place: Place
    label: str
    home: bool = False
    near: bool = False  # the resident's estate, building or entrance: shown first


@dataclass
class Picker:
    options: list[PlaceOption]
    facilities: dict[int, Facility] = field(default_factory=dict)
    map: dict[str, Any] | None = None

    @property
    def common(self) -> list[PlaceOption]:
        return [o for o in self.options if o.home or o.near]

    @property
    def others(self) -> list[PlaceOption]:
        return [o for o in self.options if not (o.home or o.near)]


def _point(place: Place, by_id: dict[int, Place]) -> tuple[float, float] | None:
    """The place's own point, else (a dwelling, an entrance) the nearest ancestor's that has one."""
    for pk in reversed(place.ancestor_ids):
        other = by_id.get(pk)
        if other is not None and other.longitude is not None and other.latitude is not None:
            return other.longitude, other.latitude
        if pk != place.pk and other is not None and other.kind == PlaceKind.ESTATE:
            break
    return None


def resident_picker(actor: Actor, places: list[Place]) -> Picker:
    """The options of ``places`` (those the resident may choose) in the order an elderly resident looks for them:
    home first, then their entrance, building and estate, then the rest; the facilities of their estates that
    stand at one of these places; the map of it all."""
    homes = [g.path for g in actor.grants if g.role == Role.RESIDENT]
    near_ids = {int(x) for p in homes for x in p.strip("/").split("/") if x}
    by_id = {p.pk: p for p in places}
    ancestors = {p.pk: p for p in Place.objects.filter(pk__in={i for p in places for i in p.ancestor_ids} - by_id.keys())}
    everything = {**ancestors, **by_id}

    def label(place: Place) -> str:
        """From the estate down: 祥和苑 1栋 1单元 101."""
        ids = place.ancestor_ids
        start = next((i for i, pk in enumerate(ids) if pk in everything and everything[pk].kind == PlaceKind.ESTATE),
                     max(0, len(ids) - 3))
        return " ".join(everything[pk].name for pk in ids[start:] if pk in everything) or place.name

    options = [PlaceOption(place=p, label=label(p), home=p.path in homes, near=p.pk in near_ids) for p in places]
    options.sort(key=lambda o: (not o.home, not o.near, -o.place.depth if o.near else 0, o.place.path))
    estates = [p for p in everything.values() if p.kind == PlaceKind.ESTATE and p.pk in by_id]
    facilities: dict[int, Facility] = {}
    for estate in estates:
        for f in Facility.objects.filter(place_path__startswith=estate.path, active=True, longitude__isnull=False,
                                         latitude__isnull=False).order_by("kind", "name")[:100]:
            if f.place_id in by_id and by_id[f.place_id].kind != PlaceKind.DWELLING:
                facilities[f.pk] = f
    return Picker(options=options, facilities=facilities, map=_map(options, facilities, everything))


def _map(options: list[PlaceOption], facilities: dict[int, Facility], everything: dict[int, Place]
         ) -> dict[str, Any] | None:
    spots: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    for o in options:
        place = o.place
        if place.boundary and not o.home:
            areas.append({"place": place.pk, "name": o.label, "kind": place.kind, "boundary": place.boundary})
        point = _point(place, everything) if o.home else (
            (place.longitude, place.latitude) if place.longitude is not None and place.latitude is not None else None)
        if point is not None:
            spots.append({"key": f"place-{place.pk}", "place": place.pk, "facility": None, "name": place.name,
                          "label": o.label, "kind": "home" if o.home else place.kind, "lng": point[0], "lat": point[1]})
    for f in facilities.values():
        spots.append({"key": f"facility-{f.pk}", "place": f.place_id, "facility": f.pk, "name": f.name,
                      "label": f"{f.name}（{everything[f.place_id].name}）", "kind": "facility",
                      "lng": f.longitude, "lat": f.latitude})
    if not spots and not areas:
        return None
    return {"tiles": settings.LINLI_MAP_TILES, "spots": spots, "areas": areas}


def facility_for(picker: Picker, facility_id: int | None, place_id: int | None) -> Facility | None:
    """The facility a map click chose, when it is one of the picker's and stands at the chosen place."""
    facility = picker.facilities.get(facility_id) if facility_id else None
    if facility is None or facility.place_id != place_id:
        return None
    return facility
