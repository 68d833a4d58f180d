"""Checks shared by the resident form, the API and the spreadsheet import: one set of rules, one set of messages."""

from __future__ import annotations

import datetime as dt
import re

from linli.core.errors import ErrorCollector
from linli.core.identity import (
    IdNumberError,
    birth_date_from_id,
    clean_text,
    normalize_id_number,
    normalize_mobile,
    sex_from_id,
)

from .choices import RELATION_WORDS, Relation, Sex

SEX_WORDS = {"男": Sex.MALE, "m": Sex.MALE, "male": Sex.MALE, "女": Sex.FEMALE, "f": Sex.FEMALE, "female": Sex.FEMALE,
             "未知": Sex.UNKNOWN, "u": Sex.UNKNOWN, "": Sex.UNKNOWN}
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s.*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: object) -> dt.date | None:
    """A date from a form or a cell: date objects, Excel serial numbers, or text such as 2026-04-23,
    2026/4/23, 2026.4.23, 20260423, 2026年4月23日. Raises ValueError when it is none of these."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel serials up to 9999-12-31
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError("serial out of range")
    text = clean_text(value)
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # a serial that arrived as text
        return EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError("not a date")


def check_id_number(value: object, errors: ErrorCollector, field: str = "id_number") -> str:
    if value in (None, ""):
        return ""
    try:
        return normalize_id_number(value)
    except IdNumberError as exc:
        errors.errors.append(exc.field_error(field))
        return ""


def check_phone(value: object, errors: ErrorCollector, field: str = "phone") -> str:
    if value in (None, ""):
        return ""
    try:
        return normalize_mobile(value)
    except IdNumberError as exc:
        errors.errors.append(exc.field_error(field))
        return ""


def check_sex(value: object, errors: ErrorCollector, field: str = "sex") -> str:
    word = clean_text(value).lower()
    if word in SEX_WORDS:
        return SEX_WORDS[word]
    if word.upper() in Sex.values:
        return word.upper()
    errors.add(field, "invalid_choice", "性别应为男或女", "sex must be male or female")
    return Sex.UNKNOWN


def check_relation(value: object, errors: ErrorCollector, field: str = "relation") -> str:
    word = clean_text(value)
    if word in Relation.values:
        return word
    if word.lower() in RELATION_WORDS:
        return RELATION_WORDS[word.lower()]
    if word in RELATION_WORDS:
        return RELATION_WORDS[word]
    errors.add(field, "invalid_choice", "与户主关系应为业主、户主、家庭成员或租户",
               "the relation must be owner, head, member or tenant")
    return ""


def check_date(value: object, errors: ErrorCollector, field: str, zh: str) -> dt.date | None:
    try:
        parsed = parse_date(value)
    except ValueError:
        errors.add(field, "date", f"{zh}不是有效日期（例如 2026-04-23）", f"{field} is not a date (e.g. 2026-04-23)")
        return None
    if parsed is not None and not (dt.date(1890, 1, 1) <= parsed <= dt.date(2100, 12, 31)):
        errors.add(field, "date_range", f"{zh}超出合理范围", f"{field} is out of range")
        return None
    return parsed


def reconcile_identity(id_number: str, sex: str, birth_date: dt.date | None, errors: ErrorCollector,
                       *, sex_given: bool, birth_given: bool) -> tuple[str, dt.date | None]:
    """The birth date and sex written in the ID number must agree with the record; missing ones are filled in."""
    if not id_number:
        return sex, birth_date
    id_birth = birth_date_from_id(id_number)
    id_sex = sex_from_id(id_number)
    if birth_given and birth_date is not None and id_birth != birth_date:
        errors.add("birth_date", "mismatch_id", f"出生日期与身份证号不符（身份证为{id_birth:%Y-%m-%d}）",
                   f"the birth date disagrees with the ID number ({id_birth:%Y-%m-%d})")
    if sex_given and sex in (Sex.MALE, Sex.FEMALE) and sex != id_sex:
        errors.add("sex", "mismatch_id", "性别与身份证号不符", "the sex disagrees with the ID number")
    return (id_sex if not sex_given or sex == Sex.UNKNOWN else sex), (birth_date or id_birth)


def check_name(value: object, errors: ErrorCollector, field: str = "name") -> str:
    name = clean_text(value)
    if not name:
        errors.add(field, "required", "姓名不能为空", "the name is required")
    elif len(name) > 60:
        errors.add(field, "too_long", "姓名不能超过60个字", "the name is longer than 60 characters")
    elif re.search(r"[\d<>{}\\]", name):
        errors.add(field, "characters", "姓名不能含数字或特殊符号", "the name contains digits or symbols")
    return name
