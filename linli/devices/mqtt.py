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
import struct
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from linli.core import context
from linli.core.heap import collector_paused, freeze_heap

from .adapters import Quarantine, Reason, parse_frigate, parse_generic
from .choices import ENDPOINT_VENDORS, Source, Vendor
from .ingest import Submission, processing_inline, quarantine_row, record_submissions, refusal, reject_row
from .models import Device, QuarantinedPayload
from .pipeline import process_batch
from .storage import where_in

log = logging.getLogger(__name__)

JSON = "application/json"
RETRY_PAUSE = 1.0  # seconds between attempts to store a batch while the database is unavailable
DEFAULT_MAX_BATCH = 10_000  # messages per stored batch (the receive maximum is two of them: see Consumer.connect);
# a batch's fixed costs (the senders read, subjects resolved, devices marked seen, a pass of the pipeline) spread
# over more events: 2,000 cost about a quarter more CPU per event under full load (docs/domain/devices.md, "CPU per
# stored event")
DEFAULT_MAX_WAIT = 0.05  # seconds a batch waits to fill: the latency added when traffic is light
INBOX_BATCHES = 4  # batches of messages received and not yet taken, at most, before the socket is left unread


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
    dup: bool = False  # the broker's DUP flag: it sent this message before (redelivered after a lost acknowledgement)


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
            _keep(strays, None, Source.GENERIC, "", Quarantine.of(Reason.UNKNOWN_TOPIC), message, received_at)
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


# What storing a batch reads of a sending device: its checks (_parse_generic), its rows and quarantine rows
# (ingest._prepare, _event_row, quarantine_row), its gateway members (_targets) and mark_seen. Another field would
# be loaded one query per device: test_mqtt_fast.py stores a batch with deferred loading forbidden.
TOPIC_DEVICE_FIELDS = ("id", "serial", "vendor", "enabled", "wearer_id", "place_path", "status", "offline_after",
                       "stale_at")


def _vendor_order(device: Device) -> int:
    return 0 if device.vendor == Vendor.OTHER else 1


# TOPIC_DEVICE_FIELDS in the model's field order (Model.from_db takes the values in that order)
_TOPIC_ATTNAMES = tuple(f.attname for f in Device._meta.concrete_fields if f.attname in TOPIC_DEVICE_FIELDS)
_device_instances: dict[tuple, Device] = {}  # the values read -> an instance made of exactly them
DEVICE_INSTANCES_MAX = 20_000


def _topic_devices(serials: set[str]) -> dict[str, Device]:
    """The senders named by the topics, read now (a device disabled, retired or re-keyed a moment ago counts at once),
    with only the fields the batch's checks and rows read (TOPIC_DEVICE_FIELDS).

    The rows are read every batch; the model instance of a row whose values are the same as in an earlier batch is
    reused (nothing on the way sets an attribute of a sender): making ~300 instances a batch cost more than the
    query."""
    if not serials:
        return {}
    found = Device.objects.filter(retired_at__isnull=True, vendor__in=ENDPOINT_VENDORS[Source.GENERIC])
    rows = where_in(found, "serial", serials).order_by().values_list(*_TOPIC_ATTNAMES)
    devices = []
    for values in rows:
        device = _device_instances.get(values)
        if device is None:
            if len(_device_instances) >= DEVICE_INSTANCES_MAX:
                _device_instances.clear()
            device = _device_instances[values] = Device.from_db(connection.alias, _TOPIC_ATTNAMES, values)
        devices.append(device)
    return {d.serial: d for d in sorted(devices, key=_vendor_order)}  # vendor "generic" wins over "other"


def _keep(kept: list[QuarantinedPayload], device: Device | None, source: str, device_ref: str, error: Quarantine,
          message: Message, received_at: dt.datetime) -> None:
    """A quarantine row for the whole message, unless it is a redelivery whose first delivery kept it already."""
    row = quarantine_row(device=device, source=source, device_ref=device_ref, reason_code=error.reason_code,
                         message_zh=error.message_zh, message_en=error.message_en, content_type=JSON,
                         payload=message.payload, size=len(message.payload), received_at=received_at,
                         remote_ip=None)
    if not (message.dup and _kept_before(row)):
        kept.append(row)


def _kept_before(row: QuarantinedPayload) -> bool:
    """A row for a redelivered message (or one of its members) that an earlier delivery already kept: the same
    source, sender, reason and bytes within the session expiry (the broker redelivers only within it). Events are
    stored once by their key; this keeps their rejected neighbours once too. Only redeliveries are checked, so a
    device that really sends the same bad payload twice shows twice."""
    since = row.received_at - dt.timedelta(seconds=settings.LINLI_MQTT_SESSION_EXPIRY)
    return QuarantinedPayload.objects.filter(
        source=row.source, device_ref=row.device_ref, reason_code=row.reason_code, size=row.size,
        received_at__gte=since, payload=row.payload).exists()


