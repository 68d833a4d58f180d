"""The MQTT consumer against the real broker (LINLI_TEST_MQTT_URL, else mqtt://127.0.0.1:1883): generic and Frigate
messages become the events HTTP would store, duplicates are stored once, bad payloads land in quarantine, an
unacknowledged batch comes back after a restart, and two consumers in one shared subscription split a stream.

Each test uses its own topic prefixes and group, and removes the broker sessions it created."""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import paho.mqtt.client as paho
import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from linli.devices import mqtt
from linli.devices.models import Device, DeviceEvent, QuarantinedPayload
from linli.devices.tests.helpers import register
from linli.devices.tests.payloads import fixture

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.usefixtures("media_root")]
BROKER_URL = os.environ.get("LINLI_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
FIRE_LANE_UPDATE = ("frigate:building5_fire_lane:1776931200.100000-fl7c2a:update:sha256:"
                    "af8799b6bfb04693b23e8f37f479b75d")


def _broker_reachable() -> bool:
    url = urlsplit(BROKER_URL)
    try:
        socket.create_connection((url.hostname, url.port or 1883), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def config(settings) -> mqtt.MqttConfig:
    if not _broker_reachable():
        reason = f"no MQTT broker at {BROKER_URL} (set LINLI_TEST_MQTT_URL)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:8]
    settings.LINLI_MQTT_URL = BROKER_URL
    settings.LINLI_MQTT_TOPIC_PREFIX = f"linli_{tag}"
    settings.LINLI_MQTT_FRIGATE_PREFIX = f"frigate_{tag}"
    settings.LINLI_MQTT_GROUP = f"test_{tag}"
    settings.LINLI_MQTT_CLIENT_ID = f"linli-test-{tag}"
    settings.LINLI_MQTT_SESSION_EXPIRY = 60
    return mqtt.config_from_settings()


class Running:
    def __init__(self, consumer: mqtt.Consumer):
        self.consumer = consumer
        self.stop = threading.Event()
        self.thread = threading.Thread(target=consumer.run, args=(self.stop,), daemon=True)

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def _forget_session(config: mqtt.MqttConfig, client_id: str) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.connect(config.host, config.port, clean_start=True)  # session expiry 0: gone on disconnect
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def consume(config) -> Iterator[Callable[..., Running]]:
    """Start consumers in threads (each subscribed before this returns); stop them and drop their sessions."""
    started: list[Running] = []

    def start(client_id: str = config.client_id, max_batch: int = 500) -> Running:
        own = mqtt.MqttConfig(**{**config.__dict__, "client_id": client_id})
        running = Running(mqtt.Consumer(own, max_batch=max_batch, max_wait=0.1))
        running.thread.start()
        started.append(running)
        assert running.consumer.subscribed.wait(5), "the consumer did not subscribe"
        return running

    yield start
    for running in started:
        running.halt()
    for client_id in {r.consumer.config.client_id for r in started}:
        _forget_session(config, client_id)


def publish(config: mqtt.MqttConfig, messages: list[tuple[str, bytes]]) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}",
                         protocol=paho.MQTTv5)
    client.connect(config.host, config.port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
        assert info.is_published()
    client.disconnect()
    client.loop_stop()


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Poll; the consumer's thread may hold SQLite's shared in-memory test database locked for a moment."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def generic(event_id: str, *, kind: str = "wristband.sos") -> bytes:
    return json.dumps({"kind": kind, "time": "2026-04-23T08:00:00+08:00", "id": event_id}).encode()


def keys() -> set[str]:
    return set(DeviceEvent.objects.values_list("external_id", flat=True))


# ---------------------------------------------------------------- generic and Frigate

def test_given_generic_messages_with_duplicates_and_a_bad_one_when_consumed_then_each_key_once_and_bad_in_quarantine(
        world, config, consume):
    band = register(world.dwelling_a, kind="wristband", serial="WB-MQTT-1")
    topic = f"{config.generic_prefix}/WB-MQTT-1/events"
    consume()

    messages = [(topic, generic(f"e{i}")) for i in range(5)]
    publish(config, messages + messages + [(topic, b'{"kind": "wristband.sos", '),
                                           (f"{config.generic_prefix}/NO-SUCH-BAND/events", generic("x1"))])
    wait_for(lambda: QuarantinedPayload.objects.count() == 2 and len(keys()) == 5)
    time.sleep(0.3)  # anything more would have arrived by now

    assert keys() == {f"generic:WB-MQTT-1:e{i}" for i in range(5)}
    assert set(DeviceEvent.objects.values_list("device_id", "kind")) == {(band.pk, "wristband.sos")}
    assert sorted(QuarantinedPayload.objects.values_list("device_ref", "reason_code", "source", "device_id")) == [
        ("NO-SUCH-BAND", "unknown_device", "generic", None),
        ("WB-MQTT-1", "invalid_json", "generic", band.pk),
    ]
    assert bytes(QuarantinedPayload.objects.get(device_ref="NO-SUCH-BAND").payload) == generic("x1")


def test_given_a_disabled_device_when_it_publishes_then_its_message_is_quarantined_and_nothing_stored(
        world, config, consume):
    band = register(world.dwelling_a, kind="wristband", serial="WB-MQTT-OFF")
    Device.objects.filter(pk=band.pk).update(enabled=False)
    consume()

    publish(config, [(f"{config.generic_prefix}/WB-MQTT-OFF/events", generic("e1"))])
    wait_for(lambda: QuarantinedPayload.objects.exists())

    assert list(QuarantinedPayload.objects.values_list("device_id", "reason_code")) == [(band.pk, "device_disabled")]
    assert DeviceEvent.objects.count() == 0


def test_given_frigate_messages_when_consumed_then_camera_events_stored_once_and_the_server_marked_offline(
        world, config, consume):
    camera = register(world.estate_a, kind="ai_camera", vendor="frigate", serial="building5_fire_lane", name="5栋消防通道")
    server = register(world.estate_a, kind="nvr", vendor="frigate", serial=config.frigate_prefix, name="Frigate")
    consume()

    prefix = config.frigate_prefix
    update = fixture("frigate/events_update_car_fire_lane.json")
    publish(config, [(f"{prefix}/events", update), (f"{prefix}/events", update),
                     (f"{prefix}/events", fixture("frigate/events_new_person.json")),  # camera east_wall: unknown
                     (f"{prefix}/events", b"[1, 2"),
                     (f"{prefix}/available", fixture("frigate/available_offline.txt"))])
    wait_for(lambda: QuarantinedPayload.objects.count() == 2
             and Device.objects.get(pk=server.pk).status == "offline" and DeviceEvent.objects.count() >= 1)
    time.sleep(0.3)

    camera_events = DeviceEvent.objects.filter(device_id=camera.pk)
    assert list(camera_events.values_list("external_id", "kind", "zone", "subject_ref")) == [
        (FIRE_LANE_UPDATE, "camera.fire_lane", "fire_lane", "鄂AF2K09")]
    assert list(DeviceEvent.objects.filter(device_id=server.pk).values_list("kind", flat=True)) == ["device.offline"]
    assert sorted(QuarantinedPayload.objects.values_list("device_ref", "reason_code", "source")) == [
        ("east_wall", "unknown_device", "frigate"), (prefix, "invalid_json", "frigate")]


# ---------------------------------------------------------------- at least once

def test_given_a_batch_that_was_never_stored_when_the_consumer_restarts_then_the_broker_delivers_it_again(
        world, config, consume, monkeypatch):
    register(world.dwelling_a, kind="wristband", serial="WB-MQTT-2")
    failing = threading.Event()

    def database_down(*args, **kwargs):
        failing.set()
        raise RuntimeError("database unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(mqtt, "RETRY_PAUSE", 0.05)
        patch.setattr(mqtt, "store_batch", database_down)
        first = consume()
        publish(config, [(f"{config.generic_prefix}/WB-MQTT-2/events", generic(f"r{i}")) for i in range(10)])
        assert failing.wait(5)
        first.halt()  # stopped (as if killed) before anything was stored or acknowledged
    assert DeviceEvent.objects.count() == 0

    consume()  # same client id: the persistent session gets the unacknowledged messages again
    wait_for(lambda: len(keys()) == 10)
    assert keys() == {f"generic:WB-MQTT-2:r{i}" for i in range(10)}


def test_given_two_consumers_in_one_group_when_200_events_are_published_then_they_split_them_without_loss_or_duplicates(
        world, config, consume):
    serials = [f"WB-MQTT-S{n}" for n in range(4)]
    for serial in serials:
        register(world.dwelling_a, kind="wristband", serial=serial)
    a = consume(client_id=config.client_id + "-a", max_batch=20)
    b = consume(client_id=config.client_id + "-b", max_batch=20)

    published = {(serials[i % 4], f"s{i}") for i in range(200)}
    publish(config, [(f"{config.generic_prefix}/{serial}/events", generic(key)) for serial, key in sorted(published)])
    wait_for(lambda: DeviceEvent.objects.count() >= 200)
    time.sleep(0.3)

    assert keys() == {f"generic:{serial}:{key}" for serial, key in published}
    totals = [a.consumer.totals, b.consumer.totals]
    assert [t.duplicates for t in totals] == [0, 0] and sum(t.stored for t in totals) == 200
    assert all(t.stored > 0 for t in totals)


# ---------------------------------------------------------------- command

def test_given_no_broker_configured_when_ingest_runs_then_it_refuses(settings):
    settings.LINLI_MQTT_URL = ""
    with pytest.raises(CommandError, match="LINLI_MQTT_URL is not set"):
        call_command("ingest", "--run-for", "0.1")


def test_given_a_broker_when_ingest_runs_for_a_while_then_it_stores_what_arrives_and_reports(world, config):
    register(world.dwelling_a, kind="wristband", serial="WB-MQTT-3")
    out = io.StringIO()
    runner = threading.Thread(target=call_command, args=("ingest", "--run-for", "2"), kwargs={"stdout": out})
    runner.start()
    try:  # the same event again until the command has subscribed: its key stores it once
        wait_for(lambda: publish(config, [(f"{config.generic_prefix}/WB-MQTT-3/events", generic("c1"))]) or keys(), 5)
    finally:
        runner.join(timeout=10)
        _forget_session(config, config.client_id)
    assert keys() == {"generic:WB-MQTT-3:c1"}
    assert out.getvalue().splitlines()[0] == (f"linli ingest {config.client_id}: $share/{config.group}/"
                                              f"{config.generic_prefix}/+/events, $share/{config.group}/"
                                              f"{config.frigate_prefix}/events, $share/{config.group}/"
                                              f"{config.frigate_prefix}/reviews, $share/{config.group}/"
                                              f"{config.frigate_prefix}/available")
    assert out.getvalue().splitlines()[1].startswith("stored 1, duplicates ")
