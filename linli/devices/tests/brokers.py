"""Real processes for the reliability tests (test_reliability.py): a private Mosquitto that a test may stop and
start, a publisher that behaves like a device (QoS 1, keeps what the broker has not acknowledged and resends it
after a reconnect), ``linli ingest`` as a subprocess, the test database as that subprocess sees it, and a TCP
proxy that can cut the subprocess off PostgreSQL.

Nothing here is a mock: the broker is the ``mosquitto`` binary, the consumer is ``python -m linli ingest``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

import paho.mqtt.client as paho
import pytest
from django.conf import settings
from django.db import connection
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

# What a broker in front of `linli ingest` needs (docs/domain/devices.md, "Reliability"): persistence, and a
# per-client queue deep enough for the longest outage of an ingest process or of the database. Mosquitto's default
# (1,000 messages) silently drops QoS 1 messages beyond it although their publishers got PUBACK.
BROKER_SETTINGS = """\
allow_anonymous true
persistence true
autosave_interval 60
max_queued_messages 1000000
max_inflight_messages 0
log_type error
log_type warning
log_type notice
log_type subscribe
"""


def _require(reason: str) -> None:
    """A missing service fails the test in CI and skips it elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], bool], seconds: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


# ------------------------------------------------------------------------------------------------ broker

class PrivateBroker:
    """A Mosquitto of this test only, on a free port, with persistence in its own folder: stopping and starting it
    disturbs nobody else."""

    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)
        if binary is None:
            _require("the mosquitto binary is not installed")
        self.binary = binary
        self.port = free_port()
        # Not under pytest's tmp_path: run as root, Mosquitto drops to its own user, which must reach the folder.
        self.folder = Path(tempfile.mkdtemp(prefix="linli-broker-"))
        self.folder.chmod(0o777)
        self.log = self.folder / "mosquitto.log"
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\npersistence_location {self.folder}/\n"
                               f"log_dest file {self.log}\n" + BROKER_SETTINGS)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"mosquitto did not start:\n{self.log_text()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file (sessions, queued messages) and exits."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def subscriptions_of(self, client_id: str) -> int:
        """SUBSCRIBE requests of a client the broker has logged (``log_type subscribe``: ``<id> <qos> <filter>``)."""
        return sum(1 for line in self.log_text().splitlines() if f": {client_id} 1 $share/" in line)


def prepare_session(broker: PrivateBroker, client_id: str, filters: Sequence[str], expiry: int = 300) -> None:
    """Create the persistent session of an ingest process before it starts, subscribed to its shared filters: the
    broker queues the group's messages for it from now on, so a test need not guess when the process subscribed."""
    done = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.on_subscribe = lambda *args: done.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = expiry
    client.connect("127.0.0.1", broker.port, clean_start=True, properties=properties)
    client.loop_start()
    client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
    assert done.wait(10), "the session was not subscribed"
    client.disconnect()
    client.loop_stop()


# ------------------------------------------------------------------------------------------------ publisher

class Publisher:
    """A device-like QoS 1 publisher on its own thread: sends ``messages`` at ``rate`` per second, keeps every
    message the broker has not acknowledged and resends it after reconnecting. It reconnects only while ``gate``
    is set (a test clears it to hold devices back while the broker restarts)."""

    def __init__(self, broker: PrivateBroker, messages: Sequence[tuple[str, bytes]], rate: float):
        self.broker = broker
        self.messages = list(messages)
        self.rate = rate
        self.gate = threading.Event()
        self.gate.set()
        self.sent = 0
        self.mids: set[int] = set()
        self.acked: set[int] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"device-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv5)
        self.client.max_inflight_messages_set(100)
        self.client.on_publish = self._on_publish
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        with self.lock:
            self.acked.add(mid)

    def start(self) -> None:
        self.client.connect("127.0.0.1", self.broker.port, keepalive=30)
        self.thread.start()

    def _run(self) -> None:
        try:
            began = time.monotonic()
            while not self.stop.is_set():
                if self.client.loop(timeout=0.01) != paho.MQTT_ERR_SUCCESS:
                    self._reconnect()
                due = len(self.messages) if self.rate <= 0 else int((time.monotonic() - began) * self.rate)
                while self.sent < min(due, len(self.messages)):
                    topic, payload = self.messages[self.sent]
                    info = self.client.publish(topic, payload, qos=1)  # kept and resent even while disconnected
                    with self.lock:
                        self.mids.add(info.mid)
                    self.sent += 1
                if self.done():
                    break
            self.client.disconnect()
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc

    def _reconnect(self) -> None:
        while not self.stop.is_set():
            if self.gate.wait(0.1):
                try:
                    self.client.reconnect()
                    return
                except OSError:
                    time.sleep(0.1)

    def done(self) -> bool:
        with self.lock:
            return self.sent == len(self.messages) and self.mids <= self.acked

    def wait(self, seconds: float = 60) -> None:
        """Until the broker acknowledged every message."""
        self.thread.join(seconds)
        self.stop.set()
        self.thread.join(5)
        if self.error is not None:
            raise self.error
        with self.lock:
            missing = len(self.mids - self.acked)
        assert self.sent == len(self.messages) and not missing, (
            f"the broker acknowledged {len(self.messages) - missing} of {len(self.messages)} messages")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


