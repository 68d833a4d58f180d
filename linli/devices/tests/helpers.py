"""Helpers of the device tests: devices registered through the action (the secret is what the device would be
configured with), pushes over HTTP as devices send them, and row snapshots to prove that refusals write nothing."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from django.test import Client

from linli.core.actor import Actor


@dataclass
class Registered:
    device: object
    secret: str

    @property
    def pk(self) -> int:
        return self.device.pk

    def basic(self, secret: str | None = None) -> dict[str, str]:
        token = base64.b64encode(f"{self.device.serial}:{secret or self.secret}".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {token}"}

    def push(self, client: Client, source: str, body: bytes, content_type: str = "application/json",
             secret: str | None = None):
        return client.post(f"/api/v1/ingest/{source}", body, content_type=content_type, **self.basic(secret))


def register(place, *, kind: str = "face_terminal", vendor: str = "generic", serial: str = "DOOR-3-1",
             name: str = "3栋1单元门禁", **extra) -> Registered:
    from linli.devices.actions import register_device

    device, secret = register_device(actor=Actor.system("test"), place=place, kind=kind, vendor=vendor, serial=serial,
                                     name=name, **extra)
    return Registered(device, secret)


def counts() -> dict[str, int]:
    """Rows of every table the devices app writes, and the audit log."""
    from linli.core.models import AuditEntry
    from linli.devices import models as m

    tables = (m.Device, m.DeviceCredential, m.Vehicle, m.VisitorPass, m.DeviceEvent, m.PersonPresence,
              m.QuarantinedPayload, m.PendingBatch, AuditEntry)
    return {model.__name__: model.objects.count() for model in tables}
