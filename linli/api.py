"""The REST API root: /api/v1/ with OpenAPI at /api/v1/openapi.json and docs at /api/v1/docs.

Authentication: a bearer token (``Authorization: Bearer <key>``) for API clients, or the web session (with CSRF)
for the browser. Domain errors become JSON bodies that name the field and the reason in zh and en.
"""

from __future__ import annotations

import hashlib

from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from linli.core.actor import Actor
from linli.core.errors import DomainError


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
)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def schema_error(request, exc: ValidationError):
    errors = []
    for err in exc.errors:
        loc = [str(x) for x in err.get("loc", []) if x not in ("body", "query", "path", "form", "payload")]
        field = ".".join(loc) or "body"
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


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(request, {"code": "unauthorized", "message_zh": "请先登录或提供有效令牌",
                                         "message_en": "log in or send a valid token", "errors": []}, status=401)


def actor_of(request) -> Actor:
    actor = getattr(request, "actor", None)
    return actor if actor is not None else Actor.for_user(request.user)


def _register_routers() -> None:
    from linli.accounts.api import router as accounts_router
    from linli.people.api import router as people_router
    from linli.places.api import router as places_router

    api.add_router("/", accounts_router)
    api.add_router("/", places_router)
    api.add_router("/", people_router)


_register_routers()
