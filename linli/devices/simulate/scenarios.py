"""What the simulator sends: each scenario is a list of shots (when, from which device, which payload).

Times: a shot's ``offset`` is simulated seconds after the start of the run; the runner sends it ``offset / speed``
real seconds after the start. The two peaks replay the latest morning (07:00-09:00) or evening (17:30-19:30)
window that has ended, with the events' own times in that window; the other scenarios happen now: their events are
stamped with the time they are sent, and durations (a car standing in the fire lane) are simulated ones.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from . import payloads as p

SCENARIOS: dict[str, str] = {
    "morning": "早高峰 07:00-09:00：居民刷脸/刷卡出门，车辆驶出道闸，访客进入",
    "evening": "晚高峰 17:30-19:30：居民回家，车辆驶入",
    "fire-lane": "一辆车在消防通道停留数分钟（AI 摄像头）→ 消防通道占用告警",
    "bin": "垃圾满溢（AI 摄像头）",
    "silent": "独居老人不再出门（--backdate：补发其过去 8 天的通行，最后一次在 26 小时前，关怀巡查随即告警）",
    "wristband": "手环 SOS、跌倒和心率",
    "offline": "一台设备发几次心跳后停止 → 离线及设备离线告警",
    "malformed": "损坏的报文和含错误事件的批次 → 隔离报文",
    "hikvision": "海康门禁人脸通行（multipart 带照片）和车牌识别（multipart）",
    "dahua": "大华门禁和车牌上传（JSON）",
    "frigate": "Frigate：消防通道内停留的车辆（仅 MQTT，需 --frigate）",
}
HTTP_ONLY = {"hikvision", "dahua"}
MQTT_ONLY = {"frigate"}
MORNING = (7.0, 9.0)
EVENING = (17.5, 19.5)
Build = Callable[[dt.datetime], tuple[bytes, str]]


@dataclass
class Shot:
    offset: float
    scenario: str
    label: str  # the event kind, or what the payload is
    device: dict[str, Any]  # the plan's entry: serial, secret, vendor, role ...
    source: str  # generic, hikvision, dahua (HTTP endpoints) or frigate (MQTT only)
    build: Build  # the payload, given the time it is sent
    events: int = 1
    expect: int = 200  # the HTTP status this payload should get


@dataclass
class Context:
    plan: dict[str, Any]
    rng: random.Random
    start: dt.datetime
    mqtt: bool
    backdate: bool
    run_id: str
    frigate: bool = False  # Frigate messages too (MQTT only)
    counter: int = 0
    notes: list[str] = field(default_factory=list)

    def next(self) -> int:
        self.counter += 1
        return self.counter

    def event_id(self) -> str:
        return f"sim-{self.run_id}-{self.next()}"

    def number(self) -> int:
        """A device counter (Hikvision serialNo, Dahua RecNo) that a new run does not repeat."""
        return int(self.run_id, 36) % 10_000_000 * 10_000 + self.next()

    def usable(self, device: dict[str, Any] | None) -> bool:
        """Over MQTT only devices of the generic format can speak (linli/<serial>/events)."""
        return device is not None and (not self.mqtt or device["vendor"] in ("generic", "other"))

    def devices(self, role: str) -> list[dict[str, Any]]:
        return [d for d in self.plan["devices"] if d["role"] == role and self.usable(d)]

    def one(self, role: str, vendor: str | None = None) -> dict[str, Any] | None:
        found = [d for d in self.devices(role) if vendor is None or d["vendor"] == vendor]
        return self.rng.choice(found) if found else None


def latest_window(now: dt.datetime, hours: tuple[float, float]) -> dt.datetime:
    """The start of the latest window of those local hours that has ended by ``now``."""
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + dt.timedelta(hours=hours[0])
    if midnight + dt.timedelta(hours=hours[1]) > local:
        start -= dt.timedelta(days=1)
    return start


# ------------------------------------------------------------------------------------------------ passages

def door_payload(ctx: Context, door: dict[str, Any], person: dict[str, Any], at: dt.datetime, direction: str,
                 picture: bool = False) -> tuple[str, Build]:
    """(label, build) of a person passing a door in the door's vendor format."""
    card = person.get("card") if ctx.rng.random() < 0.3 else None
    label = "passage.card" if card else "passage.face"
    if door["vendor"] == "hikvision":
        number = ctx.number()
        image = p.jpeg(person["ref"]) if picture else None
        return label, lambda _: p.hikvision_access(door["serial"], at, number, employee="" if card else person["ref"],
                                                   card=card or "", door_name=door["name"], picture=image)
    if door["vendor"] == "dahua":
        number = ctx.number()
        return label, lambda _: p.dahua_upload([p.dahua_access(at, number, user="" if card else person["ref"],
                                                               card=card or "", entry=direction == "in")], at)
    event = p.generic_event(door["serial"], label, at, ctx.event_id(),
                            subject=p.resident_subject(card or person["ref"], card=bool(card)), direction=direction,
                            score=None if card else round(ctx.rng.uniform(0.88, 0.99), 2))
    return label, lambda _: p.generic(event)


