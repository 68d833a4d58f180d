"""Chinese resident ID numbers (GB 11643-1999), mobile numbers, and the text clean-up real sheets need."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.utils import timezone

from .errors import FieldError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
# Province-level prefixes of administrative division codes (GB/T 2260).
_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
}


def clean_text(value: object) -> str:
    """NFKC (full-width digits and letters to ASCII, ideographic space to space), strip, fold inner blanks."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    text = text.replace("\u200b", "").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip()


_PROSE_BLANKS = re.compile(r"[ \t\u3000\u00a0]+")
_PROSE_LINES = re.compile(r"\n{3,}")


def clean_prose(value: object) -> str:
    """Free text people write (descriptions, notes, comments): Chinese punctuation such as ，。：（） and line breaks
    are kept as written; invisible characters go, runs of blanks fold to one, at most one empty line in a row.
    (clean_text's NFKC is for names and codes: it would turn ， into , and join every line.)"""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    lines = [_PROSE_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    return _PROSE_LINES.sub("\n\n", "\n".join(lines)).strip()


def id_check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


class IdNumberError(ValueError):
    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en

    def field_error(self, field: str = "id_number") -> FieldError:
        return FieldError(field, self.code, self.zh, self.en)


def normalize_id_number(value: object) -> str:
    """Return the canonical 18-character ID number or raise IdNumberError saying what is wrong."""
    text = clean_text(value).replace(" ", "").replace("-", "").upper()
    if not text:
        raise IdNumberError("required", "身份证号不能为空", "the ID number is empty")
    if len(text) != 18:
        raise IdNumberError(
            "length", f"身份证号应为18位，实际为{len(text)}位", f"an ID number has 18 characters, this one has {len(text)}"
        )
    if not _ID_RE.match(text):
        raise IdNumberError(
            "format", "身份证号只能是17位数字加一位数字或X", "an ID number is 17 digits followed by a digit or X"
        )
    if text[:2] not in _PROVINCES:
        raise IdNumberError("region", "身份证号的地区码不存在", "the region code of the ID number does not exist")
    if birth_date_from_id(text) is None:
        raise IdNumberError("birth_date", "身份证号中的出生日期无效", "the birth date inside the ID number is not a valid date")
    if id_check_digit(text[:17]) != text[17]:
        raise IdNumberError(
            "check_digit", "身份证号校验位不正确（可能录错一位）", "the ID number's check digit is wrong (a digit was mistyped)"
        )
    return text


def birth_date_from_id(id_number: str) -> dt.date | None:
    try:
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None
    if born.year < 1890 or born > timezone.localdate():
        return None
    return born


def sex_from_id(id_number: str) -> str:
    """'M' or 'F' from the 17th digit (odd: male)."""
    return "M" if int(id_number[16]) % 2 else "F"


def mask_id_number(id_number: str | None) -> str:
    if not id_number:
        return ""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def normalize_mobile(value: object) -> str:
    """Mainland mobile number as 11 digits; accepts +86 / 0086 prefixes and separators."""
    text = clean_text(value)
    text = re.sub(r"[\s\-()（）]", "", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text:
        raise IdNumberError("required", "手机号不能为空", "the mobile number is empty")
    if not _MOBILE_RE.match(text):
        raise IdNumberError("format", "手机号应为1开头的11位数字", "a mobile number has 11 digits and starts with 1")
    return text


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def age_on(birth_date: dt.date | None, today: dt.date) -> int | None:
    if birth_date is None:
        return None
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
