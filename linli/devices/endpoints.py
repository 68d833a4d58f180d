"""HTTP ingestion: devices POST their payloads to /api/v1/ingest/<generic|hikvision|dahua>.

Plain Django views, not API routes: devices authenticate with their own secret (linli.devices.auth), not a user's
token, and the body is read as the raw bytes the adapters parse. Answers are quick and small: store first, process
after (the pipeline runs in a task).

    401  no credentials (with a Basic challenge), an unknown device, a wrong secret (nothing stored but a
         rate-limited note)
    403  the device is disabled
    413  the body is larger than 8 MiB (a note, no payload)
    400  the payload cannot be parsed: it is kept in quarantine, the answer names the reason
    200  stored: counts of new events, duplicates, quarantined batch members and liveness notices
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .adapters import DEFAULT_LIMITS, Quarantine
from .auth import DeviceCredentials, Refused, authenticate, basic_credentials
from .choices import Source
from .ingest import note_refusal, parse_payload, quarantine_payload, record_device_events, refusal

CHALLENGE = 'Basic realm="linli-devices", charset="UTF-8"'


def _error(error: Quarantine, status: int, **extra: object) -> JsonResponse:
    return JsonResponse({"code": error.reason_code, "message_zh": error.message_zh, "message_en": error.message_en,
                         **extra}, status=status, json_dumps_params={"ensure_ascii": False})


def _unauthorized(reason: str) -> HttpResponse:
    response = _error(refusal(reason), 401)
    response["WWW-Authenticate"] = CHALLENGE
    return response


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


@csrf_exempt
@require_POST
def ingest(request: HttpRequest, source: str, device_id: str = "", secret: str = "") -> HttpResponse:
    received_at = timezone.now()
    ip = request.META.get("REMOTE_ADDR") or None
    content_type = request.META.get("CONTENT_TYPE", "")
    size = _content_length(request)
    if device_id:
        credentials: DeviceCredentials | None = DeviceCredentials(secret=secret, device_id=int(device_id))
    else:
        credentials = basic_credentials(request)
    if credentials is None:
        # The challenge that devices speaking Basic wait for before they send their password: not a refusal.
        return _unauthorized("credentials_required")
    try:
        device = authenticate(source, credentials)
    except Refused as exc:
        note_refusal(device=exc.device, device_ref=credentials.claimed, reason=exc.reason, source=Source.AUTH,
                     content_type=content_type, size=size, received_at=received_at, remote_ip=ip)
        return _unauthorized(exc.reason)
    if not device.enabled:
        note_refusal(device=device, device_ref=device.serial, reason="device_disabled", source=source,
                     content_type=content_type, size=size, received_at=received_at, remote_ip=ip)
        return _error(refusal("device_disabled"), 403)
    if size > DEFAULT_LIMITS.max_body:
        note_refusal(device=device, device_ref=device.serial, reason="body_too_large", source=source,
                     content_type=content_type, size=size, received_at=received_at, remote_ip=ip)
        return _error(refusal("body_too_large"), 413)
    body = request.body
    try:
        result = parse_payload(source, device, body, content_type, received_at=received_at)
    except Quarantine as exc:
        with transaction.atomic():
            kept = quarantine_payload(device=device, source=source, body=body, content_type=content_type, error=exc,
                                      received_at=received_at, remote_ip=ip)
        return _error(exc, 400, quarantine_id=kept.pk)
    outcome = record_device_events(device=device, vendor=device.vendor, source=source, events=result.events,
                                   rejects=result.rejects, received_at=received_at,
                                   all_from_device=source != Source.GENERIC, remote_ip=ip)
    return JsonResponse({"stored": len(outcome.stored), "duplicates": outcome.duplicates,
                         "quarantined": len(outcome.quarantined), "liveness": outcome.liveness})
