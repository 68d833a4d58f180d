"""Sending the shots: over HTTP to the ingestion endpoints (each device with its own Basic credentials) or over
MQTT (generic messages on ``<prefix>/<serial>/events``, Frigate messages on ``<frigate prefix>/events``, QoS 1),
paced by the speed factor, then a summary: what was sent per scenario and kind, the answers, the errors."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from django.utils import timezone

from .scenarios import BUILDERS, HTTP_ONLY, MQTT_ONLY, SCENARIOS, Context, Shot

HTTP_TIMEOUT = 30


@dataclass
class Summary:
    transport: str
    sent: Counter = field(default_factory=Counter)  # (scenario, label) -> payloads
    events: int = 0
    statuses: Counter = field(default_factory=Counter)  # HTTP status (or "puback") -> count
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def payloads(self) -> int:
        return sum(self.sent.values())

    def lines(self) -> list[str]:
        out = [f"linli simulate over {self.transport}: {self.payloads} payloads ({self.events} events) in "
               f"{self.seconds:.1f} s"]
        for (scenario, label), n in sorted(self.sent.items()):
            out.append(f"  {scenario:<10} {label:<40} {n}")
        out.append("answers: " + (", ".join(f"{k} x{v}" for k, v in sorted(self.statuses.items(), key=str)) or "none"))
        out += [f"note: {n}" for n in self.notes]
        out += [f"skipped: {s}" for s in self.skipped]
        out.append(f"errors: {len(self.errors)}")
        out += [f"  {e}" for e in self.errors[:20]]
        return out


class HttpSender:
    """One keep-alive connection to Linli; each request authenticates as the shot's device (HTTP Basic)."""

    transport = "HTTP"

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("--url must look like http://127.0.0.1:8000")
        self.parts = parts
        self.base = parts.path.rstrip("/")
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
            self.conn = cls(self.parts.hostname, self.parts.port, timeout=HTTP_TIMEOUT)
        return self.conn

    def send(self, shot: Shot, body: bytes, content_type: str) -> tuple[str, str]:
        """(status, what went wrong or "")."""
        token = base64.b64encode(f"{shot.device['serial']}:{shot.device['secret']}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": content_type,
                   "Content-Length": str(len(body))}
        path = f"{self.base}/api/v1/ingest/{shot.source}"
        for attempt in (1, 2):  # a keep-alive connection the server closed is opened again once
            try:
                conn = self._connection()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    return "failed", f"{shot.scenario} {shot.label} {shot.device['serial']}: {exc}"
        status = response.status
        if status == shot.expect:
            return str(status), ""
        try:
            code = json.loads(answer).get("code", "")
        except ValueError:
            code = answer[:80].decode("utf-8", "replace")
        return str(status), f"{shot.scenario} {shot.label} {shot.device['serial']}: HTTP {status} {code}"

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class MqttSender:
    """A publisher at QoS 1; a message counts as delivered when the broker acknowledged it."""

    transport = "MQTT"

    def __init__(self, url: str, prefix: str = "linli", frigate_prefix: str = "frigate"):
        import paho.mqtt.client as paho

        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("--mqtt must look like mqtt://127.0.0.1:1883")
        self.prefix, self.frigate_prefix = prefix, frigate_prefix
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"linli-simulate-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv5)
        if parts.username:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme == "mqtts":
            self.client.tls_set()
        self.client.connect(parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883))
        self.client.loop_start()

    def topic(self, shot: Shot) -> str:
        if shot.source == "frigate":
            return f"{self.frigate_prefix}/events"
        return f"{self.prefix}/{shot.device['serial']}/events"

    def send(self, shot: Shot, body: bytes, content_type: str) -> tuple[str, str]:
        try:
            info = self.client.publish(self.topic(shot), body, qos=1)
            info.wait_for_publish(timeout=10)
        except (OSError, RuntimeError, ValueError) as exc:
            return "failed", f"{shot.scenario} {shot.label}: {exc}"
        if not info.is_published():
            return "failed", f"{shot.scenario} {shot.label}: no PUBACK within 10 s"
        return "puback", ""

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def choose(names: Iterable[str] | None, *, mqtt: bool, frigate: bool) -> tuple[list[str], list[str]]:
    """The scenarios to run (all by default) and those skipped with the reason."""
    wanted = list(names or SCENARIOS)
    unknown = [n for n in wanted if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    run, skipped = [], []
    for name in wanted:
        if mqtt and name in HTTP_ONLY:
            skipped.append(f"{name}: HTTP only (vendor push endpoints)")
        elif name in MQTT_ONLY and not (mqtt and frigate):
            if names:  # asked for by name
                skipped.append(f"{name}: MQTT only, with --frigate")
        else:
            run.append(name)
    return run, skipped


def plan_shots(plan: dict[str, Any], scenarios: list[str], *, mqtt: bool, backdate: bool, seed: int | None,
               frigate: bool = False, start: dt.datetime | None = None) -> tuple[list[Shot], list[str]]:
    start = start or timezone.now()
    run_id = base36(int(start.timestamp() * 1000) % 36 ** 8)
    ctx = Context(plan=plan, rng=random.Random(seed), start=start, mqtt=mqtt, backdate=backdate, run_id=run_id,
                  frigate=frigate)
    shots = [shot for name in scenarios for shot in BUILDERS[name](ctx)]
    shots.sort(key=lambda s: s.offset)
    return shots, ctx.notes


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def run(sender: HttpSender | MqttSender, shots: list[Shot], *, speed: float, duration: float | None = None,
        count: int | None = None, sleep: Callable[[float], None] = time.sleep) -> Summary:
    """Send the shots in time order, ``offset / speed`` seconds after the start, until ``duration`` real seconds
    or ``count`` payloads."""
    summary = Summary(sender.transport)
    started = time.monotonic()
    try:
        for shot in shots:
            due = shot.offset / speed
            if duration is not None and due > duration:
                break
            if count is not None and summary.payloads >= count:
                break
            wait = due - (time.monotonic() - started)
            if wait > 0:
                sleep(wait)
            body, content_type = shot.build(timezone.now())
            status, error = sender.send(shot, body, content_type)
            summary.sent[(shot.scenario, shot.label)] += 1
            summary.events += shot.events
            summary.statuses[status] += 1
            if error:
                summary.errors.append(error)
    finally:
        sender.close()
        summary.seconds = time.monotonic() - started
    return summary
