from __future__ import annotations

import uuid

from . import context


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        ip = request.META.get("REMOTE_ADDR") or None
        via = "api" if request.path.startswith("/api/") else "web"
        token = context.set_current(context.RequestContext(request_id=request_id[:64], ip=ip, via=via))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-Id"] = request_id[:64]
        return response
