"""Parsing Open311 query and form parameters: the jurisdiction, comma lists, W3C dates, Chicago-style paging.
A null (empty) optional argument is treated exactly as an absent one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place

from .formats import Open311Error

MAX_SPAN = dt.timedelta(days=90)
DEFAULT_LIMIT = 1000  # the spec's default: 90 days or 1000 requests, whichever is smaller
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 500


def value(params: QueryDict, name: str) -> str | None:
    text = (params.get(name) or "").strip()
    return text or None


def jurisdiction(params: QueryDict) -> Place:
    """The community whose code is ``jurisdiction_id``: required (one endpoint serves every community)."""
    code = value(params, "jurisdiction_id")
    if code is None:
        raise Open311Error(400, "jurisdiction_id is required (the community code)")
    place = Place.objects.filter(kind=PlaceKind.COMMUNITY, code=code, status=PlaceStatus.ACTIVE).first()
    if place is None:
        raise Open311Error(404, f"unknown jurisdiction_id {code!r}")
    return place


def comma_list(params: QueryDict, name: str) -> list[str]:
    return [part.strip() for part in (value(params, name) or "").split(",") if part.strip()]


def ids(params: QueryDict, name: str) -> list[int]:
    parts = comma_list(params, name)
    if not all(part.isdigit() and len(part) < 19 for part in parts):
        raise Open311Error(400, f"{name} must be a comma-separated list of numbers")
    return [int(part) for part in parts]


def moment(params: QueryDict, name: str) -> dt.datetime | None:
    """A W3C datetime (a zone-less one is local time) or a date (its local midnight)."""
    text = value(params, name)
    if text is None:
        return None
    try:
        parsed = parse_datetime(text.replace(" ", "+")) or _midnight(parse_date(text))
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, f"{name} is not a W3C datetime such as 2026-04-23T09:30:00+08:00")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time()) if day else None


def window(params: QueryDict, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """start_date .. end_date, at most 90 days; a missing end is start + 90 days (or now), a missing start is
    end - 90 days."""
    start, end = moment(params, "start_date"), moment(params, "end_date")
    if start is None and end is None:
        return now - MAX_SPAN, now
    if start is None:
        assert end is not None
        return end - MAX_SPAN, end
    end = end or min(start + MAX_SPAN, max(now, start))
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date to end_date may not span more than 90 days")
    return start, end


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page(params: QueryDict) -> Page:
    """Chicago's ``page`` (from 1) and ``page_size`` (default 50, at most 500); without either, the first 1000."""
    raw_page, raw_size = value(params, "page"), value(params, "page_size")
    if raw_page is None and raw_size is None:
        return Page(0, DEFAULT_LIMIT)
    number, size = _positive(raw_page or "1", "page"), _positive(raw_size or str(PAGE_SIZE_DEFAULT), "page_size")
    if size > PAGE_SIZE_MAX:
        raise Open311Error(400, f"page_size may not exceed {PAGE_SIZE_MAX}")
    return Page((number - 1) * size, size)


def _positive(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1 or len(text) > 9:
        raise Open311Error(400, f"{name} must be a positive whole number")
    return int(text)
