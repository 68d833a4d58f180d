"""Residents to xlsx, in the columns of the import template, so an export can be edited and imported back.

One row per resident: the home dwelling (or the first open occupancy when the home is not a dwelling) with
its relation. ID numbers and phones are written in full only for residents whose place the actor may reveal;
elsewhere the stored masks are written. Residents are read in slices of ids, so the number of queries grows
with the slices, not with the rows, and memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from linli.core.actor import Actor
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind
from linli.places.models import Place

from ..choices import Relation, Sex
from ..models import Occupancy, Resident, ResidentTag
from .columns import COLUMNS, SENSITIVE

SLICE = 2000
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
SHEET_TITLE = "居民信息"
_LOCATION_KINDS = {PlaceKind.ESTATE: "estate", PlaceKind.BUILDING: "building", PlaceKind.ENTRANCE: "entrance",
                   PlaceKind.DWELLING: "dwelling"}
_SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}
_RELATION_WORDS = {r.value: str(r.label) for r in Relation}


@dataclass
class ExportResult:
    content: bytes
    rows: int
    full_rows: int


def header_cells(ws: WriteOnlyWorksheet) -> list[WriteOnlyCell]:
    bold = Font(bold=True)
    cells = []
    for col in COLUMNS:
        cell = WriteOnlyCell(ws, value=col.zh)
        cell.font = bold
        cells.append(cell)
    return cells


def prepare_sheet(ws) -> None:
    for index, col in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = col.width
    ws.freeze_panes = "A2"


class PlaceNames:
    """Names of the estates, buildings, entrances and dwellings on residents' paths, fetched once per slice."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[str, str]] = {}

    def load(self, paths: Iterable[str]) -> None:
        wanted = {int(p) for path in paths for p in path.strip("/").split("/") if p} - self._known.keys()
        wanted_list = sorted(wanted)
        for start in range(0, len(wanted_list), SLICE):
            for pk, kind, name in Place.objects.filter(pk__in=wanted_list[start:start + SLICE]).values_list("pk", "kind", "name"):
                self._known[pk] = (kind, name)

    def location(self, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in path.strip("/").split("/"):
            kind, name = self._known.get(int(p), ("", ""))
            if kind in _LOCATION_KINDS:
                out[_LOCATION_KINDS[kind]] = name
        return out


def _slices(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), SLICE):
        yield ids[start:start + SLICE]


def _cell(ws: WriteOnlyWorksheet, value: object, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def write_residents(actor: Actor, ids: list[int]) -> ExportResult:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    prepare_sheet(ws)
    ws.append(header_cells(ws))
    names = PlaceNames()
    rows = full_rows = 0
    for slice_ids in _slices(ids):
        for values, full in _rows(actor, slice_ids, names):
            ws.append([
                _cell(ws, value, TEXT_FORMAT) if col.field in SENSITIVE
                else _cell(ws, value, DATE_FORMAT) if isinstance(value, dt.date) else value
                for col, value in zip(COLUMNS, values, strict=True)
            ])
            rows += 1
            full_rows += full
    buf = io.BytesIO()
    wb.save(buf)
    return ExportResult(buf.getvalue(), rows, full_rows)


def _rows(actor: Actor, ids: list[int], names: PlaceNames) -> Iterator[tuple[list[object], bool]]:
    people = {r.pk: r for r in Resident.objects.filter(pk__in=ids).defer("id_number", "phone")}
    revealable = [pk for pk, r in people.items() if actor.can(Perm.RESIDENT_REVEAL, r.place_path)]
    secrets = {pk: (id_number, phone) for pk, id_number, phone in
               Resident.objects.filter(pk__in=revealable).values_list("pk", "id_number", "phone")}
    homes = _homes(people)
    tags = _tags(ids)
    names.load([homes[pk][0] for pk in people])
    for pk in ids:
        r = people[pk]
        path, relation, since = homes[pk]
        where = names.location(path)
        id_number, phone = secrets.get(pk, (r.id_mask, r.phone_mask))
        yield [
            where.get("estate", ""), where.get("building", ""), where.get("entrance", ""), where.get("dwelling", ""),
            r.name, _SEX_WORDS.get(r.sex, ""), r.birth_date, id_number, phone, _RELATION_WORDS.get(relation, ""),
            r.ethnicity, "、".join(tags.get(pk, [])), since, r.notes,
        ], pk in secrets


def _homes(people: dict[int, Resident]) -> dict[int, tuple[str, str, dt.date | None]]:
    """(place path, relation, since) per resident: the open occupancy of the home dwelling, else the first open one."""
    chosen: dict[int, tuple[bool, str, str, dt.date | None]] = {}
    occupancies = Occupancy.objects.filter(resident_id__in=list(people), until__isnull=True).order_by("since", "pk")
    for resident_id, place_id, path, relation, since in occupancies.values_list(
            "resident_id", "place_id", "place_path", "relation", "since"):
        at_home = place_id == people[resident_id].place_id
        if resident_id not in chosen or (at_home and not chosen[resident_id][0]):
            chosen[resident_id] = (at_home, path, relation, since)
    return {pk: (chosen[pk][1:] if pk in chosen else (r.place_path, "", None)) for pk, r in people.items()}


def _tags(ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows = ResidentTag.objects.filter(resident_id__in=ids, until__isnull=True).order_by("tag__sort", "tag_id")
    for resident_id, name, grade in rows.values_list("resident_id", "tag__name", "grade"):
        out.setdefault(resident_id, []).append(f"{name}:{grade}" if grade else name)
    return out
