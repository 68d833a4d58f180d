"""How a device proves who it is over HTTP.

- ``Authorization: Basic base64(<serial>:<secret>)``: what every device can be configured with (Hikvision and Dahua
  accept a URL, a user name and a password for their HTTP push). The serial is the one registered in Linli; secrets
  never contain a colon, so the last colon separates them and a MAC address may be the user name as registered
  (``bc:5e:33:4a:7c:21``), with dashes, or as 12 bare hex digits for web forms that refuse colons.
- A fallback for firmware that only speaks Digest or nothing at all: the device id and its secret in the URL path
  (``/api/v1/ingest/<vendor>/<device id>/<secret>``). Less safe: URLs end up in proxy and server logs, so rotate
  the secret if a log leaks.

Only devices of the endpoint's vendors, not retired, are candidates; the secret's digest is compared in constant
time.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from django.http import HttpRequest

from .adapters import Quarantine
from .adapters.values import normalize_device_ref
from .choices import ENDPOINT_VENDORS
from .keys import secret_matches
from .models import Device

_BARE_MAC = re.compile(r"[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class DeviceCredentials:
    secret: str
    serial: str = ""
    device_id: int | None = None

    @property
    def serials(self) -> set[str]:
        """The serial as given, and as a MAC address when it is 12 bare hex digits."""
        if _BARE_MAC.fullmatch(self.serial):
            hexdigits = self.serial.lower()
            return {self.serial, ":".join(hexdigits[i:i + 2] for i in range(0, 12, 2))}
        return {self.serial}

    @property
    def claimed(self) -> str:
        """How the request named its device, for the refusal note."""
        return self.serial or f"#{self.device_id}"


class Refused(Exception):
    """The request is not from a registered device with this secret: 401 (and a rate-limited note)."""

    def __init__(self, reason: str, device: Device | None = None):
        super().__init__(reason)
        self.reason = reason
        self.device = device


def basic_credentials(request: HttpRequest) -> DeviceCredentials | None:
    """The serial and secret of an HTTP Basic header, or None when the request carries none (or a broken one)."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    serial, colon, secret = decoded.rpartition(":")
    if not colon or not secret:
        return None
    try:
        return DeviceCredentials(secret=secret, serial=normalize_device_ref(serial, "serial"))
    except Quarantine:
        return None


def authenticate(source: str, credentials: DeviceCredentials) -> Device:
    """The device these credentials belong to, or Refused (unknown_device / auth_failed)."""
    query = Device.objects.filter(vendor__in=ENDPOINT_VENDORS[source], retired_at__isnull=True)
    if credentials.device_id is not None:
        query = query.filter(pk=credentials.device_id)
    else:
        query = query.filter(serial__in=credentials.serials)
    candidates = list(query[:4])  # a serial is unique per vendor; the generic endpoint serves two vendors
    if not candidates:
        raise Refused("unknown_device")
    for device in candidates:
        if secret_matches(credentials.secret, device.secret_hash):
            return device
    raise Refused("auth_failed", candidates[0])
