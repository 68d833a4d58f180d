"""Normalising the values every vendor sends in its own way: times, plates, scores, pictures, idempotency keys."""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from .base import Limits, Quarantine, Reason, clip

SITE_TZ: tzinfo = ZoneInfo("Asia/Shanghai")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)

_ISO_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)


def _in_range(moment: datetime, where: str) -> datetime:
    moment = moment.astimezone(UTC)
    if not EARLIEST <= moment < LATEST:
        raise Quarantine.of(Reason.TIME_OUT_OF_RANGE, where, moment.isoformat())
    return moment


def parse_iso_time(text: str, where: str, *, naive_tz: tzinfo | None = None) -> datetime:
    """ISO 8601 to aware UTC. A time without zone is quarantined unless naive_tz says what local time it is."""
    match = _ISO_RE.fullmatch(text.strip())
    if not match:
        raise Quarantine.of(Reason.BAD_TIME, where, clip(text))
    try:
        moment = datetime.fromisoformat(match.group(0))
    except ValueError as exc:
        raise Quarantine.of(Reason.BAD_TIME, where, clip(text)) from exc
    if moment.tzinfo is None:
        if naive_tz is None:
            raise Quarantine.of(Reason.NAIVE_TIME, where, clip(text))
        moment = moment.replace(tzinfo=naive_tz)
    return _in_range(moment, where)


def _epoch_ok(seconds: float, where: str) -> float:
    if not math.isfinite(seconds) or not EARLIEST.timestamp() <= seconds < LATEST.timestamp():
        raise Quarantine.of(Reason.TIME_OUT_OF_RANGE, where, clip(str(seconds)))
    return seconds


def from_epoch(seconds: float, where: str) -> datetime:
    """True UTC epoch seconds (Frigate, Dahua RealUTC)."""
    return datetime.fromtimestamp(_epoch_ok(seconds, where), UTC)


def from_local_epoch(seconds: float, tz: tzinfo, where: str) -> datetime:
    """Epoch seconds that encode the device's local wall clock (Dahua `UTC`): read them as local time in tz."""
    wall = _EPOCH_NAIVE + timedelta(seconds=_epoch_ok(seconds, where))
    return _in_range(wall.replace(tzinfo=tz), where)


def ensure_aware(moment: datetime) -> datetime:
    """The caller's received-at time, which must be aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("received_at must be an aware datetime")
    return moment.astimezone(UTC)


_PLATE_SEPARATORS = re.compile(r"[\s.·•・･\-_]+")
_PLATE_RE = re.compile(r"[\u4e00-\u9fffA-Z0-9]{2,12}")
_PLATE_HAS_ASCII = re.compile(r"[A-Z0-9]")


def normalize_plate(text: str) -> str | None:
    """'鄂Ｌ·12345 ' -> '鄂L12345': full-width to half-width, upper case, no spaces, dots or dashes.

    None when the text is not a plate (cameras send 无车牌 or 未识别 for a vehicle without a readable plate).
    """
    plate = _PLATE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text).upper())
    if _PLATE_RE.fullmatch(plate) and _PLATE_HAS_ASCII.search(plate):
        return plate
    return None


def normalize_score(value: float, where: str) -> float:
    """0..1 stays, 1..100 is a percentage; rounded to 4 places. Anything else is quarantined."""
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise Quarantine.of(Reason.BAD_SCORE, where, clip(str(value)))
    return round(value if value <= 1 else value / 100, 4)


def canonical_json(value: object) -> str:
    """Key order and spacing do not matter: the same content always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(*parts: str) -> str:
    """A stable key for a payload whose vendor gives none: SHA-256, first 128 bits in hex."""
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode("utf-8", "surrogatepass"))
        sha.update(b"\x1f")
    return "sha256:" + sha.hexdigest()[:32]


def raw_text(data: bytes | str, limits: Limits) -> str:
    """The payload as text for operators, cut to max_raw and safe to store in any database text column."""
    text = data if isinstance(data, str) else data[: limits.max_raw * 4].decode("utf-8", "replace")
    return text[: limits.max_raw].replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


_BOM = b"\xef\xbb\xbf"


def decode_utf8(data: bytes, where: str = "") -> str:
    """Strict UTF-8 (a leading BOM is dropped): a device that sends something else is quarantined, not guessed."""
    try:
        # what the utf-8-sig codec does (an error's position counts from after the BOM), without its Python layer
        return data[3:].decode("utf-8") if data[:3] == _BOM else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Quarantine.of(Reason.INVALID_UTF8, where, f"byte {exc.start}") from exc


_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"


def sniff_picture(data: bytes) -> str | None:
    """The picture's real type from its magic number, or None when it is not a JPEG or PNG."""
    if data.startswith(_JPEG):
        return "image/jpeg"
    if data.startswith(_PNG):
        return "image/png"
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_MAC_RE = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}", re.ASCII)


def normalize_device_ref(text: str, where: str) -> str:
    """Device names as sent, trimmed; MAC addresses in one spelling (lower case, colons)."""
    ref = text.strip()
    if _MAC_RE.fullmatch(ref.lower()):
        hexdigits = re.sub(r"[:-]", "", ref.lower())
        ref = ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))
    if not ref or len(ref) > 64:
        raise Quarantine.of(Reason.BAD_VALUE, where, "a device is named by 1 to 64 characters")
    if _CONTROL.search(ref):
        raise Quarantine.of(Reason.INVALID_TEXT, where)
    return ref
