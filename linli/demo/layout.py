"""Where the demo's places are: 咸安区 (Xianning, Hubei) with 浮山街道 and 永安街道, their communities and estates.

Coordinates are WGS-84 around the real 浮山街道 (about 114.30 E, 29.83 N). Estates sit a few hundred metres apart;
their buildings stand in rows inside them (slab blocks facing south, as in estates of the 1980s-2000s) and each
estate's boundary is a GeoJSON polygon drawn around its buildings. Names of streets and communities are real;
estates other than those of the 祥和苑 field case, addresses and every person are invented.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

METRES_PER_DEGREE_LAT = 111_320.0


@dataclass(frozen=True)
class EstateSpec:
    name: str
    year_built: int
    households: int  # at the full demo size of 2,000 households
    east_m: float  # centre, in metres from the community centre
    north_m: float
    address: str
    floors: int = 6
    entrances: int = 2
    per_floor: int = 2  # dwellings per floor and entrance


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    code: str
    centre: tuple[float, float]
    estates: tuple[EstateSpec, ...]
    attrs: dict = field(default_factory=dict)
    # (new estate name, names of the estates merged into it, note) — the field case's 拆墙并院.
    merge: tuple[str, tuple[str, ...], str] | None = None


@dataclass(frozen=True)
class StreetSpec:
    name: str
    code: str
    centre: tuple[float, float]
    communities: tuple[CommunitySpec, ...]


DISTRICT = ("咸安区", "421202", (114.2988, 29.8527))
MERGED_ESTATE = "祥和苑"
XIANGHE_SOURCES = ("建委宿舍", "社保局宿舍", "医保局宿舍", "邮政宿舍", "龙祥小区")
MERGE_NOTE = "拆墙并院：拆除围墙11处，5个小区合并为祥和苑；5个党支部合并为1个党支部、5个党小组"

STREETS: tuple[StreetSpec, ...] = (
    StreetSpec("浮山街道", "421202001", (114.3010, 29.8300), (
        CommunitySpec(
            "梅园社区", "421202001001", (114.2975, 29.8325),
            estates=(
                EstateSpec("建委宿舍", 1986, 60, -170, 60, "咸安区浮山街道青龙路2号"),
                EstateSpec("社保局宿舍", 1990, 44, -10, 60, "咸安区浮山街道青龙路6号"),
                EstateSpec("医保局宿舍", 1993, 40, 140, 60, "咸安区浮山街道青龙路10号"),
                EstateSpec("邮政宿舍", 1988, 44, -120, -60, "咸安区浮山街道梅园路3号"),
                EstateSpec("龙祥小区", 1995, 76, 60, -75, "咸安区浮山街道梅园路9号"),
                EstateSpec("青龙花园", 1999, 360, 470, 20, "咸安区浮山街道青龙路36号", floors=7),
                EstateSpec("梅园新村", 2004, 420, -40, -430, "咸安区浮山街道梅园路58号", floors=7, entrances=3),
            ),
            attrs={"former_name": "青龙社区"},
            merge=(MERGED_ESTATE, XIANGHE_SOURCES, MERGE_NOTE),
        ),
        CommunitySpec(
            "桂花社区", "421202001002", (114.3090, 29.8245),
            estates=(
                EstateSpec("桂花苑", 1998, 300, -150, 60, "咸安区浮山街道桂花路18号"),
                EstateSpec("丹桂小区", 2008, 240, 220, -120, "咸安区浮山街道桂花路66号", floors=11, entrances=2),
            ),
        ),
    )),
    StreetSpec("永安街道", "421202002", (114.3220, 29.8460), (
        CommunitySpec(
            "西河社区", "421202002001", (114.3215, 29.8462),
            estates=(
                EstateSpec("西河小区", 1992, 216, -130, 40, "咸安区永安街道西河路21号"),
                EstateSpec("南门新村", 2001, 200, 170, -90, "咸安区永安街道南门街40号", floors=7),
            ),
        ),
    )),
)

BUILDING_SPACING_EAST_M = 48.0
BUILDING_SPACING_NORTH_M = 36.0
BOUNDARY_MARGIN_M = 22.0


def move(point: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m`` metres east and ``north_m`` metres north of ``point`` (small distances)."""
    lng, lat = point
    dlat = north_m / METRES_PER_DEGREE_LAT
    dlng = east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
    return round(lng + dlng, 7), round(lat + dlat, 7)


@dataclass(frozen=True)
class EstateGeometry:
    centre: tuple[float, float]
    buildings: tuple[tuple[float, float], ...]
    boundary: dict
    area_m2: int  # of the outline, rounded


def estate_geometry(centre: tuple[float, float], building_count: int, rng: random.Random) -> EstateGeometry:
    """Buildings in rows of up to three, south-facing; the boundary is the rows' outline plus a margin, its
    corners moved a few metres at random so no two estates look alike."""
    cols = min(3, building_count)
    rows = math.ceil(building_count / cols)
    width = (cols - 1) * BUILDING_SPACING_EAST_M
    height = (rows - 1) * BUILDING_SPACING_NORTH_M
    positions = []
    for i in range(building_count):
        row, col = divmod(i, cols)
        positions.append(move(centre, col * BUILDING_SPACING_EAST_M - width / 2, height / 2 - row * BUILDING_SPACING_NORTH_M))
    half_w, half_h = width / 2 + BOUNDARY_MARGIN_M, height / 2 + BOUNDARY_MARGIN_M
    corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
    ring = [list(move(centre, x + rng.uniform(-4, 4), y + rng.uniform(-4, 4))) for x, y in corners]
    ring.append(list(ring[0]))
    return EstateGeometry(centre, tuple(positions), {"type": "Polygon", "coordinates": [ring]},
                          round(4 * half_w * half_h))


def entrance_positions(building: tuple[float, float], count: int) -> list[tuple[float, float]]:
    """Stairwell doors along the south face of a slab block, 14 m apart."""
    return [move(building, (i - (count - 1) / 2) * 14.0, -6.0) for i in range(count)]


def hull_box(boundaries: list[dict], margin_m: float = 6.0) -> dict:
    """A rectangle around several polygons (the merged estate's new outline once the walls are gone)."""
    points = [pt for b in boundaries for pt in b["coordinates"][0]]
    lo = move((min(p[0] for p in points), min(p[1] for p in points)), -margin_m, -margin_m)
    hi = move((max(p[0] for p in points), max(p[1] for p in points)), margin_m, margin_m)
    ring = [[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [lo[0], lo[1]]]
    return {"type": "Polygon", "coordinates": [ring]}


def polygon_centre(boundary: dict) -> tuple[float, float]:
    ring = boundary["coordinates"][0][:-1]
    return round(sum(p[0] for p in ring) / len(ring), 7), round(sum(p[1] for p in ring) / len(ring), 7)
