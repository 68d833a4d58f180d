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
from contextlib import nullcontext
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from linli.core import context

from .adapters import Quarantine, Reason, parse_frigate, parse_generic
from .choices import ENDPOINT_VENDORS, Source, Vendor
from .ingest import Submission, processing_inline, quarantine_row, record_submissions, refusal
from .models import Device, QuarantinedPayload
from .pipeline import process_batch

log = logging.getLogger(__name__)

FRIGATE_SOURCE = "frigate"  # quarantine rows of Frigate messages (never reprocessable: no sending device)
JSON = "application/json"
RETRY_PAUSE = 1.0  # seconds between attempts to store a batch while the database is unavailable
DEFAULT_MAX_BATCH = 1000  # messages per stored batch (and the receive maximum: a whole batch may be in flight)
DEFAULT_MAX_WAIT = 0.05  # seconds a batch waits to fill: the latency added when traffic is light


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


class Message(NamedTuple):  # a tuple: one is made for every message received, in paho's network thread
    topic: str
    payload: bytes
    mid: int
    qos: int
    arrived: float = 0.0  # time.monotonic() when the message came in (0: unknown)
    link: int = 0  # which of the consumer's broker connections it came on (acknowledged only on that one)


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
    kept: list[QuarantinedPayload] = list(strays)
    submissions: list[Submission] = []
    with transaction.atomic():
        devices = _topic_devices(set(generic))
        for serial, group in generic.items():
            _parse_generic(serial, devices.get(serial), group, received_at, submissions, kept)
        _parse_frigate(frigate, received_at, submissions, kept)
        QuarantinedPayload.objects.bulk_create(kept)
        stored = record_submissions(submissions, received_at=received_at) if submissions else None
    if stored is not None:
        _count(outcome, len(stored.stored), stored.duplicates, len(stored.quarantined))
    outcome.quarantined += len(kept)
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


def _parse_generic(serial: str, device: Device | None, messages: list[Message], received_at: dt.datetime,
                   submissions: list[Submission], kept: list[QuarantinedPayload]) -> None:
    """The topic names the sender: like an authenticated HTTP push, its events may name it or its gateway's
    devices. An unknown or disabled sender's messages go to quarantine whole."""
    problem = "unknown_device" if device is None else "device_disabled" if not device.enabled else None
    if problem is not None:
        kept += [_row(device, Source.GENERIC, serial, refusal(problem), m, received_at) for m in messages]
        return
    events, rejects = [], []
    for message in messages:
        try:
            result = parse_generic(message.payload, JSON, default_device=device.serial)
        except Quarantine as exc:
            kept.append(_row(device, Source.GENERIC, device.serial, exc, message, received_at))
            continue
        events += result.events
        rejects += result.rejects
    submissions.append(Submission(device=device, vendor=device.vendor, source=Source.GENERIC, events=events,
                                  rejects=rejects))


def _parse_frigate(messages: list[Message], received_at: dt.datetime, submissions: list[Submission],
                   kept: list[QuarantinedPayload]) -> None:
    """Every event's device is looked up by camera name (the Frigate server by its topic prefix, for
    ``available``); unknown cameras end in quarantine as ``unknown_device``."""
    if not messages:
        return
    events = []
    for message in messages:
        try:
            events += parse_frigate(message.topic, message.payload, received_at=received_at).events
        except Quarantine as exc:
            kept.append(_row(None, FRIGATE_SOURCE, message.topic.rpartition("/")[0], exc, message, received_at))
    submissions.append(Submission(device=None, vendor=Vendor.FRIGATE, source=FRIGATE_SOURCE, events=events))


def _count(outcome: BatchOutcome, stored: int, duplicates: int, quarantined: int) -> None:
    outcome.stored += stored
    outcome.duplicates += duplicates
    outcome.quarantined += quarantined


# ------------------------------------------------------------------------------------------------ consuming

class _ReadAheadClient(paho.Client):
    """paho reads each packet with three or more ``recv`` calls and waits in ``select`` before each packet: this
    client reads the socket in large pieces, hands paho the bytes from memory and goes on reading packets while any
    are buffered. Nothing else changes (the same packets, in the same order, on the same connection)."""

    READ_SIZE = 256 * 1024

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._ahead = b""
        self._ahead_pos = 0
        self._ahead_sock: object = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._ahead_sock is not self._sock:  # a new connection: nothing read ahead belongs to it
            self._ahead, self._ahead_pos, self._ahead_sock = b"", 0, self._sock
        pos = self._ahead_pos
        if pos >= len(self._ahead):
            data = super()._sock_recv(max(bufsize, self.READ_SIZE))
            if len(data) <= bufsize:  # all of it wanted (or the connection closed: b"")
                self._ahead, self._ahead_pos = b"", 0
                return data
            self._ahead, pos = data, 0
        self._ahead_pos = pos + bufsize
        return self._ahead[pos:pos + bufsize]

    def _buffered(self) -> bool:
        return self._sock is not None and self._ahead_sock is self._sock and self._ahead_pos < len(self._ahead)

    def loop_read(self, max_packets: int = 1) -> paho.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == paho.MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered():
            rc = super().loop_read(max_packets)
        return rc


