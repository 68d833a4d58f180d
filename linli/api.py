"""The REST API root: /api/v1/ with OpenAPI at /api/v1/openapi.json and docs at /api/v1/docs.

Authentication: a bearer token (``Authorization: Bearer <key>``) for API clients, or the web session (with CSRF)
for the browser. Domain errors become JSON bodies that name the field and the reason in zh and en.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.db import DataError
from django.db.models import QuerySet
from django.urls import register_converter
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from linli.core.actor import Actor
from linli.core.errors import DomainError


class IdConverter:
    """``{id:resident_id}`` in a route: 1 to 18 digits, so words such as "export" never reach an id route and no id
    overflows a 64-bit key."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        from linli.accounts.models import ApiToken

        digest = hashlib.sha256(token.encode()).hexdigest()
        row = ApiToken.objects.select_related("user").filter(key_hash=digest, revoked_at__isnull=True).first()
        if row is None or not row.user.is_active or (row.expires_at and row.expires_at < timezone.now()):
            return None
        if row.last_used_at is None or (timezone.now() - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.user = row.user
        request.actor = Actor.for_user(row.user)
        return row.user


class SessionAuth(APIKeyCookie):
    """The browser session; unsafe methods need the CSRF token (ninja checks it for cookie auth)."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.actor = Actor.for_user(user)
            return user
        return None


api = NinjaAPI(
    title="Linli 邻里 API",
    version="1",
    description="Places, residents, roles, tickets, devices and alerts of Linli. Errors carry message_zh and message_en.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    # Swagger UI from ninja's own static files ("ninja" is an installed app), never a CDN; no online validator.
    docs=Swagger(settings={"validatorUrl": None}),
)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


def _field_name(loc: list) -> str:
    """("body", "payload", "tags", 0) -> "tags.0"; ("file", "file") -> "file": the parameter source and the name of
    a body schema parameter are not part of the field the client wrote."""
    parts = [str(x) for x in loc]
    if parts and parts[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
        source, parts = parts[0], parts[1:]
        if source in ("body", "form") and len(parts) > 1 and parts[0] == "payload":
            parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def schema_error(request, exc: ValidationError):
    errors = []
    for err in exc.errors:
        field = _field_name(err.get("loc", []))
        errors.append({
            "field": field,
            "code": err.get("type", "invalid"),
            "message_zh": f"字段“{field}”无效：{err.get('msg', '')}",
            "message_en": f"{field}: {err.get('msg', 'invalid')}",
        })
    return api.create_response(request, {
        "code": "invalid",
        "message_zh": "；".join(e["message_zh"] for e in errors),
        "message_en": "; ".join(e["message_en"] for e in errors),
        "errors": errors,
    }, status=422)


@api.exception_handler(DataError)
def data_error(request, exc: DataError):
    """A value the database refuses (a NUL character, a number out of range) is bad input, not a server error."""
    return api.create_response(request, {"code": "invalid", "message_zh": "提交的数据包含数据库无法保存的值",
                                         "message_en": "a value cannot be stored (out of range or invalid characters)",
                                         "errors": []}, status=422)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(request, {"code": "unauthorized", "message_zh": "请先登录或提供有效令牌",
                                         "message_en": "log in or send a valid token", "errors": []}, status=401)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    """ninja's own refusals; the one that reaches users is a browser session's POST without its CSRF token."""
    if exc.status_code == 403 and "CSRF" in str(exc):
        body = {"code": "csrf", "message_zh": "安全校验（CSRF）失败，请刷新页面后重试",
                "message_en": "the CSRF check failed; reload the page and try again"}
    else:
        body = {"code": "error", "message_zh": "请求无法处理", "message_en": str(exc)}
    return api.create_response(request, {**body, "errors": []}, status=exc.status_code)


def actor_of(request) -> Actor:
    actor = getattr(request, "actor", None)
    return actor if actor is not None else Actor.for_user(request.user)


class Paging(Schema):
    """limit/offset of a list endpoint; every page also reports the total count."""

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


def paginate(qs: QuerySet, paging: Paging) -> dict:
    """Two queries whatever the page: the count and the page itself."""
    return {
        "count": qs.count(),
        "limit": paging.limit,
        "offset": paging.offset,
        "items": list(qs[paging.offset:paging.offset + paging.limit]),
    }


def paginate_by_key(qs: QuerySet, paging: Paging, rows: Callable[[list[int]], QuerySet]) -> dict:
    """For big tables: the page's keys come from a narrow query that an index answers on its own (so a deep offset
    walks the index, not the rows and their joins), then ``rows(keys)`` fetches those rows with their relations.
    Three queries whatever the page."""
    keys = list(qs.values_list("pk", flat=True)[paging.offset:paging.offset + paging.limit])
    by_key = {row.pk: row for row in rows(keys)} if keys else {}
    return {"count": qs.count(), "limit": paging.limit, "offset": paging.offset, "items": [by_key[k] for k in keys]}


def _register_routers() -> None:
    from linli.accounts.api import router as accounts_router
    from linli.people.api import router as people_router
    from linli.places.api import router as places_router

    api.add_router("/", accounts_router)
    api.add_router("/", places_router)
    api.add_router("/", people_router)
    api.add_router("/", "linli.notify.api.router")
    api.add_router("/", "linli.tickets.api.router")
    api.add_router("/", "linli.devices.api.router")
    api.add_router("/", "linli.alerts.api.router")


_register_routers()
