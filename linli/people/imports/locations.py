"""Buildings, entrances and dwellings named in a sheet: canonical names, and finding or creating them in bulk.

Staff write the same building as "1", "1栋", "1号楼" or "01幢"; all of them mean the building the platform
calls "1栋" (and "1单元", "101"). Names that are not a plain number stay as written ("综合楼", "A座").
A name matches an existing place under the same parent when both have the same canonical name, so a
platform building called "1号楼" is found again by "1" or "1栋" and never duplicated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place
from linli.places.paths import child_path, natural_key

from .bulk import Inserter, reserve_ids

_BUILDING = re.compile(r"(\d+)(?:号楼|号|栋|幢|座|#)?")
_ENTRANCE = re.compile(r"(\d+)(?:单元|门|号)?")
_DWELLING = re.compile(r"(\d+)(?:室|号|户)?")


def building_name(text: str) -> str:
    m = _BUILDING.fullmatch(text.replace(" ", ""))
    return f"{int(m.group(1))}栋" if m else text


def entrance_name(text: str) -> str:
    m = _ENTRANCE.fullmatch(text.replace(" ", ""))
    return f"{int(m.group(1))}单元" if m else text


def dwelling_name(text: str) -> str:
    m = _DWELLING.fullmatch(text.replace(" ", ""))
    return m.group(1) if m else text


CANONICAL = {
    PlaceKind.BUILDING: building_name,
    PlaceKind.ENTRANCE: entrance_name,
    PlaceKind.DWELLING: dwelling_name,
}
LEVELS = (PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.DWELLING)


@dataclass(frozen=True)
class Node:
    pk: int
    path: str
    depth: int


Address = tuple[int, str, str, str]  # estate id, building, entrance, dwelling (canonical names)


class PlaceResolver:
    """Every active building, entrance and dwelling under ``root`` in memory; missing ones are created in bulk."""

    def __init__(self, root: Place, source: str):
        self.source = source
        self.estates: dict[int, Node] = {}
        self.children: dict[tuple[int, str], Node] = {}
        rows = Place.objects.filter(
            path__startswith=root.path, status=PlaceStatus.ACTIVE,
            kind__in=[PlaceKind.ESTATE, *LEVELS],
        ).values_list("pk", "parent_id", "kind", "name", "path", "depth").order_by("depth", "sort_key", "pk")
        for pk, parent_id, kind, name, path, depth in rows:
            node = Node(pk, path, depth)
            if kind == PlaceKind.ESTATE:
                self.estates[pk] = node
            else:
                self.children.setdefault((parent_id, CANONICAL[kind](name)), node)

    def dwellings(self, addresses: set[Address]) -> dict[Address, Node]:
        """The dwelling of each address, creating the buildings, entrances and dwellings that do not exist."""
        parents: dict[Address, Node] = {a: self.estates[a[0]] for a in addresses}
        for level, kind in enumerate(LEVELS, start=1):
            wanted = {(parents[a].pk, a[level]) for a in addresses}
            self._create(kind, [(p, n) for p, n in sorted(wanted) if (p, n) not in self.children], parents)
            parents = {a: self.children[(parents[a].pk, a[level])] for a in addresses}
        return parents

    def _create(self, kind: str, missing: list[tuple[int, str]], parents: dict[Address, Node]) -> None:
        if not missing:
            return
        parent_nodes = {n.pk: n for n in parents.values()}
        rows = []
        for pk, (parent_pk, name) in zip(reserve_ids(Place, len(missing)), missing, strict=True):
            parent = parent_nodes[parent_pk]
            node = self.children[(parent_pk, name)] = Node(pk, child_path(parent.path, pk), parent.depth + 1)
            rows.append({"id": pk, "kind": kind, "parent_id": parent_pk, "name": name, "depth": node.depth,
                         "path": node.path, "sort_key": natural_key(name), "attrs": {"source": self.source}})
        Inserter(Place, explicit_ids=True).insert(rows)
