"""Validating a residents sheet row by row, with the same rules and messages as the resident form and the API.

Each data row becomes either a staged row (everything the commit needs, already normalised and hashed) or a
list of row errors naming the row as Excel numbers it, the column by its canonical header, a code and the
reason in Chinese and English. Nothing here writes residents or places.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.errors import ErrorCollector, FieldError
from linli.core.identity import IdNumberError, clean_text, mask_id_number, mask_phone, normalize_id_number
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place

from .. import validation as v
from ..actions import _resolve_tags, clean_resident_fields
from ..choices import Relation
from ..models import Resident
from .columns import BY_FIELD, label
from .locations import building_name, dwelling_name, entrance_name
from .staged import StagedRow

_TAG_SPLIT = re.compile(r"[、,;/ ]+")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+?\d+", re.IGNORECASE)
PLACE_NAME_MAX = 100
VALUE_MAX = 60  # ImportRowError.value
MEMO_LIMIT = 50_000  # distinct cell values remembered per column kind and job


@dataclass(frozen=True)
class RowIssue:
    row: int
    column: str
    code: str
    message_zh: str
    message_en: str
    value: str


def cell_text(value: object) -> str:
    """A cell as text: whole floats without ".0", dates as ISO, then NFKC, trimmed, inner blanks folded."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return clean_text(value)


class StoredAsNumber(ValueError):
    pass


def id_cell(value: object) -> str:
    """The ID number as text. Excel keeps 15 significant digits, so an 18-digit ID saved as a number comes back
    as a float or with its last digits turned into 000: that can never be trusted to be the same person."""
    if isinstance(value, float) and abs(value) >= 1e14:
        raise StoredAsNumber
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) >= 16 and str(value).endswith("000"):
        raise StoredAsNumber
    text = cell_text(value)
    if _SCIENTIFIC.fullmatch(text):
        raise StoredAsNumber
    return text


