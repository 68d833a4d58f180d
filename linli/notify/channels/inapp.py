"""The in-app inbox: delivering is writing the InboxItem the recipient reads (once per message)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from linli.core.errors import invalid

from .base import PermanentFailure


class InAppChannel:
    name = "inapp"

    def address_for_user(self, user: Any) -> str | None:
        return ""

    def check_address(self, raw: str) -> str:
        raise invalid("address", "recipient_required", "站内信只能发给平台用户", "in-app messages go to users, not addresses")

    def mask(self, address: str) -> str:
        return ""

    def send(self, message: Any) -> str:
        from linli.notify.models import InboxItem

        if message.recipient_id is None:
            raise PermanentFailure("in-app message without a recipient user")
        item, _ = InboxItem.objects.get_or_create(message=message, defaults={
            "user_id": message.recipient_id, "template": message.template, "subject": message.subject,
            "body": message.body, "place_path": message.place_path, "cause_type": message.cause_type,
            "cause_id": message.cause_id, "created_at": timezone.now(),
        })
        return f"inbox:{item.pk}"
