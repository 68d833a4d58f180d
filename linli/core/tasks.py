"""Platform-wide periodic tasks (Huey finds this module through the core app)."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task


@db_periodic_task(crontab(minute="*"))
def consumer_heartbeat() -> None:
    """Proves to /healthz that a consumer runs and its periodic scheduler ticks."""
    from linli.core.models import Heartbeat

    Heartbeat.objects.update_or_create(name="consumer", defaults={"at": timezone.now(), "detail": {"queue": type(HUEY).__name__}})
