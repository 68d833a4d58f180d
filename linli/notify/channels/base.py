"""What every channel is: it knows a user's address on it, checks a raw address, masks it for screens, and sends.

``send`` returns the provider's id for the message, or raises TemporaryFailure (try again later: a timeout, a
5xx, a rate limit) or PermanentFailure (retrying cannot help: a refused number, a bad template, no address).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from linli.notify.models import Message


class DeliveryFailure(Exception):
    """A provider refused or could not take the message; the text says why (kept as the attempt's error)."""


class TemporaryFailure(DeliveryFailure):
    pass


class PermanentFailure(DeliveryFailure):
    pass


class Channel(Protocol):
    name: str

    def address_for_user(self, user: Any) -> str | None:
        """The user's address on this channel ("" when none is needed), or None when the user cannot get it."""

    def check_address(self, raw: str) -> str:
        """The normalized raw address, or ValidationFailed naming the field ``address``."""

    def mask(self, address: str) -> str:
        """What screens show of the address."""

    def send(self, message: Message) -> str:
        """Hand the rendered message to the provider; the provider's id, or a DeliveryFailure."""


def profile_of(user: Any) -> Any:
    """The user's Linli profile, or None."""
    try:
        return user.linli_profile
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist has no importable base here
        return None


def truncate_utf8(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit].decode(errors="ignore")
