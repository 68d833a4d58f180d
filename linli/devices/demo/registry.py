"""The demo's registry: devices per estate (through register_device), credentials, vehicles, visitor passes,
and the two elderly residents the demo and the simulator single out."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from linli.alerts import care
from linli.core.actor import Actor
from linli.core.errors import DomainError
from linli.people.models import Resident, ResidentTag
from linli.places.models import Place

from ..actions import issue_visitor_pass, register_device, register_vehicle
from ..choices import Vendor
from ..models import Device, DeviceCredential
from ..simulate.plan import DEMO_ROLE

DEMO_OFFLINE_AFTER = 24 * 60  # minutes: see linli.devices.demo
SIMULATOR_OFFLINE_AFTER = 2  # the device `linli simulate` lets fall silent
MERGED_ESTATE = "祥和苑"
CARD_SHARE = 0.4
VEHICLE_SHARE = 0.22


def local_time(day: dt.date, hours: float) -> dt.datetime:
    """A local time of day on ``day`` as an aware datetime."""
    midnight = timezone.make_aware(dt.datetime.combine(day, dt.time()), timezone.get_default_timezone())
    return midnight + dt.timedelta(hours=hours)


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    tail = "".join(rng.choice(letters + "0123456789" * 3) for _ in range(4))
    return "鄂L" + rng.choice(letters + "0123456789") + tail


@dataclass
class Estate:
    place: Place
    vendor: str
    index: int
    doors: dict[int, Device] = field(default_factory=dict)  # entrance id -> door
    gate_doors: list[Device] = field(default_factory=list)
    barriers: list[Device] = field(default_factory=list)
    roles: dict[str, Device] = field(default_factory=dict)  # fire_lane, bin, facade, gateway ...
    smoke: list[Device] = field(default_factory=list)
    gas: list[Device] = field(default_factory=list)
    bands: list[Device] = field(default_factory=list)
    people: list[tuple[Resident, int]] = field(default_factory=list)  # (resident, age)


class Registry:
    def __init__(self, rng: random.Random, now: dt.datetime, days: int):
        self.rng = rng
        self.now = now
        self.days = days
        self.system = Actor.system("演示数据 demo devices")
        self.secrets: dict[int, str] = {}
        self.counts: Counter = Counter()
        self.serial_no = 0
        self.serials: set[str] = set()
        self.alone_seen = 0
        places = Place.objects.filter(kind="estate", status="active").order_by("path")
        others = [p for p in places if p.name != MERGED_ESTATE]
        merged = [p for p in places if p.name == MERGED_ESTATE]
        vendors = (Vendor.DAHUA, Vendor.GENERIC)
        self.estates = [Estate(p, Vendor.HIKVISION, 0) for p in merged] + [
            Estate(p, vendors[i % 2], i + 1) for i, p in enumerate(others)]
        self.alone = set(ResidentTag.objects.filter(Q(until__isnull=True), tag__code=care.TAG)
                         .values_list("resident_id", flat=True))
        self.cards: dict[int, str] = {}
        self.plates: list[tuple[Estate, str, Resident]] = []
        self.passes: list[tuple[Estate, str]] = []
        self.silent: Resident | None = None
        self.not_seen: Resident | None = None

    def _serial(self, vendor: str, prefix: str, estate: Estate) -> str:
        self.serial_no += 1
        serial = f"{prefix}-{estate.index + 1}-{self.serial_no:04d}"
        while vendor in (Vendor.HIKVISION, Vendor.DAHUA) and (serial in self.serials or serial.startswith(prefix)):
            if vendor == Vendor.HIKVISION:  # a MAC address, as Hikvision devices name themselves
                serial = "bc:5e:33:" + ":".join(f"{self.rng.randrange(256):02x}" for _ in range(3))
            else:
                serial = f"7J0{self.rng.randrange(16 ** 7):07X}"
        self.serials.add(serial)
        return serial

    def _register(self, estate: Estate, place: Place, role: str, kind: str, vendor: str, name: str, *,
                  serial: str = "", prefix: str = "DEV", offline_after: int = DEMO_OFFLINE_AFTER,
                  east_m: float = 0, **extra: Any) -> Device:
        lng, lat = place.longitude or estate.place.longitude, place.latitude or estate.place.latitude
        location = {}
        if lng is not None and lat is not None:
            location = {"longitude": round(lng + east_m / 96_000, 6), "latitude": round(lat, 6)}
        device, secret = register_device(actor=self.system, place=place, kind=kind, vendor=vendor,
                                         serial=serial or self._serial(vendor, prefix, estate), name=name,
                                         offline_after=offline_after, attrs={DEMO_ROLE: role}, **location, **extra)
        self.secrets[device.pk] = secret
        self.counts[f"device:{kind}"] += 1
        return device

    def _devices(self, estate: Estate) -> None:
        e, v = estate.place, estate.vendor
        buildings = list(Place.objects.filter(parent=e, kind="building", status="active").order_by("sort_key", "pk"))
        entrances = list(Place.objects.filter(kind="entrance", status="active", path__startswith=e.path)
                         .select_related("parent").order_by("path"))
        for entrance in entrances:
            estate.doors[entrance.pk] = self._register(estate, entrance, "door", "face_terminal", v,
                                                       f"{entrance.parent.name}{entrance.name}人脸门禁", prefix="DOOR")
        gates = ("北门", "南门") if e.name == MERGED_ESTATE else ("大门",)
        for n, gate in enumerate(gates):
            estate.gate_doors.append(self._register(estate, e, "gate_door", "face_terminal", v, f"{gate}人行人脸门禁",
                                                    prefix="GATE", east_m=-60 + 120 * n))
            estate.barriers.append(self._register(estate, e, "barrier", "barrier_gate", v, f"{gate}车行道闸（车牌识别）",
                                                  prefix="LPR", east_m=-50 + 120 * n))
        first = buildings[0] if buildings else e
        estate.roles["fire_lane"] = self._register(estate, first, "fire_lane", "ai_camera", Vendor.GENERIC,
                                                   f"{first.name}消防通道AI摄像头", prefix="CAM", east_m=15)
        estate.roles["bin"] = self._register(estate, e, "bin", "ai_camera", Vendor.GENERIC, "垃圾分类站AI摄像头",
                                             prefix="CAM", east_m=40)
        facade = buildings[-1] if buildings else e
        estate.roles["facade"] = self._register(estate, facade, "facade", "ai_camera", v if v != Vendor.DAHUA else
                                                Vendor.GENERIC, f"{facade.name}高空抛物摄像头", prefix="CAM")
        if e.name == MERGED_ESTATE:
            estate.roles["nvr"] = self._register(estate, e, "nvr", "nvr", Vendor.HIKVISION, "监控中心硬盘录像机")
            server = self._register(estate, e, "frigate_server", "nvr", Vendor.FRIGATE, "Frigate 视频分析服务器",
                                    serial="frigate")
            estate.roles["frigate_server"] = server
            second = buildings[min(4, len(buildings) - 1)] if buildings else e
            estate.roles["frigate_camera"] = self._register(
                estate, second, "frigate_camera", "ai_camera", Vendor.FRIGATE, f"{second.name}消防通道（Frigate）",
                serial="xianghe_fire_lane", gateway=server)
        if v == Vendor.GENERIC and not any(x.roles.get("spare") for x in self.estates):
            estate.roles["spare"] = self._register(estate, e, "spare", "ai_camera", Vendor.GENERIC, "停车场广角摄像头",
                                                   prefix="CAM", offline_after=SIMULATOR_OFFLINE_AFTER, east_m=80)
        gateway = self._register(estate, e, "gateway", "sensor_gateway", Vendor.GENERIC, "物联网传感器网关", prefix="GW")
        estate.roles["gateway"] = gateway
        for building in buildings:
            estate.smoke.append(self._register(estate, building, "smoke", "smoke_sensor", Vendor.GENERIC,
                                               f"{building.name}楼道烟感", prefix="SMK", gateway=gateway))
        residents = Resident.objects.filter(place_path__startswith=e.path, status="active").select_related(
            "place").order_by("pk")
        today = timezone.localtime(self.now).date()
        estate.people = [(r, today.year - r.birth_date.year if r.birth_date else 40) for r in residents]
        for resident in (r for r, _ in estate.people if r.pk in self.alone):
            self.alone_seen += 1  # every other one, over all estates, wears a wristband; the others get gas sensors
            if self.alone_seen % 2 == 0 and len(estate.bands) < 3:
                estate.bands.append(self._register(estate, resident.place, "wristband", "wristband", Vendor.GENERIC,
                                                   f"智能手环（{resident.place.name}）", prefix="WB", wearer=resident))
            elif self.alone_seen % 2 == 1 and len(estate.gas) < 5:
                estate.gas.append(self._register(estate, resident.place, "gas", "gas_sensor", Vendor.GENERIC,
                                                 f"{resident.place.name}厨房燃气报警器", prefix="GAS", gateway=gateway))

    def _credentials(self) -> None:
        """Everyone aged 12 or more gets an employee number on every door of their estate, some a card too. Bulk
        inserted like the residents they belong to (one audit entry for the demo), thousands of rows."""
        rows = []
        for estate in self.estates:
            for resident, age in estate.people:
                if age < 12:
                    continue
                common = {"place": estate.place, "place_path": estate.place.path, "resident": resident}
                rows.append(DeviceCredential(ref_type="employee_no", ref=f"Y{resident.pk:07d}", **common))
                if self.rng.random() < CARD_SHARE:
                    card = f"{self.rng.randrange(10 ** 9, 10 ** 10)}"
                    self.cards[resident.pk] = card
                    rows.append(DeviceCredential(ref_type="card_no", ref=card, **common))
        DeviceCredential.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        self.counts["credentials"] = len(rows)

    def _vehicles_and_visitors(self) -> None:
        for estate in self.estates:
            drivers: dict[int, Resident] = {}  # the first adult of working age in each home
            for resident, age in estate.people:
                if 25 <= age <= 70 and resident.pk not in self.alone:
                    drivers.setdefault(resident.place_id, resident)
            for resident in drivers.values():
                if self.rng.random() > VEHICLE_SHARE:
                    continue
                plate = _plate(self.rng)
                try:
                    register_vehicle(actor=self.system, place=estate.place, plate=plate, owner=resident,
                                     plate_color="蓝")
                except DomainError:  # the random plate was drawn twice
                    continue
                self.plates.append((estate, plate, resident))
            for n, (name, plate) in enumerate((("访客（亲属探望）", ""), ("访客（装修师傅）", _plate(self.rng)))):
                hosts = [r for r, age in estate.people if age >= 18]
                visitor = issue_visitor_pass(actor=self.system, place=estate.place, name=name,
                                             host=hosts[n % len(hosts)] if hosts else None, plate=plate,
                                             valid_from=self.now - dt.timedelta(days=self.days + 1),
                                             valid_until=self.now + dt.timedelta(days=30))
                self.passes.append((estate, visitor.code))
        self.counts["vehicles"] = len(self.plates)
        self.counts["visitor_passes"] = len(self.passes)

    def _pick_care_people(self) -> None:
        """The elderly resident with the open "not seen" alert, and the one ``linli simulate`` lets go silent
        (no passages in the demo; a generic door so that the simulator can speak for it over MQTT as well)."""
        worn = {d.wearer_id for e in self.estates for d in e.bands}
        candidates = [(estate.vendor != Vendor.GENERIC, resident.pk, resident) for estate in self.estates
                      for resident, age in estate.people
                      if resident.pk in self.alone and resident.pk not in worn and age >= 12]
        candidates.sort(key=lambda c: (c[0], c[1]))
        if candidates:  # the first not-seen resident is the last candidate: 祥和苑 (Hikvision) comes first
            self.silent = candidates[0][2]
            others = [c[2] for c in candidates[1:]]
            self.not_seen = next((r for r in others if r.place.path.startswith(self.estates[0].place.path)),
                                 others[0] if others else None)

