"""Reliability of MQTT ingestion against real processes: ``python -m linli ingest`` as a subprocess, a private
Mosquitto (the real binary, persistence on, on a free port: a test may stop it without disturbing anyone), the
test database (PostgreSQL's ``test_<name>``, or on SQLite a file copy of the test database). A device-like
publisher sends QoS 1 events while the test kills the ingest process, restarts the broker or takes the database
away; afterwards the stored keys must be exactly the published ones: nothing lost, nothing stored twice.

The broker runs with the settings docs/domain/devices.md asks of a production broker (brokers.BROKER_SETTINGS).
Without the ``mosquitto`` binary these tests fail when CI=true and are skipped elsewhere."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from linli.devices import mqtt
from linli.devices.tests.brokers import (
    IngestDatabase,
    IngestProcess,
    PrivateBroker,
    Publisher,
    TcpProxy,
    prepare_session,
    wait_until,
)
from linli.devices.tests.helpers import register

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.usefixtures("media_root")]
SERIALS = [f"WB-REL-{n}" for n in range(4)]
OUTAGE = 10  # seconds without the database


def event(key: str) -> bytes:
    return json.dumps({"kind": "wristband.sos", "time": "2026-04-23T08:00:00+08:00", "id": key}).encode()


class Rig:
    """One test's broker, database, topic prefixes and processes; everything is stopped at the end."""

    def __init__(self, settings, folder: Path):
        self.settings = settings
        self.folder = folder
        tag = uuid.uuid4().hex[:8]
        self.tag = tag
        self.prefix = f"rel_{tag}"
        self.frigate_prefix = f"relfrigate_{tag}"
        self.group = f"rel_{tag}"
        self.db = IngestDatabase(folder)
        self.broker = PrivateBroker()
        self.processes: list[IngestProcess] = []
        self.publishers: list[Publisher] = []
        self.proxies: list[TcpProxy] = []

    def client_id(self, name: str) -> str:
        return f"ingest-{self.tag}-{name}"

    def filters(self, client_id: str) -> list[str]:
        s = self.settings
        s.LINLI_MQTT_URL, s.LINLI_MQTT_GROUP = self.broker.url, self.group
        s.LINLI_MQTT_TOPIC_PREFIX, s.LINLI_MQTT_FRIGATE_PREFIX = self.prefix, self.frigate_prefix
        return mqtt.topic_filters(mqtt.config_from_settings(client_id=client_id))

    def ingest(self, name: str, database_url: str | None = None) -> IngestProcess:
        """Create the process's persistent session (so the broker queues for it from now on), then start it."""
        client_id = self.client_id(name)
        prepare_session(self.broker, client_id, self.filters(client_id))
        env = {**os.environ, "DATABASE_URL": database_url or self.db.url(), "LINLI_MQTT_URL": self.broker.url,
               "LINLI_MQTT_GROUP": self.group, "LINLI_MQTT_TOPIC_PREFIX": self.prefix,
               "LINLI_MQTT_FRIGATE_PREFIX": self.frigate_prefix, "LINLI_MQTT_SESSION_EXPIRY": "300",
               # the task queue in a file of this test (nobody consumes it), not in Redis or inline
               "LINLI_REDIS_URL": "", "LINLI_HUEY_IMMEDIATE": "0", "LINLI_VAR_DIR": str(self.folder / "var"),
               "LINLI_MEDIA_ROOT": str(self.folder / "media"), "LINLI_SECRET_KEY": f"reliability-{self.tag}",
               "PYTHONUNBUFFERED": "1"}
        process = IngestProcess(name=name, folder=self.folder, env=env,
                                args=["--client-id", client_id, "--max-batch", "100", "--max-wait", "0.05"])
        self.processes.append(process)
        return process.start()

    def events(self, count: int, label: str = "e") -> tuple[list[tuple[str, bytes]], set[str]]:
        """``count`` generic events spread over the registered wristbands, and the keys they must be stored as."""
        messages, keys = [], set()
        for i in range(count):
            serial = SERIALS[i % len(SERIALS)]
            messages.append((f"{self.prefix}/{serial}/events", event(f"{label}{i}")))
            keys.add(f"generic:{serial}:{label}{i}")
        return messages, keys

    def publish(self, messages: list[tuple[str, bytes]], rate: float = 0) -> Publisher:
        publisher = Publisher(self.broker, messages, rate)
        self.publishers.append(publisher)
        publisher.start()
        return publisher

    def proxy_to_database(self) -> TcpProxy:
        s = connection.settings_dict
        proxy = TcpProxy((s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432)))
        self.proxies.append(proxy)
        return proxy

    def settle(self, expected: int) -> None:
        """Until the stored count reaches ``expected``, or has not moved for 20 seconds (long enough for a process
        to start on a loaded machine; the key comparison then names what is missing)."""
        last, still_since, deadline = -1, time.monotonic(), time.monotonic() + 120
        while time.monotonic() < deadline:
            count = self.db.count()
            if count >= expected:
                time.sleep(0.5)  # a duplicate row would arrive now, if the process were to store one
                return
            if count != last:
                last, still_since = count, time.monotonic()
            elif time.monotonic() - still_since > 20:
                return
            time.sleep(0.1)

    def logs(self) -> str:
        broker = [line for line in self.broker.log_text().splitlines() if " 1 $share/" not in line]
        return "\n".join([f"== {p.name}\n{p.log()[-4000:]}" for p in self.processes]
                         + ["== broker", *broker[-40:]])

    def assert_stored_exactly(self, keys: set[str]) -> None:
        stored = self.db.external_ids()
        missing, extra = keys - set(stored), set(stored) - keys
        twice = len(stored) - len(set(stored))
        assert not (missing or extra or twice), (
            f"{len(missing)} missing (e.g. {sorted(missing)[:5]}), {len(extra)} unexpected, {twice} stored twice\n"
            f"{self.logs()}")

    def close(self) -> None:
        for publisher in self.publishers:
            publisher.close()
        for process in self.processes:
            process.close()
        for proxy in self.proxies:
            proxy.close()
        self.broker.close()


