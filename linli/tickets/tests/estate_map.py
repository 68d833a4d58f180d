"""Setup data for the place picker: 祥和苑 of the test world gets a boundary, its 1栋 a point and a footprint, a 2栋
with a point, and an express point (快递点) facility; 桂花苑 gets a facility of its own (which 祥和苑's residents
must not be able to choose)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linli.core.actor import Actor
from linli.places.actions import create_facility, create_place, update_place

LNG, LAT = 114.2961, 29.8331


def square(lng: float, lat: float, half: float) -> dict[str, Any]:
    ring = [[lng - half, lat - half], [lng + half, lat - half], [lng + half, lat + half], [lng - half, lat + half],
            [lng - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class EstateMap:
    building_2: Any
    express: Any  # the facility of 祥和苑
    other_facility: Any  # a facility of 桂花苑


def map_estate(world) -> EstateMap:
    system = Actor.system("test-map")
    update_place(actor=system, place=world.estate_a, boundary=square(LNG, LAT, 0.002))
    update_place(actor=system, place=world.building_a, longitude=LNG - 0.001, latitude=LAT + 0.001,
                 boundary=square(LNG - 0.001, LAT + 0.001, 0.0002))
    building_2 = create_place(actor=system, kind="building", parent=world.estate_a, name="2栋",
                              longitude=LNG + 0.001, latitude=LAT + 0.001)
    express = create_facility(actor=system, place=world.estate_a, kind="express_point", name="快递点",
                              longitude=LNG + 0.0012, latitude=LAT - 0.0012)
    other = create_facility(actor=system, place=world.estate_b, kind="express_point", name="桂花苑快递柜",
                            longitude=114.31, latitude=29.84)
    for place in (world.estate_a, world.building_a):
        place.refresh_from_db()
    return EstateMap(building_2=building_2, express=express, other_facility=other)