class Consumer:
    """One ingest process: connect, subscribe to the shared group, then store and acknowledge batches until
    ``stop`` is set (or ``run_for`` seconds passed)."""

    def __init__(self, config: MqttConfig, *, max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = DEFAULT_MAX_WAIT,
                 inline: bool = False):
        self.config = config
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.inline = inline  # run the pipeline on each stored batch here, after the commit, instead of in a task
        self.inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()  # no task accounting: cheaper per message
        # inline: stored batch ids for the processing thread (bounded: storing waits when processing lags behind)
        self.processing: queue.Queue[int | None] = queue.Queue(maxsize=8)
        self.subscribed = threading.Event()
        self.totals = BatchOutcome()
        self.link = 0  # counts successful broker connections: a message is acknowledged on the one it came on
        self.client = self._client()

    def _client(self) -> paho.Client:
        client = _ReadAheadClient(paho.CallbackAPIVersion.VERSION2, client_id=self.config.client_id,
                             protocol=paho.MQTTv5, manual_ack=True)
        if self.config.username is not None:
            client.username_pw_set(self.config.username, self.config.password)
        if self.config.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        # Retry every 1-2 s, never backing off further: Mosquitto 2.0 does not restore shared subscriptions after
        # a restart, so what devices publish before this process has subscribed again is dropped by the broker.
        client.reconnect_delay_set(1, 2)
        return client

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT connection refused: %s", reason)
            return
        self.link += 1
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
        self.inbox.put(Message(message.topic, message.payload, message.mid, message.qos, time.monotonic(),
                               self.link))

    def connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.config.session_expiry
        properties.ReceiveMaximum = min(self.max_batch, 65535)  # a full batch may be in flight, unacknowledged
        self.client.connect(self.config.host, self.config.port, keepalive=30, clean_start=False,
                            properties=properties)
        self.client.loop_start()

    def run(self, stop: threading.Event, run_for: float | None = None) -> BatchOutcome:
        deadline = None if run_for is None else time.monotonic() + run_for
        processor = threading.Thread(target=self._process_loop, name="linli-ingest-pipeline", daemon=True)
        if self.inline:
            processor.start()
        self.connect()
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                batch = self._collect(stop)
                if batch:
                    self._store(batch, stop)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            if self.inline:
                self.processing.put(None)  # process what was stored, then stop
                processor.join()
            connection.close()
        return self.totals

    def _collect(self, stop: threading.Event) -> list[Message]:
        try:
            batch = [self.inbox.get(timeout=self.max_wait)]
        except queue.Empty:
            return []
        # The batch closes max_wait after its first message arrived: a message that already waited while the
        # previous batch was stored does not wait again.
        until = (batch[0].arrived or time.monotonic()) + self.max_wait
        while len(batch) < self.max_batch and not stop.is_set():
            left = until - time.monotonic()
            try:
                # past the deadline, take what has arrived already without waiting for more
                batch.append(self.inbox.get(timeout=left) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[Message], stop: threading.Event) -> None:
        """Store, then acknowledge. While the database is down the batch is retried; stopping before it is
        stored leaves it unacknowledged, so the broker delivers it again."""
        started = time.perf_counter()
        while True:
            close_old_connections()
            try:
                with processing_inline() if self.inline else nullcontext([]) as pending:
                    outcome = store_batch(batch, self.config, timezone.now())
                break
            except Exception:
                log.exception("storing %d MQTT messages failed; retrying", len(batch))
                connection.close()
                if stop.wait(RETRY_PAUSE):
                    return
        for message in batch:
            # A message of an earlier connection is not acknowledged: the broker sent it again on the current
            # one (persistent session), and its packet id may by now name another message not yet stored.
            if message.qos > 0 and message.link == self.link:
                self.client.ack(message.mid, message.qos)
        _count(self.totals, outcome.stored, outcome.duplicates, outcome.quarantined)
        log.debug("batch of %d messages stored in %.1f ms", len(batch), (time.perf_counter() - started) * 1000)
        for batch_id in pending:
            self.processing.put(batch_id)

    def _process_loop(self) -> None:
        """Inline mode: the pipeline on each stored batch, in order, in this thread (its own database connection),
        while the main thread stores the next batches. A failure leaves the batch pending for the sweeper (as a
        lost task would); on stopping, the batches stored so far are processed first."""
        while (batch_id := self.processing.get()) is not None:
            started = time.perf_counter()
            try:
                close_old_connections()
                with context.as_task():
                    process_batch(batch_id)
            except Exception:
                log.exception("processing stored batch %d failed; the sweeper will process it again", batch_id)
                connection.close()
            log.debug("batch %d processed in %.1f ms", batch_id, (time.perf_counter() - started) * 1000)
        connection.close()
