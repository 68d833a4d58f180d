from __future__ import annotations

from django.conf import settings

from .actor import Actor


def linli(request):
    actor = Actor.for_user(getattr(request, "user", None))
    return {"actor": actor, "LINLI_EMBEDDED": not settings.LINLI_REDIS_URL}