@pytest.fixture
def rig(world, transactional_db, settings, tmp_path) -> Iterator[Rig]:
    for serial in SERIALS:
        register(world.dwelling_a, kind="wristband", serial=serial)
    rig = Rig(settings, tmp_path)
    try:
        rig.broker.start()
        rig.db.snapshot()  # the registered devices, visible to the ingest processes
        yield rig
    finally:
        rig.close()


# ---------------------------------------------------------------- kill -9

def test_given_an_ingest_process_killed_with_sigkill_mid_stream_when_it_restarts_then_every_event_is_stored_once(rig):
    ingest = rig.ingest("a")
    messages, keys = rig.events(5000)
    publisher = rig.publish(messages, rate=1000)

    wait_until(lambda: rig.db.count() >= 1000, 60, f"a thousand stored events\n{rig.logs()}")
    ingest.kill()
    stored_when_killed = rig.db.count()
    ingest.start()  # same client id: its persistent session holds what was delivered but never acknowledged
    publisher.wait()
    rig.settle(len(keys))

    assert 1000 <= stored_when_killed < len(keys)
    assert ingest.alive()
    rig.assert_stored_exactly(keys)


# ---------------------------------------------------------------- broker restart

def test_given_the_broker_restarted_mid_stream_when_it_is_back_then_ingest_reconnects_and_every_event_is_stored_once(
        rig):
    ingest = rig.ingest("a")
    client_id = rig.client_id("a")
    messages, keys = rig.events(3000)
    publisher = rig.publish(messages, rate=500)

    wait_until(lambda: rig.db.count() >= 500, 60, f"500 stored events\n{rig.logs()}")
    subscribed = rig.broker.subscriptions_of(client_id)
    # Mosquitto 2.0 does not restore shared subscriptions from its persistence file: until the ingest process has
    # subscribed again, it drops what devices publish (docs/domain/devices.md). Devices are let back after that.
    publisher.gate.clear()
    rig.broker.stop()  # SIGTERM: the broker saves sessions and queued messages
    time.sleep(1)
    rig.broker.start()
    wait_until(lambda: rig.broker.subscriptions_of(client_id) > subscribed, 60,
               f"the ingest process subscribing again\n{rig.broker.log_text()[-3000:]}\n{rig.logs()}")
    publisher.gate.set()  # the publisher reconnects and resends what the broker had not acknowledged
    publisher.wait()
    rig.settle(len(keys))

    assert publisher.sent == len(keys)
    assert ingest.alive() and ingest.runs == 1  # the same process all along
    rig.assert_stored_exactly(keys)


# ---------------------------------------------------------------- database outage

