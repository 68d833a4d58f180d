"""The public projection of tickets for the unauthenticated Open311 reads.

Only what a notice board in the estate would show: the category, the kind, the coarse status, the responsible
body, the times and deadlines, the **estate-level** address and coordinates. Never the reporter (name, phone,
account), the dwelling, the free text of the description or of the staff's notes: residents write names and
room numbers into those. The fields are listed here once (``FIELDS``); nothing else is read from the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from linli.places.choices import PlaceKind
from linli.places.models import Place

from ..choices import TicketKind, TicketStatus
from ..models import Category, Ticket, TicketEvent
from ..queries import categories_at, path_prefixes
from ..transitions import OPEN
from .formats import w3c

FIELDS = ("id", "kind", "status", "place_path", "created_at", "updated_at", "resolve_by", "category__code",
          "category__name", "organisation__name", "longitude", "latitude")
OPEN_STATUSES = sorted(OPEN)
COORDINATE_DECIMALS = 3  # about 100 m: used only when the estate itself has no coordinates


def open_or_closed(status: str) -> str:
    return "open" if status in OPEN else "closed"


def status_q(wanted: list[str]) -> Q:
    """Tickets whose coarse status is one of ``wanted`` (open / closed)."""
    q = Q(pk__in=[])
    if "open" in wanted:
        q |= Q(status__in=OPEN_STATUSES)
    if "closed" in wanted:
        q |= ~Q(status__in=OPEN_STATUSES)
    return q


def jurisdiction_tickets(community: Place) -> QuerySet[Ticket]:
    return Ticket.objects.filter(place_path__startswith=community.path)


def services(community: Place) -> QuerySet[Category]:
    """The categories a ticket in the community may take (global ones and those of the community and above)."""
    return categories_at(community).order_by("sort", "id")


@dataclass(frozen=True)
class Spot:
    """Where a ticket is, as published: the estate (or the community for tickets at community level)."""

    address: str
    longitude: float | None
    latitude: float | None


class Spots:
    """The estates and the community of a jurisdiction, read once, to place every ticket at estate level."""

    def __init__(self, community: Place):
        rows = Place.objects.filter(Q(pk=community.pk) | Q(path__startswith=community.path, kind=PlaceKind.ESTATE))
        self.community = community
        self.estates = {p.path: p for p in rows if p.kind == PlaceKind.ESTATE}

    def of(self, place_path: str, longitude: float | None, latitude: float | None) -> Spot:
        estate = next((self.estates[p] for p in path_prefixes(place_path) if p in self.estates), None)
        if estate is None:
            return Spot(self.community.address or self.community.name, *_coarse(longitude, latitude))
        address = estate.address or f"{self.community.name}{estate.name}"
        if estate.longitude is not None and estate.latitude is not None:
            return Spot(address, estate.longitude, estate.latitude)
        return Spot(address, *_coarse(longitude, latitude))


def _coarse(longitude: float | None, latitude: float | None) -> tuple[float | None, float | None]:
    if longitude is None or latitude is None:
        return None, None
    return round(longitude, COORDINATE_DECIMALS), round(latitude, COORDINATE_DECIMALS)


def _deadline(row: dict[str, Any]) -> dt.datetime | None:
    return row["resolve_by"] if row["status"] in OPEN else None


def request_rows(qs: QuerySet[Ticket], spots: Spots) -> list[dict[str, Any]]:
    """Open311 requests of the tickets in ``qs``, read as ``FIELDS`` only (one query)."""
    out = []
    for row in qs.values(*FIELDS):
        spot = spots.of(row["place_path"], row["longitude"], row["latitude"])
        out.append({
            "service_request_id": str(row["id"]),
            "status": open_or_closed(row["status"]),
            "status_notes": f"{row['status']} {TicketStatus(row['status']).label}",
            "service_name": row["category__name"],
            "service_code": row["category__code"],
            "description": f"{TicketKind(row['kind']).label}：{row['category__name']}",
            "agency_responsible": row["organisation__name"],
            "service_notice": "",
            "requested_datetime": w3c(row["created_at"]),
            "updated_datetime": w3c(row["updated_at"]),
            "expected_datetime": w3c(_deadline(row)),
            "address": spot.address,
            "address_id": None,
            "zipcode": None,
            "lat": spot.latitude,
            "long": spot.longitude,
            "media_url": None,
        })
    return out


# mySociety's extended statuses for the servicerequestupdates extension, by the status a step led to.
UPDATE_STATUS = {
    TicketStatus.SUBMITTED: "open", TicketStatus.ACCEPTED: "investigating",
    TicketStatus.DISPATCHED: "action_scheduled", TicketStatus.IN_PROGRESS: "in_progress",
    TicketStatus.PAUSED: "action_scheduled", TicketStatus.RESOLVED: "fixed", TicketStatus.CLOSED: "closed",
    TicketStatus.REJECTED: "no_further_action", TicketStatus.WITHDRAWN: "closed",
    TicketStatus.REOPENED: "reopen",
}


def update_rows(community: Place, start: dt.datetime, end: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Status changes of the jurisdiction's tickets between ``start`` and ``end`` (the status only, never notes);
    a transfer to another body is ``internal_referral``."""
    events = (TicketEvent.objects.filter(ticket__place_path__startswith=community.path, at__gte=start, at__lte=end)
              .exclude(to_status="").order_by("at", "id")
              .values("id", "ticket_id", "action", "to_status", "at")[:limit])
    return [{
        "update_id": str(e["id"]),
        "service_request_id": str(e["ticket_id"]),
        "status": "internal_referral" if e["action"] == "transfer" else UPDATE_STATUS[TicketStatus(e["to_status"])],
        "updated_datetime": w3c(e["at"]),
        "description": str(TicketStatus(e["to_status"]).label),
        "media_url": None,
    } for e in events]
