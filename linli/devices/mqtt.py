"""Device events over MQTT: ``linli ingest`` consumes Linli's generic format on ``<prefix>/<device serial>/events``
and Frigate's ``<frigate prefix>/events``, ``/reviews`` and ``/available`` through a shared subscription
(``$share/<group>/...``), so that several processes split one stream.

Delivery is at least once and nothing is lost: QoS 1, a persistent session (MQTT 5, ``clean_start`` off, a session
expiry), and manual acknowledgement. Messages are collected into batches (up to ``max_batch`` or ``max_wait``
seconds), the batch is stored in one transaction through ``ingest.record_device_events`` (the write path of HTTP
ingestion: idempotent by key, bad payloads quarantined, the pipeline enqueued on commit), and only then is every
message of the batch acknowledged. A crash before that makes the broker deliver the batch again; the idempotency
keys store it once.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from .adapters import Quarantine, Reason, parse_frigate, parse_generic
from .choices import ENDPOINT_VENDORS, Source, Vendor
from .ingest import quarantine_row, record_device_events, refusal
from .models import Device, QuarantinedPayload

log = logging.getLogger(__name__)

FRIGATE_SOURCE = "frigate"  # quarantine rows of Frigate messages (never reprocessable: no sending device)
JSON = "application/json"
RETRY_PAUSE = 1.0  # seconds between attempts to store a batch while the database is unavailable


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    group: str
    client_id: str
    generic_prefix: str
    frigate_prefix: str
    session_expiry: int


def config_from_settings(**overrides: str) -> MqttConfig:
    """The broker and subscription from LINLI_MQTT_URL (``mqtt[s]://[user:password@]host[:port]``) and the other
    LINLI_MQTT_* settings; keyword arguments override the group, client id or prefixes."""
    url = urlsplit(settings.LINLI_MQTT_URL)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise ValueError("LINLI_MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883")
    tls = url.scheme == "mqtts"
    values = {
        "group": settings.LINLI_MQTT_GROUP,
        "client_id": settings.LINLI_MQTT_CLIENT_ID or f"linli-ingest-{socket.gethostname()}",
        "generic_prefix": settings.LINLI_MQTT_TOPIC_PREFIX,
        "frigate_prefix": settings.LINLI_MQTT_FRIGATE_PREFIX,
    } | {k: v for k, v in overrides.items() if v}
    return MqttConfig(host=url.hostname, port=url.port or (8883 if tls else 1883), tls=tls,
                      username=unquote(url.username) if url.username else None,
                      password=unquote(url.password) if url.password else None,
                      session_expiry=settings.LINLI_MQTT_SESSION_EXPIRY, **values)


def topic_filters(config: MqttConfig) -> list[str]:
    share = f"$share/{config.group}/"
    return [share + f"{config.generic_prefix}/+/events"] + [
        share + f"{config.frigate_prefix}/{leaf}" for leaf in ("events", "reviews", "available")]


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


# ------------------------------------------------------------------------------------------------ storing

def store_batch(messages: Sequence[Message], config: MqttConfig, received_at: dt.datetime) -> BatchOutcome:
    """Store a batch of messages in one transaction: generic messages per topic device, Frigate messages by camera."""
    outcome = BatchOutcome()
    generic: dict[str, list[Message]] = {}
    frigate: list[Message] = []
    strays: list[QuarantinedPayload] = []
    for message in messages:
        serial = _generic_serial(message.topic, config.generic_prefix)
        if serial is not None:
            generic.setdefault(serial, []).append(message)
        elif message.topic.startswith(config.frigate_prefix + "/"):
            frigate.append(message)
        else:
            strays.append(_row(None, Source.GENERIC, "", Quarantine.of(Reason.UNKNOWN_TOPIC), message, received_at))
    with transaction.atomic():
        devices = _topic_devices(set(generic))
        for serial, group in generic.items():
            _store_generic(serial, devices.get(serial), group, received_at, outcome)
        _store_frigate(frigate, received_at, outcome)
        QuarantinedPayload.objects.bulk_create(strays)
        outcome.quarantined += len(strays)
    return outcome


def _generic_serial(topic: str, prefix: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == prefix and parts[2] == "events" and parts[1]:
        return parts[1]
    return None


def _topic_devices(serials: set[str]) -> dict[str, Device]:
    found = Device.objects.filter(serial__in=serials, retired_at__isnull=True,
                                  vendor__in=ENDPOINT_VENDORS[Source.GENERIC]).order_by("vendor")
    return {d.serial: d for d in reversed(found)}  # vendor "generic" before "other"


def _row(device: Device | None, source: str, device_ref: str, error: Quarantine, message: Message,
         received_at: dt.datetime) -> QuarantinedPayload:
    return quarantine_row(device=device, source=source, device_ref=device_ref, reason_code=error.reason_code,
                          message_zh=error.message_zh, message_en=error.message_en, content_type=JSON,
                          payload=message.payload, size=len(message.payload), received_at=received_at,
                          remote_ip=None)


def _store_generic(serial: str, device: Device | None, messages: list[Message], received_at: dt.datetime,
                   outcome: BatchOutcome) -> None:
    """The topic names the sender: like an authenticated HTTP push, its events may name it or its gateway's
    devices. An unknown or disabled sender's messages go to quarantine whole."""
    problem = "unknown_device" if device is None else "device_disabled" if not device.enabled else None
    if problem is not None:
        rows = [_row(device, Source.GENERIC, serial, refusal(problem), m, received_at) for m in messages]
        QuarantinedPayload.objects.bulk_create(rows)
        outcome.quarantined += len(rows)
        return
    events, rejects, kept = [], [], []
    for message in messages:
        try:
            result = parse_generic(message.payload, JSON, default_device=device.serial)
        except Quarantine as exc:
            kept.append(_row(device, Source.GENERIC, device.serial, exc, message, received_at))
            continue
        events += result.events
        rejects += result.rejects
    QuarantinedPayload.objects.bulk_create(kept)
    stored = record_device_events(device=device, vendor=device.vendor, source=Source.GENERIC, events=events,
                                  rejects=rejects, received_at=received_at)
    _count(outcome, len(stored.stored), stored.duplicates, len(kept) + len(stored.quarantined))


def _store_frigate(messages: list[Message], received_at: dt.datetime, outcome: BatchOutcome) -> None:
    """Every event's device is looked up by camera name (the Frigate server by its topic prefix, for
    ``available``); unknown cameras end in quarantine as ``unknown_device``."""
    if not messages:
        return
    events, kept = [], []
    for message in messages:
        try:
            events += parse_frigate(message.topic, message.payload, received_at=received_at).events
        except Quarantine as exc:
            kept.append(_row(None, FRIGATE_SOURCE, message.topic.rpartition("/")[0], exc, message, received_at))
    QuarantinedPayload.objects.bulk_create(kept)
    stored = record_device_events(device=None, vendor=Vendor.FRIGATE, source=FRIGATE_SOURCE, events=events,
                                  received_at=received_at)
    _count(outcome, len(stored.stored), stored.duplicates, len(kept) + len(stored.quarantined))


def _count(outcome: BatchOutcome, stored: int, duplicates: int, quarantined: int) -> None:
    outcome.stored += stored
    outcome.duplicates += duplicates
    outcome.quarantined += quarantined


# ------------------------------------------------------------------------------------------------ consuming

class Consumer:
    """One ingest process: connect, subscribe to the shared group, then store and acknowledge batches until
    ``stop`` is set (or ``run_for`` seconds passed)."""

    def __init__(self, config: MqttConfig, *, max_batch: int = 500, max_wait: float = 0.2):
        self.config = config
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.subscribed = threading.Event()
        self.totals = BatchOutcome()
        self.client = self._client()

    def _client(self) -> paho.Client:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=self.config.client_id,
                             protocol=paho.MQTTv5, manual_ack=True)
        if self.config.username is not None:
            client.username_pw_set(self.config.username, self.config.password)
        if self.config.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        return client

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT connection refused: %s", reason)
            return
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in topic_filters(self.config)])

    def _on_subscribe(self, client: paho.Client, userdata: object, mid: int, reasons: list, properties: object
                      ) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            log.error("MQTT subscription refused: %s", failed)
            return
        self.subscribed.set()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        self.inbox.put(Message(message.topic, message.payload, message.mid, message.qos))

    def connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.config.session_expiry
        properties.ReceiveMaximum = min(self.max_batch, 65535)  # a full batch may be in flight, unacknowledged
        self.client.connect(self.config.host, self.config.port, keepalive=30, clean_start=False,
                            properties=properties)
        self.client.loop_start()

    def run(self, stop: threading.Event, run_for: float | None = None) -> BatchOutcome:
        deadline = None if run_for is None else time.monotonic() + run_for
        self.connect()
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                batch = self._collect(stop)
                if batch:
                    self._store(batch, stop)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            connection.close()
        return self.totals

    def _collect(self, stop: threading.Event) -> list[Message]:
        try:
            batch = [self.inbox.get(timeout=self.max_wait)]
        except queue.Empty:
            return []
        until = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch and not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[Message], stop: threading.Event) -> None:
        """Store, then acknowledge. While the database is down the batch is retried; stopping before it is
        stored leaves it unacknowledged, so the broker delivers it again."""
        while True:
            close_old_connections()
            try:
                outcome = store_batch(batch, self.config, timezone.now())
                break
            except Exception:
                log.exception("storing %d MQTT messages failed; retrying", len(batch))
                connection.close()
                if stop.wait(RETRY_PAUSE):
                    return
        for message in batch:
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)
        _count(self.totals, outcome.stored, outcome.duplicates, outcome.quarantined)
