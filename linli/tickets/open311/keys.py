"""Open311 ``api_key``: an ordinary Linli API token (linli.accounts ``ApiToken``, issued by
``linli.accounts.actions.issue_token``) of the user the client acts as. A city hotline system gets a token of a
staff account of the community (community staff, a grid worker ...): what it files are tickets entered by staff
on behalf of residents, channel ``hotline``. A resident's own token files for themselves (channel ``app``).
What the key's user may do is exactly what that user may do in Linli."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from linli.accounts.models import ApiToken
from linli.core.actor import Actor

from .formats import Open311Error


def actor_for_key(api_key: str | None) -> Actor:
    """The actor of an active, unexpired, unrevoked token of an active user; 400 without a key, 403 otherwise."""
    if not api_key:
        raise Open311Error(400, "api_key is required")
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    row = ApiToken.objects.select_related("user").filter(key_hash=digest, revoked_at__isnull=True).first()
    if row is None or not row.user.is_active or (row.expires_at and row.expires_at < timezone.now()):
        raise Open311Error(403, "invalid api_key")
    return Actor.for_user(row.user)
