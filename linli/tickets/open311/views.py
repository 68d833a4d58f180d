"""Open311 GeoReport v2 endpoints: thin views that parse parameters, read the public projection or call the
tickets' submit action, and render XML or JSON. Every error is answered in the Open311 envelope."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from linli.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from linli.core.permissions import Perm
from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place

from .. import actions
from ..choices import Channel, OrganisationKind, TicketKind
from ..models import Category
from ..queries import NUMBER
from . import params, public
from .formats import Open311Error, render, render_error
from .keys import actor_for_key

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-04-23T00:00:00+08:00"
DESCRIPTION_MAX = 4000
HTML = re.compile(r"<\s*[a-zA-Z/!]")
PREFERRED_TIME = "preferred_time"

View = Callable[..., HttpResponse]


def open311(view: View) -> View:
    """Open311 errors and domain errors as the errors envelope in the requested format."""
    @wraps(view)
    def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, fmt, **kwargs)
        except Open311Error as error:
            return render_error(fmt, error)
        except DomainError as error:
            return render_error(fmt, _from_domain(error))
    return wrapper


def _from_domain(error: DomainError) -> Open311Error:
    if isinstance(error, ValidationFailed):
        return Open311Error(400, [f"{e.field}: {e.message_en}" for e in error.errors])
    if isinstance(error, PermissionDenied):
        return Open311Error(403, "the api_key's user may not file this request")
    if isinstance(error, NotFound):
        return Open311Error(404, error.message_en)
    return Open311Error(400, error.message_en)


# ------------------------------------------------------------------------------------------------ services

@require_GET
@open311
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    url = request.build_absolute_uri("/open311/v2/")
    return render(fmt, "discovery", {
        "changeset": CHANGESET,
        "contact": "请联系所在社区居委会 / contact your community committee",
        "key_service": "API keys are Linli API tokens issued by a community administrator",
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    })


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.name_en or category.name}: 响应{category.response_minutes}分钟，"
                       f"办结{category.resolution_hours}小时",
        "metadata": bool(_attributes()),
        "type": "realtime",
        "keywords": ",".join(k for k in (category.code, category.name_en) if k),
        "group": str(OrganisationKind(category.organisation_kind).label),
    }


def _attributes() -> list[dict[str, Any]]:
    kinds = [{"key": k.value, "name": str(k.label)} for k in TicketKind]
    return [
        {"variable": True, "code": "kind", "datatype": "singlevaluelist", "required": False,
         "datatype_description": "repair (default), complaint, consultation, suggestion or praise",
         "order": 1, "description": "类型 kind of request", "values": kinds},
        {"variable": True, "code": PREFERRED_TIME, "datatype": "datetime", "required": False,
         "datatype_description": "W3C datetime, e.g. 2026-04-23T14:00:00+08:00", "order": 2,
         "description": "期望上门时间 preferred visit time", "values": []},
    ]


@require_GET
@open311
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    community = params.jurisdiction(request.GET)
    return render(fmt, "services", [_service(c) for c in public.services(community)])


def _category(community: Place, code: str | None) -> Category:
    category = public.services(community).filter(code=code).first() if code else None
    if category is None:
        raise Open311Error(404, f"unknown service_code {code!r}")
    return category


@require_GET
@open311
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = _category(params.jurisdiction(request.GET), code)
    return render(fmt, "service_definition", {"service_code": category.code, "attributes": _attributes()})


# ---------------------------------------------------------------------------------------------- submitting

def _coordinate(form: QueryDict, name: str, bound: float) -> float | None:
    text = params.value(form, name)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not -bound <= number <= bound:
        raise Open311Error(400, f"{name} must be a number between -{bound:g} and {bound:g}")
    return number


def _place(community: Place, address: str | None, lat: float | None, long: float | None) -> Place:
    """The estate named in the address, else the estate nearest to the point, else the community itself."""
    estates = list(Place.objects.filter(path__startswith=community.path, kind=PlaceKind.ESTATE, status=PlaceStatus.ACTIVE)
                   .order_by("id"))
    named = [e for e in estates if address and e.name in address]
    if named:
        return max(named, key=lambda e: len(e.name))
    located = [e for e in estates if e.latitude is not None and e.longitude is not None]
    if lat is not None and long is not None and located:
        return min(located, key=lambda e: (e.latitude - lat) ** 2 + ((e.longitude - long) * math.cos(math.radians(lat))) ** 2)
    return community


def _kind(form: QueryDict) -> str:
    kind = params.value(form, "attribute[kind]") or TicketKind.REPAIR
    if kind not in TicketKind.values:
        raise Open311Error(400, f"attribute[kind] must be one of {', '.join(TicketKind.values)}")
    return kind


def _description(form: QueryDict) -> str:
    text = params.value(form, "description") or ""
    if len(text) > DESCRIPTION_MAX:
        raise Open311Error(400, f"description is longer than {DESCRIPTION_MAX} characters")
    if HTML.search(text):
        raise Open311Error(400, "description may not contain HTML")
    return text


@require_POST
@open311
def create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    form = request.POST
    community = params.jurisdiction(form)
    actor = actor_for_key(params.value(form, "api_key"))
    category = _category(community, params.value(form, "service_code"))
    lat, long = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    address = params.value(form, "address_string")
    if (lat is None or long is None) and address is None:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    kind, description = _kind(form), _description(form)
    preferred = params.moment(form, f"attribute[{PREFERRED_TIME}]")
    place = _place(community, address, lat, long)
    on_behalf = actor.can(Perm.TICKET_VIEW, place.path)
    caller = " ".join(v for v in (params.value(form, "last_name"), params.value(form, "first_name")) if v)
    ticket = actions.submit_ticket(
        actor=actor, kind=kind, category=category, place=place, description=description,
        channel=Channel.HOTLINE if on_behalf else Channel.APP, reporter_name=caller if on_behalf else "",
        longitude=long if lat is not None else None, latitude=lat if long is not None else None,
        preferred_from=preferred)
    return render(fmt, "service_requests", [{"service_request_id": str(ticket.pk), "token": ticket.number,
                                             "service_notice": "", "account_id": None}])


@csrf_exempt
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """``requests.[fmt]``: POST files a request (api_key), GET lists them."""
    return create_request(request, fmt) if request.method == "POST" else request_list(request, fmt)


# ------------------------------------------------------------------------------------------------- reading

@require_GET
@open311
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    community = params.jurisdiction(request.GET)
    match = NUMBER.match(token)
    ticket = public.jurisdiction_tickets(community).filter(pk=int(match.group(1))).first() if match else None
    if ticket is None or ticket.number != token:
        raise Open311Error(404, f"unknown token {token!r}")
    return render(fmt, "service_requests", [{"service_request_id": str(ticket.pk), "token": token}])


def _filtered(community: Place, query: QueryDict):
    qs = public.jurisdiction_tickets(community)
    wanted_ids = params.ids(query, "service_request_id")
    if wanted_ids:
        return qs.filter(pk__in=wanted_ids)
    start, end = params.window(query, timezone.now())
    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    codes = params.comma_list(query, "service_code")
    if codes:
        qs = qs.filter(category__code__in=codes)
    statuses = params.comma_list(query, "status")
    if set(statuses) - {"open", "closed"}:
        raise Open311Error(400, "status must be open or closed")
    if statuses:
        qs = qs.filter(public.status_q(statuses))
    after, before = params.moment(query, "updated_after"), params.moment(query, "updated_before")
    if after:
        qs = qs.filter(updated_at__gt=after)
    if before:
        qs = qs.filter(updated_at__lt=before)
    return qs


@require_GET
@open311
def request_list(request: HttpRequest, fmt: str) -> HttpResponse:
    community = params.jurisdiction(request.GET)
    page = params.page(request.GET)
    qs = _filtered(community, request.GET).order_by("-created_at", "-id")[page.offset:page.offset + page.limit]
    return render(fmt, "service_requests", public.request_rows(qs, public.Spots(community)))


@require_GET
@open311
def request_detail(request: HttpRequest, fmt: str, pk: str) -> HttpResponse:
    community = params.jurisdiction(request.GET)
    rows = public.request_rows(public.jurisdiction_tickets(community).filter(pk=int(pk)), public.Spots(community))
    if not rows:
        raise Open311Error(404, f"unknown service_request_id {pk!r}")
    return render(fmt, "service_requests", rows)


@require_GET
@open311
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    community = params.jurisdiction(request.GET)
    start, end = params.window(request.GET, timezone.now())
    page = params.page(request.GET)
    rows = public.update_rows(community, start, end, page.offset + page.limit)[page.offset:]
    return render(fmt, "service_request_updates", rows)