def _parse_generic(serial: str, device: Device | None, messages: list[Message], received_at: dt.datetime,
                   submissions: list[Submission], kept: list[QuarantinedPayload]) -> None:
    """The topic names the sender: like an authenticated HTTP push, its events may name it or its gateway's
    devices. An unknown or disabled sender's messages go to quarantine whole."""
    problem = "unknown_device" if device is None else "device_disabled" if not device.enabled else None
    if problem is not None:
        for message in messages:
            _keep(kept, device, Source.GENERIC, serial, refusal(problem), message, received_at)
        return
    events, rejects = [], []
    for message in messages:
        try:
            result = parse_generic(message.payload, JSON, default_device=device.serial)
        except Quarantine as exc:
            _keep(kept, device, Source.GENERIC, device.serial, exc, message, received_at)
            continue
        events += result.events
        if message.dup:  # members an earlier delivery kept already are not kept again
            rejects += [r for r in result.rejects if not _kept_before(reject_row(
                device, Source.GENERIC_MEMBER, device.serial, r.reason_code, r.message_zh, r.message_en, r.raw,
                received_at, None))]
        else:
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
    bad: list[tuple[Message, Quarantine]] = []
    for message in messages:
        try:
            events += parse_frigate(message.topic, message.payload, received_at=received_at).events
        except Quarantine as exc:
            bad.append((message, exc))
    if bad:
        # A message that cannot be read names no camera; it is kept under the Frigate server its topic prefix names,
        # when that is registered, so that the operators of its place see it (rows without a place only the
        # district-wide roles do).
        servers = {d.serial: d for d in Device.objects.filter(
            vendor=Vendor.FRIGATE, retired_at__isnull=True,
            serial__in={m.topic.rpartition("/")[0] for m, _ in bad})}
        for message, exc in bad:
            prefix = message.topic.rpartition("/")[0]
            _keep(kept, servers.get(prefix), Source.FRIGATE, prefix, exc, message, received_at)
    submissions.append(Submission(device=None, vendor=Vendor.FRIGATE, source=Source.FRIGATE, events=events))


def _count(outcome: BatchOutcome, stored: int, duplicates: int, quarantined: int) -> None:
    outcome.stored += stored
    outcome.duplicates += duplicates
    outcome.quarantined += quarantined


# ------------------------------------------------------------------------------------------------ consuming

# paho's internals the lean client relies on (paho-mqtt 2.x; test_mqtt_fast.py fails loudly if they change): without
# any of them the client falls back to paho's own reading and acknowledging, message by message.
_PAHO_INTERNALS = ("_sock", "_sock_recv", "_in_packet", "_packet_handle", "_loop_rc_handle", "_packet_queue",
                   "_msgtime_mutex", "_last_bytes_received", "_manual_ack", "_protocol", "_easy_log")
_PUBLISH = int(PacketTypes.PUBLISH) << 4  # 0x30
_PUBACK = int(PacketTypes.PUBACK) << 4  # 0x40
_PUBACK_PACKET = struct.Struct("!BBH")


def _paho_internals_present() -> bool:
    probe = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    return all(hasattr(probe, name) for name in _PAHO_INTERNALS) and set(probe._in_packet) == {
        "command", "have_remaining", "remaining_count", "remaining_mult", "remaining_length", "packet", "to_process",
        "pos"}


PAHO_INTERNALS_OK = _paho_internals_present()


def _fresh_in_packet() -> dict:
    return {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1, "remaining_length": 0,
            "packet": bytearray(b""), "to_process": 0, "pos": 0}


