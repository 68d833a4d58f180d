"""API schemas of residents, occupancies, care tags, emergency contacts and import jobs.

Rows and details carry only masked ID numbers and phones; the full value comes from the audited reveal endpoint.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from linli.core.identity import age_on
from linli.places.schemas import Id

from .choices import ImportStatus, Relation, ResidentStatus, Sex

SexCode = Literal["M", "F", "U"]
RelationName = Literal[tuple(Relation.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(ResidentStatus.values)]  # type: ignore[valid-type]


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


class CareTagOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    parent_id: int | None
    has_grade: bool


class ResidentTagOut(Schema):
    code: str
    name: str
    name_en: str
    grade: int | None
    since: dt.date | None

    @staticmethod
    def resolve_code(obj) -> str:
        return obj.tag.code

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.tag.name

    @staticmethod
    def resolve_name_en(obj) -> str:
        return obj.tag.name_en


class ResidentRow(Schema):
    """One line of the resident list. ``address`` is the home below the community (estate building entrance flat)."""

    id: int
    name: str
    sex: str
    sex_label: str
    birth_date: dt.date | None
    age: int | None
    id_mask: str
    phone_mask: str
    status: str
    status_label: str
    place_id: int
    place_name: str
    address: str
    tags: list[ResidentTagOut]

    @staticmethod
    def resolve_sex_label(obj) -> str:
        return _label(Sex, obj.sex)

    @staticmethod
    def resolve_status_label(obj) -> str:
        return _label(ResidentStatus, obj.status)

    @staticmethod
    def resolve_age(obj) -> int | None:
        return age_on(obj.birth_date, dt.date.today())

    @staticmethod
    def resolve_place_name(obj) -> str:
        return obj.place.name

    @staticmethod
    def resolve_tags(obj) -> list:
        return obj.open_tags


class ResidentPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ResidentRow]


class OccupancyOut(Schema):
    id: int
    resident_id: int
    dwelling_id: int
    address: str
    relation: str
    relation_label: str
    since: dt.date | None
    until: dt.date | None
    note: str

    @staticmethod
    def resolve_dwelling_id(obj) -> int:
        return obj.place_id

    @staticmethod
    def resolve_relation_label(obj) -> str:
        return _label(Relation, obj.relation)


class ContactOut(Schema):
    id: int
    name: str
    relation: str
    phone_mask: str
    contact_resident_id: int | None
    priority: int


class ResidentDetail(ResidentRow):
    ethnicity: str
    notes: str
    has_smartphone: bool
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    occupancies: list[OccupancyOut]
    emergency_contacts: list[ContactOut]
    can_edit: bool
    can_reveal: bool

    @staticmethod
    def resolve_occupancies(obj) -> list:
        return obj.occupancies_out

    @staticmethod
    def resolve_emergency_contacts(obj) -> list:
        return obj.contacts_out


class ResidentFields(Schema):
    """A resident's own fields; PATCH changes only the ones sent. The ID number decides sex and birth date."""

    name: str | None = Field(None, max_length=60)
    sex: SexCode | None = None
    birth_date: dt.date | None = None
    id_number: str | None = Field(None, max_length=40, description="18 characters (GB 11643); stored encrypted")
    phone: str | None = Field(None, max_length=30, description="mainland mobile number; stored encrypted")
    ethnicity: str | None = Field(None, max_length=20)
    notes: str | None = Field(None, max_length=2000)
    has_smartphone: bool | None = None
    status: StatusName | None = None


class ResidentCreate(ResidentFields):
    place_id: Id = Field(..., description="the home dwelling (or provisionally its community, estate or building)")
    name: str = Field(..., max_length=60)
    relation: RelationName | None = Field(None, description="relation in the dwelling's household")
    since: dt.date | None = None
    tags: list[str] = Field([], description="care tag codes, 'disabled:2' for a grade")


class RevealIn(Schema):
    field: Literal["id_number", "phone"]
    reason: str = Field(..., min_length=1, max_length=200, description="why you need the full value (audited)")


class RevealOut(Schema):
    field: str
    value: str


class OccupancyIn(Schema):
    dwelling_id: Id
    relation: RelationName
    since: dt.date | None = None
    make_home: bool = Field(True, description="the dwelling becomes the resident's home (owners excepted)")
    note: str = Field("", max_length=200)


class OccupancyEndIn(Schema):
    until: dt.date | None = Field(None, description="empty: today")


class TagsIn(Schema):
    tags: list[str] = Field(..., description="the complete set of open tags, e.g. ['elderly_alone', 'disabled:2']")


class ContactIn(Schema):
    name: str = Field(..., max_length=60)
    phone: str = Field(..., max_length=30)
    relation: str = Field("", max_length=20)
    priority: int = Field(1, ge=1, le=9)


class HouseholdMember(Schema):
    occupancy_id: int
    relation: str
    relation_label: str
    since: dt.date | None
    resident_id: int
    name: str
    sex: str
    age: int | None
    phone_mask: str

    @staticmethod
    def resolve_occupancy_id(obj) -> int:
        return obj.pk

    @staticmethod
    def resolve_relation_label(obj) -> str:
        return _label(Relation, obj.relation)

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.resident.name

    @staticmethod
    def resolve_sex(obj) -> str:
        return obj.resident.sex

    @staticmethod
    def resolve_age(obj) -> int | None:
        return age_on(obj.resident.birth_date, dt.date.today())

    @staticmethod
    def resolve_phone_mask(obj) -> str:
        return obj.resident.phone_mask


class HouseholdOut(Schema):
    dwelling_id: int
    address: str
    members: list[HouseholdMember]


class ImportJobOut(Schema):
    id: int
    place_id: int
    place_path: str
    original_name: str
    status: str
    status_label: str
    progress: int
    total_rows: int
    processed_rows: int
    valid_rows: int
    error_rows: int
    created_count: int
    updated_count: int
    unchanged_count: int
    message: str
    created_by_id: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_status_label(obj) -> str:
        return _label(ImportStatus, obj.status)


class ImportJobPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ImportJobOut]


class ImportRowErrorOut(Schema):
    row: int
    column: str
    code: str
    message_zh: str
    message_en: str
    value: str


class ImportRowErrorPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ImportRowErrorOut]


class ImportCommitIn(Schema):
    keep: Literal["valid", "nothing"] = Field(..., description="keep the valid rows, or discard the whole sheet")
