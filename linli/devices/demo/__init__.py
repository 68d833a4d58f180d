"""Demo devices, their history and the alerts it raised, on top of the place, resident and ticket demo.

``seed_devices(seed=..., now=...)`` runs after ``linli.demo.seed_demo`` and the ticket demo (``linli seed_demo``
calls it). In every active estate it registers, through ``register_device``, a face door per entrance and at the
estate gates, barrier gates with plate cameras, AI cameras at the fire lane, the bin station and a facade (objects
thrown from height), a sensor gateway with smoke sensors per building and gas sensors in some homes of elderly
people living alone, wristbands for some of them, and in 祥和苑 a Hikvision NVR and a Frigate server with its
fire-lane camera. Vendors vary by estate (祥和苑 Hikvision, the others Dahua or Linli's generic format).

Residents get an employee number (and some a card) valid on every door of their estate, some households a
vehicle, each estate two visitor passes. Then a few days of passages at doors and gates are written through
``record_device_events`` (the ingestion path) and processed by the pipeline, so residents' last-seen times are
set; a handful of camera, sensor and wristband events raise alerts that staff then handle through the alert
actions (acknowledged, commented, resolved, a false alarm, one turned into a ticket), the sweeps escalate and
auto-resolve what is due, one device goes offline, one elderly resident living alone is not seen, and a few bad
payloads end in quarantine through the ingest functions the endpoints and the MQTT consumer use.

Demo devices keep a one-day offline threshold: nothing sends heartbeats unless ``linli simulate`` runs, and a
ten-minute threshold would turn the whole demo offline within minutes. The simulator's file (serials, secrets,
credential refs, plates, visitor codes) is written to ``var/simulator.json`` (0600). Deterministic for a given
seed, database and ``now``.

Modules: ``registry`` (devices, credentials, vehicles, visitor passes), ``history`` (passages through the
ingestion path and the pipeline), ``stories`` (alerts and their handling, sweeps, quarantine).
"""


from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from linli.core import audit

from ..models import Device
from ..simulate.plan import DEMO_ROLE, build_plan, write_plan
from .stories import DeviceDemo

__all__ = ["DEFAULT_SEED", "HISTORY_DAYS", "DevicesReport", "seed_devices"]

DEFAULT_SEED = 20261121
HISTORY_DAYS = 3


@dataclass
class DevicesReport:
    status: str  # created or present
    counts: Counter = field(default_factory=Counter)
    plan_path: Path | None = None
    seconds: float = 0.0

    @property
    def message(self) -> str:
        if self.status == "present":
            return "演示设备已存在 / demo devices already present"
        return (f"演示设备已导入 / demo devices: {dict(sorted(self.counts.items()))} in {self.seconds} s; "
                f"simulator file {self.plan_path}")


def seed_devices(*, seed: int = DEFAULT_SEED, now: dt.datetime | None = None, plan_path: Path | None = None,
                 days: int = HISTORY_DAYS) -> DevicesReport:
    """Devices, history and alerts in every active estate (nothing when demo devices exist already)."""
    if Device.objects.filter(attrs__has_key=DEMO_ROLE).exists():
        return DevicesReport("present")
    started = time.perf_counter()
    now = now or timezone.now()
    with transaction.atomic():
        demo = DeviceDemo(random.Random(seed), now, days)
        demo.run()
        audit.record(demo.system, "demo.devices", target_type="demo", target_id=str(seed),
                     target_label="演示设备", after=dict(demo.counts))
        plan = build_plan(demo.secrets, now)
    report = DevicesReport("created", demo.counts)
    report.plan_path = write_plan(plan, plan_path)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


