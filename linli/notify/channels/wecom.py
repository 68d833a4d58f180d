"""WeCom (企业微信) group robot: POSTs the message as JSON to the group's webhook URL with the standard library.

A message's address is the webhook URL (stored encrypted: its key is a secret); empty means the default group,
LINLI_WECOM_WEBHOOK_URL. A message to a user posts to that group and, as ``text``, @-mentions the user by the
mobile number of their resident record. HTTP 5xx, 429, timeouts and the robot's busy / rate-limit codes are
temporary; other refusals are permanent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from linli.core.errors import invalid

from .base import PermanentFailure, TemporaryFailure, truncate_utf8
from .sms import SmsChannel

# Limits of the robot API (bytes of UTF-8 content).
TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
# errcode values worth another try: -1 system busy, 45009 rate limit reached.
TEMPORARY_ERRCODES = {-1, 45009}


def payload_for(message: Any, msgtype: str, mention_phone: str | None) -> dict[str, Any]:
    if msgtype == "markdown":
        content = truncate_utf8(f"**{message.subject}**\n{message.body}", MARKDOWN_LIMIT)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    text: dict[str, Any] = {"content": truncate_utf8(f"{message.subject}\n{message.body}", TEXT_LIMIT)}
    if mention_phone:
        text["mentioned_mobile_list"] = [mention_phone]
    return {"msgtype": "text", "text": text}


def post_json(url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST the payload; the decoded JSON answer, or a DeliveryFailure saying what went wrong."""
    data = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked on input
            raw = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise TemporaryFailure(f"wecom HTTP {exc.code}") from exc
        raise PermanentFailure(f"wecom HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TemporaryFailure(f"wecom unreachable: {reason}") from exc
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise TemporaryFailure(f"wecom answered non-JSON: {raw[:200]!r}") from exc
    if not isinstance(answer, dict):
        raise TemporaryFailure(f"wecom answered {answer!r}"[:200])
    return answer


class WeComChannel:
    name = "wecom"

    def address_for_user(self, user: Any) -> str | None:
        # Users are reached in the default group (and mentioned there); without one the channel is unavailable.
        return "" if settings.LINLI_WECOM_WEBHOOK_URL else None

    def check_address(self, raw: str) -> str:
        url = (raw or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid("address", "not_webhook", "企业微信机器人地址应为 http(s) 网址",
                          "a WeCom robot address is an http(s) URL")
        return url

    def mask(self, address: str) -> str:
        if not address:
            return "default"
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"[:80]

    def send(self, message: Any) -> str:
        url = message.address or settings.LINLI_WECOM_WEBHOOK_URL
        if not url:
            raise PermanentFailure("no WeCom webhook URL (LINLI_WECOM_WEBHOOK_URL)")
        mention = SmsChannel().address_for_user(message.recipient) if message.recipient_id else None
        answer = post_json(url, payload_for(message, settings.LINLI_WECOM_MSGTYPE, mention),
                           settings.LINLI_WECOM_TIMEOUT)
        errcode = answer.get("errcode")
        if errcode == 0:
            return f"wecom:{message.pk}"
        error = f"wecom errcode {errcode}: {answer.get('errmsg', '')}"
        if errcode in TEMPORARY_ERRCODES:
            raise TemporaryFailure(error)
        raise PermanentFailure(error)