def date_cell(value: object) -> object:
    """Dates pass as they are (date cells, serials, text) except 8-digit numbers such as 19500315."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() \
            and 10_000_000 <= value <= 99_999_999:
        return str(int(value))
    return value


def shown_value(field: str, value: object) -> str:
    """The cell as the error list shows it: ID numbers and phones masked."""
    text = cell_text(value) if not isinstance(value, (dt.date, dt.datetime)) else value.isoformat()[:10]
    if field == "id_number":
        text = mask_id_number(text.replace(" ", ""))
    elif field == "phone":
        text = mask_phone(text.replace(" ", ""))
    return text[:VALUE_MAX]


class RowChecker:
    """Checks rows one by one for a job importing into ``place`` (an estate, or a community and its estates)."""

    def __init__(self, place: Place):
        self.place = place
        self.into_community = place.kind == PlaceKind.COMMUNITY
        estates = (Place.objects.filter(parent=place, kind=PlaceKind.ESTATE, status=PlaceStatus.ACTIVE)
                   if self.into_community else [place])
        self.estates = {clean_text(e.name): e.pk for e in estates}
        self.first_row_of: dict[str, int] = {}
        self._seen: dict[tuple[str, type, object], tuple[object, list[FieldError]]] = {}

    def _cached(self, field: str, value: object, check: Callable[[object, ErrorCollector], object],
                errors: ErrorCollector) -> Any:
        """Columns with few distinct values (estate, building, relation, tags ...) are checked once per value."""
        key = (field, type(value), value)  # 1, 1.0 and True are equal keys but different cells
        seen = self._seen.get(key)
        if seen is None:
            found = ErrorCollector()
            seen = (check(value, found), found.errors)
            if len(self._seen) < MEMO_LIMIT:
                self._seen[key] = seen
        errors.errors.extend(seen[1])
        return seen[0]

    def check(self, number: int, cells: dict[str, object]) -> tuple[StagedRow | None, list[RowIssue]]:
        errors = ErrorCollector()
        get = cells.get
        id_text = self._id_number(get("id_number"), errors)
        phone_text = cell_text(get("phone"))
        data: dict[str, object] = {
            "name": get("name"),
            "sex": self._cached("sex", get("sex"), lambda value, _: cell_text(value), errors),
            "birth_date": date_cell(get("birth_date")),
            "ethnicity": self._cached("ethnicity", get("ethnicity"), lambda value, _: cell_text(value), errors),
            "notes": _notes(get("notes")),
        }
        if id_text:
            data["id_number"] = id_text
        if phone_text:
            data["phone"] = phone_text
        clean = clean_resident_fields(data, errors, partial=False)
        relation = self._cached("relation", get("relation"), self._relation, errors)
        since = self._cached("since", get("since"), _since, errors)
        tags = self._cached("tags", get("tags"), self._tag_ids, errors)
        estate_id = self._cached("estate", get("estate"), self._estate, errors)
        building = self._cached("building", get("building"), _place_name("building", building_name), errors)
        entrance = self._cached("entrance", get("entrance"), _place_name("entrance", entrance_name), errors)
        dwelling = self._cached("dwelling", get("dwelling"), _place_name("dwelling", dwelling_name), errors)
        id_number = clean.get("id_number", "")
        id_hash = lookup_hash("id", id_number) if id_number else ""
        if id_hash:
            first = self.first_row_of.setdefault(id_hash, number)
            if first != number:
                errors.add("id_number", "duplicate_in_sheet", f"与第{first}行的身份证号重复",
                           f"the same ID number as row {first}")
        if errors.errors:
            return None, [self._issue(number, e, cells) for e in errors.errors]
        birth = clean.get("birth_date")
        phone = clean.get("phone", "")
        return StagedRow(
            row=number, estate_id=estate_id or 0, building=building, entrance=entrance, dwelling=dwelling,
            name=clean["name"], sex=clean.get("sex", ""), birth_date=birth.isoformat() if birth else None,
            id_number=id_number, id_hash=id_hash, phone=phone, phone_hash=lookup_hash("phone", phone) if phone else "",
            ethnicity=clean.get("ethnicity", ""), notes=clean.get("notes", ""), relation=relation, tags=tags,
            since=since.isoformat() if since else None,
        ), []

    def outside_scope(self, actor: Actor, rows: list[StagedRow]) -> tuple[list[StagedRow], list[RowIssue]]:
        """Rows whose person is already registered where the importer may not import are errors, not updates."""
        paths = dict(Resident.objects.filter(id_hash__in=[r.id_hash for r in rows]).values_list("id_hash", "place_path"))
        kept: list[StagedRow] = []
        issues: list[RowIssue] = []
        for r in rows:
            path = paths.get(r.id_hash)
            if path is not None and not actor.can(Perm.RESIDENT_IMPORT, path):
                issues.append(outside_scope_issue(r))
            else:
                kept.append(r)
        return kept, issues

    def _id_number(self, value: object, errors: ErrorCollector) -> str:
        try:
            text = id_cell(value)
        except StoredAsNumber:
            errors.add("id_number", "stored_as_number", "身份证号被存成了数字，末几位已丢失；请把该列设为文本格式后重新填写",
                       "the ID number was stored as a number and its last digits were lost; "
                       "format the column as text and type it again")
            return ""
        if not text:
            try:
                normalize_id_number(text)
            except IdNumberError as exc:
                errors.errors.append(exc.field_error())
        return text

    def _relation(self, value: object, errors: ErrorCollector) -> str:
        text = cell_text(value)
        return v.check_relation(text, errors) if text else Relation.MEMBER

    def _tag_ids(self, value: object, errors: ErrorCollector) -> list[list[int | None]]:
        tokens = [t for t in _TAG_SPLIT.split(cell_text(value)) if t]
        return [[tag.pk, grade] for tag, grade in _resolve_tags(tokens, errors)] if tokens else []

    def _estate(self, value: object, errors: ErrorCollector) -> int | None:
        name = cell_text(value)
        if not name:
            if self.into_community:
                errors.add("estate", "required", "小区不能为空", "the estate is required")
                return None
            return self.place.pk
        estate_id = self.estates.get(name)
        if estate_id is None:
            errors.add("estate", "unknown_estate", f"“{self.place.name}”下没有名为“{name}”的小区",
                       f"there is no estate named {name!r} in {self.place.name}")
        return estate_id

    def _issue(self, number: int, error: FieldError, cells: dict[str, object]) -> RowIssue:
        return RowIssue(number, label(error.field), error.code, error.message_zh[:200], error.message_en[:200],
                        shown_value(error.field, cells.get(error.field)))


def outside_scope_issue(r: StagedRow) -> RowIssue:
    return RowIssue(r.row, label("id_number"), "outside_scope",
                    "此人已在您管辖范围以外的社区登记，不能通过本次导入修改",
                    "this person is registered in a community outside your area and cannot be changed by this import",
                    mask_id_number(r.id_number))


def _since(value: object, errors: ErrorCollector) -> dt.date | None:
    return v.check_date(date_cell(value), errors, "since", BY_FIELD["since"].zh)


def _place_name(field: str, canonical: Callable[[str], str]) -> Callable[[object, ErrorCollector], str]:
    column = BY_FIELD[field]

    def check(value: object, errors: ErrorCollector) -> str:
        name = canonical(cell_text(value))
        if not name:
            errors.add(field, "required", f"{column.zh}不能为空", f"the {column.en.lower()} is required")
        elif len(name) > PLACE_NAME_MAX:
            errors.add(field, "too_long", f"{column.zh}不能超过{PLACE_NAME_MAX}个字",
                       f"the {column.en.lower()} is longer than {PLACE_NAME_MAX} characters")
        return name

    return check


def estate_gone_issue(r: StagedRow) -> RowIssue:
    return RowIssue(r.row, label("estate"), "estate_gone", "该小区在校验后已被合并或撤销，请重新上传",
                    "the estate was merged or retired after validation; upload the sheet again", "")


def _notes(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    return cell_text(value)