def test_given_ten_seconds_without_the_database_mid_stream_when_it_returns_then_every_event_is_stored_once(rig):
    postgres = connection.vendor == "postgresql"
    proxy = rig.proxy_to_database() if postgres else None
    ingest = rig.ingest("a", database_url=rig.db.url(port=proxy.port) if proxy else None)
    messages, keys = rig.events(3000)
    publisher = rig.publish(messages, rate=200)

    wait_until(lambda: rig.db.count() >= 300, 60, f"300 stored events\n{rig.logs()}")
    if proxy is not None:
        proxy.cut()  # every connection dropped, new ones refused
        time.sleep(0.5)  # a commit already under way lands now
        stored_at_cut = rig.db.count()
        time.sleep(OUTAGE - 0.5)
        stored_at_end = rig.db.count()
        proxy.restore()
    else:
        holder = rig.db.lock()  # BEGIN EXCLUSIVE: no other connection can write
        stored_at_cut = rig.db.count()
        time.sleep(OUTAGE)
        stored_at_end = rig.db.count()
        holder.rollback()
        holder.close()
    assert ingest.alive(), rig.logs()
    publisher.wait()
    rig.settle(len(keys))

    assert stored_at_end == stored_at_cut < len(keys)  # the outage was real, and came mid-stream
    if proxy is not None:
        assert proxy.refused > 0 and "retrying" in ingest.log()  # it kept trying while PostgreSQL was away
    assert ingest.alive() and ingest.runs == 1
    rig.assert_stored_exactly(keys)


# ---------------------------------------------------------------- shared subscription

def test_given_two_ingest_processes_in_one_group_when_events_stream_in_then_both_store_a_share_and_none_is_lost(rig):
    a, b = rig.ingest("a"), rig.ingest("b")
    messages, keys = rig.events(2000)
    publisher = rig.publish(messages, rate=1000)

    publisher.wait()
    rig.settle(len(keys))
    assert a.terminate() == 0 and b.terminate() == 0  # SIGTERM: each prints what it stored

    rig.assert_stored_exactly(keys)
    (stored_a, duplicates_a, _), (stored_b, duplicates_b, _) = a.totals(), b.totals()
    assert stored_a > 0 and stored_b > 0 and stored_a + stored_b == len(keys)
    assert duplicates_a == duplicates_b == 0


# ---------------------------------------------------------------- hostile payloads

def test_given_hostile_payloads_over_mqtt_when_consumed_then_each_is_quarantined_and_the_process_keeps_going(rig):
    ingest = rig.ingest("a")
    topic = f"{rig.prefix}/{SERIALS[0]}/events"
    hostile = {
        "huge": b'{"kind": "wristband.sos", "pad": "' + b"x" * (9 * 1024 * 1024) + b'"}',
        "deep": b"[" * 200_000 + b"]" * 200_000,
        "deep_objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        "wrong_types": json.dumps({"kind": 5, "time": [], "id": {"x": 1}}).encode(),
        "invalid_utf8": b'{"kind": "wristband.sos", "time": "2026-04-23T08:00:00+08:00", "id": "\xff\xfe"}',
        "bad_json": b'{"kind": "wristband.sos", ',
        "empty": b"",
        "null": b"null",
        "too_many": json.dumps({"events": [{"kind": "wristband.sos", "time": "2026-04-23T08:00:00+08:00",
                                            "id": f"m{i}"} for i in range(1001)]}).encode(),
        "nul_bytes": b"\x00" * 1024,
    }
    frigate_garbage = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    messages = [(topic, payload) for payload in hostile.values()]
    messages += [(f"{rig.frigate_prefix}/events", frigate_garbage), (topic, event("after-the-storm"))]
    rig.publish(messages).wait()

    expected = len(hostile) + 1
    wait_until(lambda: len(rig.db.quarantine()) >= expected and rig.db.count() >= 1, 60,
               f"the quarantine rows and the good event\n{rig.logs()}")
    time.sleep(0.5)

    assert ingest.alive(), rig.logs()
    assert rig.db.external_ids() == [f"generic:{SERIALS[0]}:after-the-storm"]
    reasons = rig.db.quarantine()
    assert len(reasons) == expected
    assert sorted(code for ref, code in reasons if ref == SERIALS[0]) == sorted([
        "body_too_large", "json_too_deep", "json_too_deep", "wrong_type", "invalid_utf8", "invalid_json",
        "empty_body", "wrong_type", "too_many_events", "invalid_json"])
    assert [(ref, code) for ref, code in reasons if ref != SERIALS[0]] == [(rig.frigate_prefix, "invalid_utf8")]
    assert "Traceback" not in ingest.log()