# ------------------------------------------------------------------------------------------------ database

class IngestDatabase:
    """The test database as a separate process sees it. PostgreSQL: pytest-django's ``test_<name>`` itself (the
    test must use a transactional database). SQLite: the in-memory test database is copied into a file, which the
    subprocess uses and the test reads."""

    def __init__(self, folder: Path):
        self.vendor = connection.vendor
        self.file = folder / "ingest.sqlite3" if self.vendor == "sqlite" else None

    def snapshot(self) -> None:
        """Make what the test created so far visible to subprocesses (SQLite: copy it into the file)."""
        if self.file is not None:
            connection.ensure_connection()
            target = sqlite3.connect(self.file)
            try:
                connection.connection.backup(target)
            finally:
                target.close()

    def url(self, host: str | None = None, port: int | None = None) -> str:
        if self.file is not None:
            return f"sqlite:///{self.file}"
        s = connection.settings_dict
        auth = quote(s["USER"] or "", safe="") + (f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else "")
        return (f"postgres://{auth}@{host or s['HOST'] or '127.0.0.1'}:{port or s['PORT'] or 5432}/"
                f"{quote(s['NAME'], safe='')}")

    def rows(self, sql: str) -> list[tuple]:
        if self.file is not None:
            db = sqlite3.connect(self.file, timeout=30)
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def external_ids(self) -> list[str]:
        """Every stored device event's key (a list: a key stored twice would show twice)."""
        return [r[0] for r in self.rows("SELECT external_id FROM devices_deviceevent")]

    def count(self) -> int:
        return self.rows("SELECT COUNT(*) FROM devices_deviceevent")[0][0]

    def quarantine(self) -> list[tuple[str, str]]:
        return sorted(self.rows("SELECT device_ref, reason_code FROM devices_quarantinedpayload"))

    def lock(self) -> sqlite3.Connection:
        """SQLite: take the write lock from another connection (``BEGIN EXCLUSIVE``); close it to release."""
        assert self.file is not None
        holder = sqlite3.connect(self.file, timeout=30, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        return holder


# ------------------------------------------------------------------------------------------------ ingest

class IngestProcess:
    """``python -m linli ingest`` in its own process, against the broker and the test database."""

    def __init__(self, *, name: str, folder: Path, env: dict[str, str], args: Iterable[str]):
        self.name = name
        self.output = folder / f"{name}.log"
        self.env = env
        self.args = list(args)
        self.process: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> IngestProcess:
        assert self.process is None or self.process.poll() is not None
        self.runs += 1
        with self.output.open("ab") as out:
            out.write(f"--- run {self.runs}\n".encode())
            out.flush()
            self.process = subprocess.Popen([sys.executable, "-m", "linli", "ingest", *self.args],
                                            cwd=settings.BASE_DIR, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no batch is finished, nothing is acknowledged that was not acknowledged before."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def terminate(self, seconds: float = 30) -> int:
        """SIGTERM: the command finishes the batch at hand, prints its totals and exits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(seconds)

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def totals(self) -> tuple[int, int, int]:
        """(stored, duplicates, quarantined) from the last line ``stored N, duplicates N, quarantined N``."""
        lines = [line for line in self.log().splitlines() if line.startswith("stored ")]
        assert lines, f"{self.name} printed no totals:\n{self.log()[-3000:]}"
        stored, duplicates, quarantined = (int(part.split()[-1]) for part in lines[-1].split(","))
        return stored, duplicates, quarantined

    def close(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait()


# ------------------------------------------------------------------------------------------------ proxy

class TcpProxy:
    """A TCP relay on a free port in front of ``target`` (PostgreSQL). ``cut()`` drops every relayed connection
    and refuses new ones (accepted, then closed at once) until ``restore()``."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.refusing = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.refused = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.refusing.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        for s in sockets:
            with self.lock:
                self.sockets.discard(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> None:
        self.refusing.set()
        with self.lock:
            current = list(self.sockets)
        self._drop(*current)

    def restore(self) -> None:
        self.refusing.clear()

    def close(self) -> None:
        self.closed.set()
        self.cut()
        self.listener.close()
        self.thread.join(5)
