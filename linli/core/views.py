from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone


def healthz(request):
    """Liveness and readiness: the database, the task queue and the consumer's last heartbeat."""
    from linli.core.models import Heartbeat
    from linli.tasks import queue_state

    result: dict = {"status": "ok", "time": timezone.now().isoformat()}
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        result["database"] = {"status": "ok", "vendor": connection.vendor,
                              "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # noqa: BLE001 - health must report, not crash
        result["database"] = {"status": "error", "error": str(exc)[:200]}
        result["status"] = "error"
    result["queue"] = queue_state()
    if result["queue"]["status"] != "ok":
        result["status"] = "error"
    if result["database"]["status"] == "ok":
        beat = Heartbeat.objects.filter(name="consumer").first()
        age = (timezone.now() - beat.at).total_seconds() if beat else None
        result["consumer"] = {
            "status": "ok" if age is not None and age < 180 else "unknown",
            "last_heartbeat": beat.at.isoformat() if beat else None,
        }
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)


@login_required
def home(request):
    return render(request, "core/home.html")