class _LeanClient(paho.Client):
    """paho for everything but the stream of QoS 0/1 PUBLISH packets: the socket is read 256 KB at a time, every
    complete packet in the buffer is split off here, and a PUBLISH becomes a ``Message`` in the inbox at once (topic,
    packet id, MQTT 5 properties skipped, payload: no MQTTMessage, Properties or topic matching). Every other
    packet (CONNACK, SUBACK, PINGRESP, DISCONNECT, a QoS 2 PUBLISH, ...) is handed to paho's own handler, in order.
    ``ack_all`` acknowledges a stored batch with one write of all its PUBACK packets."""

    READ_SIZE = 256 * 1024
    FULL_PAUSE = 0.005  # seconds the network thread waits, not reading, while the inbox is full
    FULL_READ_EVERY = 5.0  # but it reads at least this often (PINGRESP: paho's keepalive check needs it)

    def __init__(self, *args: object, inbox: queue.SimpleQueue | None = None,
                 link: Callable[[], int] = lambda: 0, inbox_limit: int = 0, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = inbox
        self._link = link
        # Messages the inbox may hold before the socket is left unread (0: no limit). The receive maximum should
        # keep the broker from sending more, but Mosquitto 2.0 sends far more once acknowledgements flow (measured:
        # receive maximum 1,000, 40,000-50,000 messages here): what is not read stays in the broker, not in memory.
        self._inbox_limit = inbox_limit
        self._last_read = 0.0
        self._rest: list[bytes] = []  # the pieces of a packet not yet complete (joined once it is)
        self._rest_size = 0
        self._rest_need = 0  # the size of that packet (0: not known yet)
        self._rest_sock: object = None
        # paho acknowledges by itself without manual_ack: that client reads through paho too
        self.lean = PAHO_INTERNALS_OK and inbox is not None and self._manual_ack

    def loop_read(self, max_packets: int = 1) -> paho.MQTTErrorCode:
        if not self.lean:
            return super().loop_read(max_packets)
        sock = self._sock
        if sock is None:
            return paho.MQTTErrorCode.MQTT_ERR_NO_CONN
        if self._inbox_limit and self._inbox.qsize() >= self._inbox_limit:
            now = time.monotonic()
            if now - self._last_read < self.FULL_READ_EVERY:
                time.sleep(self.FULL_PAUSE)  # the socket stays readable: without the pause paho's loop would spin
                return paho.MQTTErrorCode.MQTT_ERR_SUCCESS
        self._last_read = time.monotonic()
        if self._rest_sock is not sock:  # a new connection: nothing read before belongs to it
            self._rest, self._rest_size, self._rest_need, self._rest_sock = [], 0, 0, sock
        try:
            data = self._sock_recv(self.READ_SIZE)
        except BlockingIOError:
            return paho.MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError as err:  # TimeoutError and ConnectionError included, as in paho's _packet_read
            self._easy_log(paho.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return self._loop_rc_handle(paho.MQTTErrorCode.MQTT_ERR_CONN_LOST)
        if not data:
            return self._loop_rc_handle(paho.MQTTErrorCode.MQTT_ERR_CONN_LOST)
        with self._msgtime_mutex:
            self._last_bytes_received = paho.time_func()
        if self._rest:
            self._rest.append(data)
            self._rest_size += len(data)
            if self._rest_size < self._rest_need:  # a large packet still incomplete: no copying meanwhile
                return paho.MQTTErrorCode.MQTT_ERR_SUCCESS
            buf = b"".join(self._rest)
            self._rest, self._rest_size = [], 0
        else:
            buf = data
        rc, used, need = self._split(buf, sock)
        if rc:
            return self._loop_rc_handle(rc)
        if self._sock is sock and used < len(buf):
            self._rest, self._rest_size, self._rest_need = [buf[used:]], len(buf) - used, need
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _split(self, buf: bytes, sock: object) -> tuple[paho.MQTTErrorCode, int, int]:
        """Handle the complete packets at the start of ``buf``: (an error or success, how many bytes were used, the
        size of the incomplete packet after them if known)."""
        put = self._inbox.put
        v5 = self._protocol == paho.MQTTv5
        link = self._link()
        arrived = time.monotonic()
        size = len(buf)
        pos = 0
        while pos < size:
            # fixed header: the packet type and flags, then the remaining length (1 to 4 bytes, 7 bits each)
            header = buf[pos]
            i = pos + 1
            length = 0
            shift = 0
            while True:
                if i >= size:
                    return paho.MQTTErrorCode.MQTT_ERR_SUCCESS, pos, 0  # the rest comes with the next read
                byte = buf[i]
                i += 1
                length |= (byte & 127) << shift
                if not byte & 128:
                    break
                shift += 7
                if shift >= 28:  # more than 4 bytes of remaining length: paho's protocol error too
                    return paho.MQTTErrorCode.MQTT_ERR_PROTOCOL, pos, 0
            end = i + length
            if end > size:
                return paho.MQTTErrorCode.MQTT_ERR_SUCCESS, pos, end - pos
            if header & 0xF4 == _PUBLISH:  # a PUBLISH of QoS 0 or 1 (QoS 2 and 3 go to paho)
                qos = (header >> 1) & 3
                t_end = i + 2 + (buf[i] << 8 | buf[i + 1]) if length >= 2 else end + 1
                mid = 0
                p = t_end
                if qos:
                    p += 2
                    if p <= end:
                        mid = buf[t_end] << 8 | buf[t_end + 1]
                if v5 and p < end:  # properties: their length (a variable byte integer), then themselves
                    props = 0
                    shift = 0
                    while p < end:
                        byte = buf[p]
                        p += 1
                        props |= (byte & 127) << shift
                        if not byte & 128:
                            break
                        shift += 7
                        if shift >= 28:
                            p = end + 1
                            break
                    else:
                        p = end + 1  # the length ran past the packet
                    p += props
                elif v5:
                    p = end + 1  # no property length at all: malformed
                if p > end:
                    self._easy_log(paho.MQTT_LOG_DEBUG, "Received malformed packet: PUBLISH of %d bytes", length)
                    return paho.MQTTErrorCode.MQTT_ERR_PROTOCOL, pos, 0
                # A topic that is not UTF-8 (brokers refuse those) ends in quarantine under its readable part.
                put(Message(buf[i + 2:t_end].decode("utf-8", "replace"), buf[p:end], mid, qos, arrived, link,
                            bool(header & 8)))
            else:
                rc = self._paho_packet(header, buf[i:end], i - pos - 1)
                if rc:
                    return rc, end, 0
                if self._sock is not sock:  # paho closed the connection (a DISCONNECT from the broker)
                    return paho.MQTTErrorCode.MQTT_ERR_SUCCESS, end, 0
                link = self._link()  # a CONNACK counts a new connection
            pos = end
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS, pos, 0

    def _paho_packet(self, header: int, body: bytes, length_bytes: int) -> paho.MQTTErrorCode:
        """One complete packet through paho's handler, as its _packet_read hands it over."""
        self._in_packet = {"command": header, "have_remaining": 1, "remaining_count": [0] * length_bytes,
                           "remaining_mult": 128 ** length_bytes, "remaining_length": len(body),
                           "packet": bytearray(body), "to_process": 0, "pos": 0}
        try:
            return self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(paho.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            return paho.MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            self._in_packet = _fresh_in_packet()

    def ack_all(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages: their PUBACK packets queued as one write (paho: one queued packet, one wake-up
        of the network thread and one ``send`` each)."""
        if not mids or not self._manual_ack:
            return
        if not self.lean:
            for mid in mids:
                self.ack(mid, 1)
            return
        pack = _PUBACK_PACKET.pack
        self._packet_queue(_PUBACK, b"".join([pack(_PUBACK, 2, mid) for mid in mids]), 0, 1)


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
        client = _LeanClient(paho.CallbackAPIVersion.VERSION2, client_id=self.config.client_id,
                             protocol=paho.MQTTv5, manual_ack=True, inbox=self.inbox, link=lambda: self.link,
                             inbox_limit=INBOX_BATCHES * self.max_batch)
        if self.config.username is not None:
            client.username_pw_set(self.config.username, self.config.password)
        if self.config.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message  # what the lean path does not take (QoS 2), through paho
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
                               self.link, bool(message.dup)))

    def connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.config.session_expiry
        # two full batches may be in flight, unacknowledged: the next one arrives while this one is stored
        properties.ReceiveMaximum = min(2 * self.max_batch, 65535)
        self.client.connect(self.config.host, self.config.port, keepalive=30, clean_start=False,
                            properties=properties)
        self.client.loop_start()

    def run(self, stop: threading.Event, run_for: float | None = None) -> BatchOutcome:
        deadline = None if run_for is None else time.monotonic() + run_for
        if threading.current_thread() is threading.main_thread():  # a process of its own (linli ingest), not a test
            freeze_heap()
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
                with processing_inline() if self.inline else nullcontext([]) as pending, collector_paused():
                    outcome = store_batch(batch, self.config, timezone.now())
                break
            except Exception:
                log.exception("storing %d MQTT messages failed; retrying", len(batch))
                connection.close()
                if stop.wait(RETRY_PAUSE):
                    return
        # A message of an earlier connection is not acknowledged: the broker sent it again on the current one
        # (persistent session), and its packet id may by now name another message not yet stored.
        link = self.link
        self.client.ack_all([m.mid for m in batch if m.qos == 1 and m.link == link])
        for message in batch:
            if message.qos == 2 and message.link == link:
                self.client.ack(message.mid, 2)
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
                with context.as_task(), collector_paused():
                    process_batch(batch_id)
            except Exception:
                log.exception("processing stored batch %d failed; the sweeper will process it again", batch_id)
                connection.close()
            log.debug("batch %d processed in %.1f ms", batch_id, (time.perf_counter() - started) * 1000)
        connection.close()
