"""The simulator's file: the demo devices to speak as (serial and secret) and who passes them (credential refs,
plates, visitor codes), written under ``var/`` with mode 0600 by the demo (``linli.devices.demo``) or by
``linli simulate --setup``, which re-keys the demo devices through ``rotate_device_secret``.

Secrets exist in clear text only in this file; the database keeps their digests. The file names residents by
database id and credential ref only (no names, ID numbers or phones)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

PLAN_VERSION = 1
FILE_NAME = "simulator.json"
DEMO_ROLE = "demo_role"  # the key in Device.attrs naming the part a demo device plays (door, barrier, fire_lane ...)
ELDERLY_ALONE = "elderly_alone"


def default_path() -> Path:
    return Path(settings.VAR_DIR) / FILE_NAME


def write_plan(plan: dict[str, Any], path: Path | None = None) -> Path:
    """Write the file readable by its owner only (it holds device secrets)."""
    path = Path(path or default_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(plan, out, ensure_ascii=False, separators=(",", ":"))
    os.chmod(path, 0o600)
    return path


class PlanError(Exception):
    pass


def read_plan(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or default_path())
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanError(f"{path} not found: load the demo (linli seed_demo) or run `linli simulate --setup` on the "
                        "server") from exc
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(plan, dict) or plan.get("version") != PLAN_VERSION or not plan.get("devices"):
        raise PlanError(f"{path} is not a simulator file of version {PLAN_VERSION} with devices")
    return plan


def _age(birth: dt.date | None, today: dt.date) -> int:
    if birth is None:
        return 40
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def build_plan(secrets: dict[int, str], now: dt.datetime | None = None) -> dict[str, Any]:
    """The plan for the demo devices whose secrets are given (device id -> secret), read from the database."""
    from linli.alerts.choices import ACTIVE, NOT_SEEN
    from linli.alerts.models import Alert
    from linli.people.models import ResidentTag
    from linli.places.models import Place

    from ..models import Device, DeviceCredential, PersonPresence, Vehicle, VisitorPass

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    devices = list(Device.objects.filter(pk__in=secrets, retired_at__isnull=True, attrs__has_key=DEMO_ROLE)
                   .order_by("place_path", "pk"))
    estates = {p.pk: p for p in Place.objects.filter(kind="estate", status="active").select_related("parent")}
    paths = {p.path: pk for pk, p in estates.items()}

    def estate_of(path: str) -> int | None:
        parts = path.strip("/").split("/")
        for n in range(len(parts), 0, -1):
            pk = paths.get("/" + "/".join(parts[:n]) + "/")
            if pk is not None:
                return pk
        return None

    doors = {d.place_id: d.serial for d in devices if d.attrs[DEMO_ROLE] == "door"}
    door_vendor = {d.serial: d.vendor for d in devices}
    cards = dict(DeviceCredential.objects.filter(device__isnull=True, ref_type="card_no").values_list("resident_id", "ref"))
    alone = set(ResidentTag.objects.filter(Q(until__isnull=True) | Q(until__gte=today), tag__code=ELDERLY_ALONE)
                .values_list("resident_id", flat=True))
    people = []
    rows = (DeviceCredential.objects.filter(device__isnull=True, ref_type="employee_no", resident__status="active")
            .order_by("resident_id").values_list("resident_id", "ref", "place_path", "resident__place__parent_id",
                                                 "resident__birth_date"))
    for resident_id, ref, path, entrance_id, birth in rows:
        people.append({"resident": resident_id, "estate": estate_of(path), "ref": ref, "card": cards.get(resident_id),
                       "door": doors.get(entrance_id), "age": _age(birth, today),
                       "elderly_alone": resident_id in alone})
    alerted = set(Alert.objects.filter(kind=NOT_SEEN, status__in=ACTIVE).values_list("resident_id", flat=True))
    seen = set(PersonPresence.objects.filter(resident_id__in=alone).values_list("resident_id", flat=True))
    worn = {d.wearer_id for d in devices if d.wearer_id}
    candidates = sorted((p for p in people if p["elderly_alone"] and p["door"] and p["resident"] not in alerted
                         and p["resident"] not in worn),
                        key=lambda p: (p["resident"] in seen, door_vendor.get(p["door"]) != "generic", p["resident"]))
    vehicles = [{"estate": estate_of(path), "plate": plate, "owner": owner} for plate, path, owner in
                Vehicle.objects.filter(active=True).order_by("pk").values_list("plate", "place_path", "owner_id")]
    visitors = [{"estate": estate_of(path), "code": code, "plate": plate} for code, path, plate in
                VisitorPass.objects.filter(revoked_at__isnull=True, valid_until__gt=now, valid_from__lte=now)
                .order_by("pk").values_list("code", "place_path", "plate")]
    return {
        "version": PLAN_VERSION,
        "generated_at": now.isoformat(),
        "estates": {str(pk): {"name": e.name, "community": e.parent.name if e.parent else ""}
                    for pk, e in sorted(estates.items())},
        "devices": [{"id": d.pk, "serial": d.serial, "secret": secrets[d.pk], "vendor": d.vendor, "kind": d.kind,
                     "role": d.attrs[DEMO_ROLE], "estate": estate_of(d.place_path), "name": d.name,
                     "offline_after": d.offline_after, "wearer": d.wearer_id} for d in devices],
        "people": people,
        "vehicles": vehicles,
        "visitors": visitors,
        "silent": candidates[0] if candidates else None,
    }


def setup(*, actor: Any, path: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Re-key every demo device through the action (the old secrets stop working) and write a fresh file."""
    from ..actions import rotate_device_secret
    from ..models import Device

    secrets = {}
    for device in Device.objects.filter(attrs__has_key=DEMO_ROLE, retired_at__isnull=True).order_by("pk"):
        _, secret = rotate_device_secret(actor=actor, device=device)
        secrets[device.pk] = secret
    if not secrets:
        raise PlanError("no demo devices in this database: load the demo first (linli seed_demo)")
    plan = build_plan(secrets)
    return write_plan(plan, path), plan