def plate_payload(ctx: Context, gate: dict[str, Any], plate: str, at: dt.datetime, direction: str,
                  pictures: bool = False) -> Build:
    if gate["vendor"] == "hikvision":
        uuid = ctx.event_id()
        return lambda _: p.hikvision_anpr(gate["serial"], at, uuid, plate,
                                          direction="forward" if direction == "in" else "reverse", pictures=pictures)
    if gate["vendor"] == "dahua":
        number = ctx.number()
        return lambda _: p.dahua_upload([p.dahua_traffic(at, number, plate, entry=direction == "in")], at)
    event = p.generic_event(gate["serial"], "passage.plate", at, ctx.event_id(),
                            subject={"kind": "plate", "ref": plate}, direction=direction,
                            score=round(ctx.rng.uniform(0.9, 0.99), 2))
    return lambda _: p.generic(event)


def _source(device: dict[str, Any]) -> str:
    return device["vendor"] if device["vendor"] in ("hikvision", "dahua") else "generic"


def peak(ctx: Context, name: str) -> list[Shot]:
    """Residents leave (morning) or come home (evening) through their entrance door, some through the estate
    gate too, weighted by age; cars pass the barrier gates; a few visitors come in."""
    morning = name == "morning"
    begin = latest_window(ctx.start, MORNING if morning else EVENING)
    length = (MORNING[1] - MORNING[0] if morning else EVENING[1] - EVENING[0]) * 3600
    direction = "out" if morning else "in"
    devices = {d["serial"]: d for d in ctx.plan["devices"]}
    gates: dict[Any, list[dict]] = defaultdict(list)
    barriers: dict[Any, list[dict]] = defaultdict(list)
    for d in ctx.plan["devices"]:
        if ctx.usable(d) and d["role"] == "gate_door":
            gates[d["estate"]].append(d)
        if ctx.usable(d) and d["role"] == "barrier":
            barriers[d["estate"]].append(d)
    silent = (ctx.plan.get("silent") or {}).get("resident")
    rng, shots = ctx.rng, []

    def at_offset(seconds: float) -> tuple[float, dt.datetime]:
        seconds = min(max(seconds, 0.0), length - 1)
        return seconds, begin + dt.timedelta(seconds=seconds)

    for person in ctx.plan["people"]:
        door = devices.get(person.get("door") or "")
        if person["resident"] == silent or person["age"] < 12 or not ctx.usable(door):
            continue
        age = person["age"]
        share = 0.9 if age < 23 else 0.85 if age < 60 else (0.45 if morning else 0.25)
        if rng.random() > share:
            continue
        if morning:
            centre = 0.35 if age < 23 else 0.75 if age < 60 else 1.6  # hours after 07:00
        else:
            centre = 0.3 if age < 23 else 1.0 if age < 60 else 0.5  # hours after 17:30
        seconds, at = at_offset(rng.gauss(centre, 0.35) * 3600)
        label, build = door_payload(ctx, door, person, at, direction)
        shots.append(Shot(seconds, name, label, door, _source(door), build))
        gate_list = gates.get(person["estate"])
        if gate_list and rng.random() < 0.4:
            gate = rng.choice(gate_list)
            shift = rng.uniform(60, 240) * (1 if morning else -1)
            seconds, at = at_offset(seconds + shift)
            label, build = door_payload(ctx, gate, person, at, direction)
            shots.append(Shot(seconds, name, label, gate, _source(gate), build))
    for vehicle in ctx.plan["vehicles"]:
        gate_list = barriers.get(vehicle["estate"])
        if not gate_list or rng.random() > 0.8:
            continue
        gate = rng.choice(gate_list)
        seconds, at = at_offset(rng.gauss(0.8 if morning else 1.1, 0.4) * 3600)
        shots.append(Shot(seconds, name, "passage.plate", gate, _source(gate),
                          plate_payload(ctx, gate, vehicle["plate"], at, direction)))
    for visitor in ctx.plan["visitors"]:
        gate = next((g for g in gates.get(visitor["estate"], []) if g["vendor"] == "generic"), None)
        if gate is None or rng.random() > 0.5:
            continue
        seconds, at = at_offset(rng.uniform(0.2, 0.95) * length)
        event = p.generic_event(gate["serial"], "passage.qr", at, ctx.event_id(), direction="in",
                                subject={"kind": "visitor", "ref": visitor["code"]})
        shots.append(Shot(seconds, name, "passage.qr", gate, "generic", lambda _, e=event: p.generic(e)))
    ctx.notes.append(f"{name}: {len(shots)} passages from {timezone.localtime(begin):%Y-%m-%d %H:%M} on")
    return shots


