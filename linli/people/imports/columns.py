"""The columns of a residents sheet: one list shared by the template, the reader and the export.

Each column has a canonical Chinese header (what the template writes and what row errors name), an English
label, and the header variants staff actually write. Headers are compared after ``header_key``: NFKC, no
blanks, no required-markers (*), no bracketed hints ("身份证号（必填）"), lower case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from linli.core.identity import clean_text


@dataclass(frozen=True)
class Column:
    field: str  # the name validators use for their errors (clean_resident_fields, check_date ...)
    zh: str
    en: str
    aliases: tuple[str, ...]
    width: int = 12


COLUMNS: tuple[Column, ...] = (
    Column("estate", "小区", "Estate", ("小区名称", "所属小区", "小区名", "院落", "estate", "estatename"), 14),
    Column("building", "楼栋", "Building", ("楼栋号", "楼号", "栋号", "栋", "幢", "楼宇", "building"), 8),
    Column("entrance", "单元", "Entrance", ("单元号", "entrance", "unit"), 8),
    Column("dwelling", "房号", "Dwelling", ("房间号", "门牌号", "户号", "室号", "房屋", "dwelling", "room", "flat"), 8),
    Column("name", "姓名", "Name", ("居民姓名", "名字", "name"), 10),
    Column("sex", "性别", "Sex", ("sex", "gender"), 6),
    Column("birth_date", "出生日期", "Birth date", ("出生年月", "出生年月日", "生日", "birthdate", "dateofbirth"), 12),
    Column("id_number", "身份证号", "ID number",
           ("身份证号码", "公民身份号码", "证件号码", "身份证", "idnumber", "idno", "idcard"), 22),
    Column("phone", "手机号", "Phone", ("手机号码", "联系电话", "电话", "手机", "联系方式", "phone", "mobile"), 14),
    Column("relation", "与户主关系", "Relation to head", ("户主关系", "关系", "relation", "relationtohead"), 10),
    Column("ethnicity", "民族", "Ethnicity", ("ethnicity", "nation"), 8),
    Column("tags", "特殊人群", "Care tags", ("特殊人群类别", "人员类别", "人群类别", "标签", "tags", "caretags"), 18),
    Column("since", "入住日期", "Move-in date", ("入住时间", "迁入日期", "movein", "moveindate", "since"), 12),
    Column("notes", "备注", "Notes", ("notes", "remarks", "note"), 20),
)
BY_FIELD: dict[str, Column] = {c.field: c for c in COLUMNS}
# Without these the sheet cannot place or identify anyone; the estate is required too when importing into a
# community (``required_fields``).
REQUIRED = ("building", "entrance", "dwelling", "name", "id_number")
SENSITIVE = frozenset({"id_number", "phone"})

_BRACKETS = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_MARKERS = re.compile(r"[\s*＊:：_\-]")


def header_key(value: object) -> str:
    return _MARKERS.sub("", _BRACKETS.sub("", clean_text(value))).lower()


_LOOKUP: dict[str, str] = {}
for _col in COLUMNS:
    for _name in (_col.zh, _col.en, *_col.aliases):
        _LOOKUP.setdefault(header_key(_name), _col.field)


def field_for_header(value: object) -> str | None:
    return _LOOKUP.get(header_key(value)) if value not in (None, "") else None


def required_fields(into_community: bool) -> tuple[str, ...]:
    return (("estate",) if into_community else ()) + REQUIRED


def label(field: str) -> str:
    """The column a row error names: the canonical Chinese header."""
    column = BY_FIELD.get(field)
    return column.zh if column else field
