"""E-mail through Django's e-mail backend (SMTP when LINLI_EMAIL_HOST is set, files under var/mail otherwise;
locmem in tests)."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from linli.core.errors import invalid

from .base import PermanentFailure, TemporaryFailure

PERMANENT_SMTP = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError,
                  smtplib.SMTPNotSupportedError)


class EmailChannel:
    name = "email"

    def address_for_user(self, user: Any) -> str | None:
        return getattr(user, "email", "") or None

    def check_address(self, raw: str) -> str:
        address = (raw or "").strip()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise invalid("address", "not_email", "电子邮件地址无效", "not a valid e-mail address") from exc
        return address

    def mask(self, address: str) -> str:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"

    def send(self, message: Any) -> str:
        if not message.address:
            raise PermanentFailure("no e-mail address")
        msgid = make_msgid(domain=settings.LINLI_EMAIL_MSGID_DOMAIN)
        email = EmailMessage(subject=message.subject, body=message.body, from_email=settings.DEFAULT_FROM_EMAIL,
                             to=[message.address], headers={"Message-ID": msgid})
        try:
            email.send(fail_silently=False)
        except PERMANENT_SMTP as exc:
            raise PermanentFailure(f"smtp refused: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"smtp failed: {exc}") from exc
        return msgid