# ------------------------------------------------------------------------------------------------ happening now

def live(ctx: Context, scenario: str, device: dict[str, Any], offset: float, kind: str, **fields: Any) -> Shot:
    """A generic event stamped with the time it is sent."""
    event_id = ctx.event_id()

    def build(at: dt.datetime) -> tuple[bytes, str]:
        return p.generic(p.generic_event(device["serial"], kind, at, event_id, **fields))
    return Shot(offset, scenario, kind, device, "generic", build)


def fire_lane(ctx: Context) -> list[Shot]:
    camera = ctx.one("fire_lane")
    if camera is None:
        return []
    plate = "鄂A" + "".join(ctx.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(5))
    ctx.notes.append(f"fire-lane: {plate} stands in front of {camera['name']} ({camera['serial']}) for 6 minutes; "
                     "the fire_lane rule opens an alert once it has stood 120 s")
    return [live(ctx, "fire-lane", camera, n * 30, "camera.fire_lane", zone="fire_lane", score=0.86,
                 state="start" if n == 0 else "update", attrs={"stationary_s": n * 30},
                 subject={"kind": "plate", "ref": plate}) for n in range(13)]


def bin_overflow(ctx: Context) -> list[Shot]:
    camera = ctx.one("bin")
    if camera is None:
        return []
    return [live(ctx, "bin", camera, n * 120, "camera.bin_overflow", zone="bins", score=0.92) for n in range(2)]


def wristband(ctx: Context) -> list[Shot]:
    bands = ctx.devices("wristband")
    if not bands:
        return []
    ctx.rng.shuffle(bands)
    shots = [live(ctx, "wristband", bands[0], 10, "wristband.sos", state="start")]
    if len(bands) > 1:
        shots.append(live(ctx, "wristband", bands[1], 70, "wristband.fall"))
    for n in range(5):
        for band in bands[:6]:
            shots.append(live(ctx, "wristband", band, 60 * n + 5, "wristband.heart_rate",
                              value=ctx.rng.randint(64, 96), unit="bpm"))
    return shots


def offline(ctx: Context) -> list[Shot]:
    device = ctx.one("spare") or ctx.one("bin")
    if device is None:
        return []
    ctx.notes.append(f"offline: {device['name']} ({device['serial']}) sends 4 heartbeats and stops; the minute sweep "
                     f"marks it offline {device['offline_after']} minutes after the last one")
    return [live(ctx, "offline", device, n * 30, "device.heartbeat") for n in range(4)]


def malformed(ctx: Context) -> list[Shot]:
    device = ctx.one("gateway")
    if device is None:
        return []
    broken = b'{"kind": "sensor.smoke", "time": "' + ctx.event_id().encode() + b'", "value": '
    event_id = ctx.event_id()

    def batch(at: dt.datetime) -> tuple[bytes, str]:
        good = p.generic_event(device["serial"], "device.low_battery", at, event_id, value=17)
        naive = {"kind": "sensor.gas", "time": timezone.localtime(at).strftime("%Y-%m-%dT%H:%M:%S"), "value": 40}
        return p.generic([good, naive], device["serial"])
    shots = [Shot(5, "malformed", "malformed", device, "generic", lambda _: (broken, p.JSON), expect=400),
             Shot(15, "malformed", "batch with a bad member", device, "generic", batch, events=2)]
    if ctx.mqtt and ctx.frigate:  # a Frigate message cut short: quarantined with source "frigate"
        shots.append(Shot(20, "malformed", "frigate/events malformed", device, "frigate",
                          lambda _: (b'{"type": "update", "before": {}, "after": {"id": ', p.JSON)))
    return shots


def silent(ctx: Context) -> list[Shot]:
    person = ctx.plan.get("silent")
    door = next((d for d in ctx.plan["devices"] if person and d["serial"] == person.get("door")), None)
    if person is None or not ctx.usable(door):
        ctx.notes.append("silent: no elderly resident living alone to let go silent in the simulator file")
        return []
    if not ctx.backdate:
        ctx.notes.append(f"silent: resident #{person['resident']} ({person['ref']}) passes no door any more; the "
                         "care sweep raises care.not_seen 24 h after their last passage (--backdate: at once)")
        return []
    today = timezone.localtime(ctx.start).date()
    moments = []
    for back in range(8, 1, -1):
        for hours, direction in ((9.0, "out"), (10.5, "in")):
            at = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=back), dt.time()))
            moments.append((at + dt.timedelta(hours=hours + ctx.rng.uniform(-0.5, 0.5)), direction))
    last = ctx.start - dt.timedelta(hours=26)
    moments.append((last, "in"))
    ctx.notes.append(f"silent: resident #{person['resident']} ({person['ref']}) last passed {door['name']} at "
                     f"{timezone.localtime(last):%Y-%m-%d %H:%M}; the next care sweep (every 5 minutes, not "
                     "23:00-07:00) raises care.not_seen")
    if door["vendor"] != "generic":  # one push per passage, in the door's own format
        return [Shot(0, "silent", f"{label} (backdated)", door, _source(door), build)
                for label, build in (door_payload(ctx, door, {**person, "card": None}, at, direction)
                                     for at, direction in moments)]
    events = [p.generic_event(door["serial"], "passage.face", at, ctx.event_id(), direction=direction,
                              subject=p.resident_subject(person["ref"])) for at, direction in moments]
    return [Shot(0, "silent", "passage.face (backdated)", door, "generic",
                 lambda _: p.generic(events, door["serial"]), events=len(events))]


