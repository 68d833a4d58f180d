"""The demo drawn in memory before anything is written: estates, buildings, entrances, dwellings, households.

Everything comes from one ``random.Random(seed)`` in a fixed order, so the same seed and size always give the
same plan (no set iteration, no ``hash()``, no clock).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .layout import (
    MERGED_ESTATE,
    STREETS,
    CommunitySpec,
    EstateGeometry,
    EstateSpec,
    StreetSpec,
    entrance_positions,
    estate_geometry,
    move,
)
from .population import Household, Person, Population

FULL_SIZE = 2000  # households at which EstateSpec.households apply
OCCUPANCY = 0.85  # share of dwellings lived in (old estates have empty and unused flats)
PARTY_HOUSEHOLDS = 16  # 党员中心户 of 祥和苑 at full size (field case)
ABSENTEE_OWNER_SHARE = 0.35  # rented dwellings whose owner lives in another flat of the same estate


@dataclass
class DwellingPlan:
    name: str
    area_m2: Decimal
    household: Household | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    place: Any = None  # the Place once written


@dataclass
class EntrancePlan:
    name: str
    location: tuple[float, float]
    dwellings: list[DwellingPlan]
    place: Any = None


@dataclass
class BuildingPlan:
    name: str
    location: tuple[float, float]
    floors: int
    entrances: list[EntrancePlan]
    head: Person | None = None  # 楼栋长, the head of a party-member household
    place: Any = None


@dataclass
class EstatePlan:
    spec: EstateSpec
    community: CommunitySpec
    street: StreetSpec
    geometry: EstateGeometry
    buildings: list[BuildingPlan]
    place: Any = None

    def dwellings(self) -> Iterator[tuple[BuildingPlan, EntrancePlan, DwellingPlan]]:
        for b in self.buildings:
            for e in b.entrances:
                for d in e.dwellings:
                    yield b, e, d

    def households(self) -> list[Household]:
        return [d.household for _, _, d in self.dwellings() if d.household is not None]


def scaled(full: int, households: int, minimum: int = 1) -> int:
    return max(minimum, round(full * households / FULL_SIZE))


def _structure(spec: EstateSpec, community: CommunitySpec, street: StreetSpec, count: int,
               rng: random.Random) -> EstatePlan:
    per_building = spec.floors * spec.entrances * spec.per_floor
    geometry = estate_geometry(move(community.centre, spec.east_m, spec.north_m),
                               max(1, math.ceil(count / (per_building * OCCUPANCY))), rng)
    small, large = (50, 76) if spec.year_built < 1998 else (72, 128)
    buildings = []
    for i, location in enumerate(geometry.buildings, start=1):
        entrances = []
        for j, door in enumerate(entrance_positions(location, spec.entrances), start=1):
            dwellings = [DwellingPlan(f"{floor}{unit:02d}", Decimal(rng.randint(small * 10, large * 10)) / 10)
                         for floor in range(1, spec.floors + 1) for unit in range(1, spec.per_floor + 1)]
            entrances.append(EntrancePlan(f"{j}单元", door, dwellings))
        buildings.append(BuildingPlan(f"{i}栋", location, spec.floors, entrances))
    return EstatePlan(spec, community, street, geometry, buildings)


def _populate(estate: EstatePlan, count: int, pop: Population) -> None:
    slots = list(estate.dwellings())
    for index in sorted(pop.rng.sample(range(len(slots)), count)):
        household = pop.random_household()
        pop.move_in_dates(household, estate.spec.year_built)
        slots[index][2].household = household
    for _, entrance, dwelling in slots:
        h = dwelling.household
        if h is not None and h.kind == "elderly_alone":
            neighbours = [p for d in entrance.dwellings if d.household is not None and d is not dwelling
                          for p in d.household.members]
            pop.emergency_contacts(h, neighbours)
    owners = [h.head for h in estate.households() if not h.tenants and h.head.age >= 30]
    for h in estate.households():
        if h.tenants and owners and pop.rng.random() < ABSENTEE_OWNER_SHARE:
            h.absentee_owner = pop.rng.choice(owners)


def _party_households(estates: list[EstatePlan], count: int, pop: Population) -> None:
    """Mark ``count`` party-member households, one per building first (their heads are the building heads)."""
    marked = 0
    for pass_ in (0, 1):
        for estate in estates:
            for building in estate.buildings:
                if marked >= count:
                    return
                eligible = [d for e in building.entrances for d in e.dwellings if d.household is not None
                            and not d.household.tenants and not d.household.party_household and d.household.head.age >= 30]
                if not eligible or (pass_ == 0 and building.head is not None):
                    continue
                dwelling = pop.rng.choice(eligible)
                pop.make_party_household(dwelling.household)
                dwelling.attrs["party_member_household"] = True
                if building.head is None:
                    building.head = dwelling.household.head
                marked += 1


def plan_demo(rng: random.Random, households: int) -> list[EstatePlan]:
    pop = Population(rng)
    estates: list[EstatePlan] = []
    for street in STREETS:
        for community in street.communities:
            for spec in community.estates:
                count = scaled(spec.households, households, minimum=2)
                estate = _structure(spec, community, street, count, rng)
                _populate(estate, count, pop)
                estates.append(estate)
            if community.merge is not None:
                sources = [e for e in estates if e.community is community and e.spec.name in community.merge[1]]
                _party_households(sources, scaled(PARTY_HOUSEHOLDS, households), pop)
    return estates


def merged_sources(estates: list[EstatePlan]) -> list[EstatePlan]:
    """The estates that become 祥和苑, in the order of the field case."""
    return [e for e in estates if e.community.merge is not None and e.community.merge[0] == MERGED_ESTATE
            and e.spec.name in e.community.merge[1]]