def _person_at(ctx: Context, estate: Any) -> dict[str, Any] | None:
    people = [x for x in ctx.plan["people"] if x["estate"] == estate and x["age"] >= 18]
    return ctx.rng.choice(people) if people else None


def hikvision(ctx: Context) -> list[Shot]:
    shots = []
    door = ctx.one("door", "hikvision") or ctx.one("gate_door", "hikvision")
    person = door and _person_at(ctx, door["estate"])
    if door and person:
        number = ctx.number()
        image = p.jpeg(person["ref"])
        shots.append(Shot(3, "hikvision", "passage.face (multipart)", door, "hikvision", lambda at: p.hikvision_access(
            door["serial"], at, number, employee=person["ref"], door_name=door["name"], picture=image)))
    gate = ctx.one("barrier", "hikvision")
    cars = [v for v in ctx.plan["vehicles"] if gate and v["estate"] == gate["estate"]]
    if gate and cars:
        plate, uuid = ctx.rng.choice(cars)["plate"], ctx.event_id()
        shots.append(Shot(8, "hikvision", "passage.plate (multipart)", gate, "hikvision",
                          lambda at: p.hikvision_anpr(gate["serial"], at, uuid, plate, pictures=True)))
    return shots


def dahua(ctx: Context) -> list[Shot]:
    shots = []
    door = ctx.one("door", "dahua") or ctx.one("gate_door", "dahua")
    person = door and _person_at(ctx, door["estate"])
    if door and person:
        first, second = ctx.number(), ctx.number()
        shots.append(Shot(4, "dahua", "passage.face + passage.card (upload)", door, "dahua", lambda at: p.dahua_upload(
            [p.dahua_access(at, first, user=person["ref"], entry=False),
             p.dahua_access(at + dt.timedelta(seconds=20), second, card=person.get("card") or "", user=""
                            if person.get("card") else person["ref"])], at), events=2))
    gate = ctx.one("barrier", "dahua")
    cars = [v for v in ctx.plan["vehicles"] if gate and v["estate"] == gate["estate"]]
    if gate and cars:
        plate, number = ctx.rng.choice(cars)["plate"], ctx.number()
        shots.append(Shot(9, "dahua", "passage.plate (upload)", gate, "dahua",
                          lambda at: p.dahua_upload([p.dahua_traffic(at, number, plate)], at)))
    return shots


def frigate(ctx: Context) -> list[Shot]:
    camera = next((d for d in ctx.plan["devices"] if d["role"] == "frigate_camera"), None)
    if camera is None:
        return []
    object_id = f"{ctx.start.timestamp():.6f}-{ctx.run_id}"
    updates = 8
    began: list[dt.datetime] = []  # the car arrived (simulated) 30 s per update before the first message is sent

    def message(n: int, kind: str) -> Build:
        def build(at: dt.datetime) -> tuple[bytes, str]:
            if not began:
                began.append(at - dt.timedelta(seconds=30 * updates + 5))
            frame = began[0] + dt.timedelta(seconds=5 + 30 * n)
            return p.frigate_event(kind, camera["serial"], object_id, began[0], frame, stationary=n > 0), p.JSON
        return build
    ctx.notes.append(f"frigate: a car stands in {camera['serial']}'s fire_lane zone (frigate/events)")
    return [Shot(n * 30, "frigate", f"frigate/events {kind}", camera, "frigate", message(n, kind))
            for n, kind in enumerate(["new"] + ["update"] * updates)]


BUILDERS: dict[str, Callable[[Context], list[Shot]]] = {
    "morning": lambda ctx: peak(ctx, "morning"),
    "evening": lambda ctx: peak(ctx, "evening"),
    "fire-lane": fire_lane,
    "bin": bin_overflow,
    "silent": silent,
    "wristband": wristband,
    "offline": offline,
    "malformed": malformed,
    "hikvision": hikvision,
    "dahua": dahua,
    "frigate": frigate,
}
