"""The consumer's lean paths: PUBLISH packets split off the socket by ``mqtt._LeanClient`` (checked against paho's own
encoder and decoder), the PUBACK packets of a batch written together, the sending devices read with only the
fields a batch needs, and the paho internals all of this relies on (these tests fail loudly when paho changes)."""

from __future__ import annotations

import inspect
import json
import queue
import threading
from collections import deque
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from django.utils import timezone
from paho.mqtt import __version__ as paho_version
from paho.mqtt import _packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.core.actor import Actor
from linli.devices import mqtt
from linli.devices.actions import retire_device, update_device
from linli.devices.models import Device, DeviceEvent, QuarantinedPayload
from linli.devices.tests.helpers import register

TRANSACTIONAL = pytest.mark.django_db(transaction=True, serialized_rollback=True)
CONFIG = mqtt.MqttConfig(host="127.0.0.1", port=1883, tls=False, username=None, password=None, group="g",
                         client_id="linli-fast-test", generic_prefix="linli", frigate_prefix="frigate",
                         session_expiry=60)


class FakeSocket:
    """What paho calls on its socket: ``recv`` hands out the given pieces one per call (then 'nothing yet'),
    ``send`` keeps what is written."""

    def __init__(self, pieces: list[bytes] = ()):
        self.pieces = deque(pieces)
        self.sent = bytearray()
        self.closed = False

    def recv(self, bufsize: int) -> bytes:
        if not self.pieces:
            raise BlockingIOError()
        piece = self.pieces.popleft()
        if len(piece) > bufsize:  # the rest stays for the next call, as in a socket
            piece, rest = piece[:bufsize], piece[bufsize:]
            self.pieces.appendleft(rest)
        return piece

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def close(self) -> None:
        self.closed = True

    def fileno(self) -> int:
        return -1


def encoded(mid: int, topic: str, payload: bytes, qos: int, properties: Properties | None = None, *,
            retain: bool = False, dup: bool = False) -> bytes:
    """A PUBLISH packet as paho's own publishing code writes it."""
    sender = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    sender._sock = FakeSocket()
    info = paho.MQTTMessageInfo(mid)
    assert sender._send_publish(mid, topic.encode(), payload, qos, retain, dup, info, properties) == 0
    return bytes(sender._sock.sent)


def paho_decoded(packet: bytes) -> tuple[str, bytes, int, int]:
    """(topic, payload, mid, qos) of a PUBLISH packet by paho's decoder."""
    length, shift, i = 0, 0, 1
    while True:
        byte = packet[i]
        i += 1
        length |= (byte & 127) << shift
        if not byte & 128:
            break
        shift += 7
    assert i + length == len(packet)
    result = _packet.decode_publish(packet[0], bytearray(packet[i:]), paho.MQTTv5)
    return result.topic.decode(), bytes(result.payload), result.mid, result.qos


def lean_client(pieces: list[bytes], link: int = 1) -> tuple[mqtt._LeanClient, queue.SimpleQueue]:
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    client = mqtt._LeanClient(paho.CallbackAPIVersion.VERSION2, client_id="lean", protocol=paho.MQTTv5,
                              manual_ack=True, inbox=inbox, link=lambda: link)
    client._sock = FakeSocket(pieces)
    return client, inbox


def drain(inbox: queue.SimpleQueue) -> list[mqtt.Message]:
    out = []
    while True:
        try:
            out.append(inbox.get_nowait())
        except queue.Empty:
            return out


def read_all(client: mqtt._LeanClient) -> None:
    while client._sock is not None and client._sock.pieces:
        assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def properties_of_every_kind() -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.PayloadFormatIndicator = 1
    props.MessageExpiryInterval = 3600
    props.ContentType = "application/json"
    props.ResponseTopic = "reply/here"
    props.CorrelationData = b"\x00\x01corr"
    props.UserProperty = [("k1", "v1"), ("键", "值" * 50)]
    props.SubscriptionIdentifier = [200000]
    return props


# ---------------------------------------------------------------- paho's internals

def test_the_paho_internals_the_lean_client_relies_on_are_those_it_was_written_for():
    """If this fails, paho changed: read its _packet_read, _packet_handle, _packet_queue and _handle_publish again
    and adapt mqtt._LeanClient (which meanwhile falls back to paho's own reading and acknowledging)."""
    assert paho_version.split(".")[0] == "2"
    assert mqtt.PAHO_INTERNALS_OK
    assert list(inspect.signature(paho.Client._packet_queue).parameters) == [
        "self", "command", "packet", "mid", "qos", "info"]
    assert list(inspect.signature(paho.Client._loop_rc_handle).parameters) == ["self", "rc"]
    assert (paho.PUBLISH, paho.PUBACK, paho.PINGRESP, paho.CONNACK) == (0x30, 0x40, 0xD0, 0x20)
    assert (mqtt._PUBLISH, mqtt._PUBACK) == (paho.PUBLISH, paho.PUBACK)
    source = inspect.getsource(paho)
    # every read of the socket goes through loop_read, which the lean client replaces
    assert source.count("self._packet_read()") == 1
    assert "self._packet_read()" in inspect.getsource(paho.Client.loop_read)
    assert "_packet.decode_publish(" in inspect.getsource(paho.Client._handle_publish)
    assert "self._in_packet['command'] & 0xF0" in inspect.getsource(paho.Client._packet_handle)
    # PUBACK as paho writes it: what ack_all writes for each message
    assert "struct.pack('!BBH', command, remaining_length, mid)" in inspect.getsource(
        paho.Client._send_command_with_mid)


def test_a_client_without_an_inbox_or_acknowledging_by_itself_reads_as_paho_does():
    assert not mqtt._LeanClient(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5, manual_ack=True).lean
    assert not mqtt._LeanClient(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5,
                                inbox=queue.SimpleQueue()).lean
    assert mqtt._LeanClient(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5, manual_ack=True,
                            inbox=queue.SimpleQueue()).lean


# ---------------------------------------------------------------- PUBLISH packets

CASES = [
    # (mid, topic, payload, qos, properties)
    (1, "linli/DOOR-1/events", b'{"kind":"door.open"}', 1, None),
    (65535, "linli/DOOR-1/events", b"", 1, None),
    (0, "linli/q0/events", b"qos zero", 0, None),
    (7, "linli/门禁/events", "中文内容".encode(), 1, None),
    (8, "linli/props/events", b'{"a":1}', 1, properties_of_every_kind()),
    (9, "", b"no topic", 1, None),
    (10, "t" * 300, b"x" * 127, 1, None),  # remaining length on 2 bytes
    (11, "linli/big/events", bytes(range(256)) * 70, 1, None),  # 17,920 bytes: 3 bytes of remaining length
]
HUGE = (12, "linli/huge/events", b"y" * 2_100_000, 1, None)  # 4 bytes of remaining length, 8 reads and more


@pytest.mark.parametrize(("piece", "cases"), [(1, CASES), (3, CASES), (64, CASES), (1000, [*CASES, HUGE]),
                                              (10**8, [HUGE, *CASES, HUGE])],
                         ids=["pieces of 1 byte", "3 bytes", "64 bytes", "1000 bytes", "as they come"])
def test_given_publish_packets_in_any_pieces_when_read_then_the_messages_are_those_paho_decodes(piece, cases):
    packets = [encoded(*case) for case in cases]
    stream = b"".join(packets)
    client, inbox = lean_client(chunked(stream, piece), link=3)

    read_all(client)

    got = drain(inbox)
    assert [(m.topic, m.payload, m.mid, m.qos) for m in got] == [paho_decoded(p) for p in packets]
    assert [(m.mid, m.topic, m.payload, m.qos) for m in got] == [case[:4] for case in cases]
    assert {m.link for m in got} == {3} and all(m.arrived > 0 for m in got)
    assert all(type(m.payload) is bytes for m in got)
    assert client._rest == [] and client._sock is not None


def test_given_other_packets_between_publishes_when_read_then_paho_handles_them_in_order():
    links = iter(range(1, 10))
    state = {"link": next(links)}
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    client = mqtt._LeanClient(paho.CallbackAPIVersion.VERSION2, client_id="lean", protocol=paho.MQTTv5,
                              manual_ack=True, inbox=inbox, link=lambda: state["link"])
    connected = []

    def on_connect(*args: object) -> None:
        state["link"] = next(links)
        connected.append(True)

    via_paho = []
    client.on_connect = on_connect
    client.on_message = lambda c, u, message: via_paho.append((message.topic, message.payload, message.mid))
    client._sock = FakeSocket()
    client._ping_t = 123.0
    connack = bytes([paho.CONNACK, 3, 0, 0, 0])  # session present 0, success, no properties
    pingresp = bytes([paho.PINGRESP, 0])
    pubrel = bytes([0x62, 3, 0, 5, 0])  # PUBREL for mid 5, success
    stream = (encoded(1, "linli/a/events", b"1", 1) + pingresp + encoded(2, "linli/a/events", b"2", 1) + connack
              + encoded(5, "linli/q2/events", b"qos two", 2) + encoded(3, "linli/a/events", b"3", 1) + pubrel)
    client._sock.pieces = deque(chunked(stream, 5))

    read_all(client)

    assert [(m.payload, m.link) for m in drain(inbox)] == [(b"1", 1), (b"2", 1), (b"3", 2)]
    assert client._ping_t == 0  # the PINGRESP reached paho
    assert connected == [True]
    assert via_paho == [("linli/q2/events", b"qos two", 5)]  # QoS 2: paho's own flow (PUBREC, PUBREL)
    assert bytes([0x50, 2, 0, 5]) in client._sock.sent  # paho's PUBREC for it


@pytest.mark.parametrize("packet", [
    bytes([0x32, 5, 0, 9, ord("a"), 0, 1]),  # topic length past the end of the packet
    bytes([0x32, 4, 0, 1, ord("a"), 0]),  # no room for the packet id
    bytes([0x32, 5, 0, 1, ord("a"), 0, 1]),  # MQTT 5: no property length
    bytes([0x32, 6, 0, 1, ord("a"), 0, 1, 9]),  # properties longer than the packet
    bytes([0x32, 0x80, 0x80, 0x80, 0x80, 0x01]),  # remaining length on 5 bytes
    bytes([0x30, 1, 0]),  # QoS 0, topic length cut short
])
def test_given_a_malformed_publish_when_read_then_the_connection_is_dropped_and_nothing_delivered(packet):
    disconnected = []
    client, inbox = lean_client([encoded(1, "linli/a/events", b"ok", 1) + packet])
    sock = client._sock
    client.on_disconnect = lambda *args: disconnected.append(args[3])

    rc = client.loop_read()

    assert rc == paho.MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert [m.payload for m in drain(inbox)] == [b"ok"]
    assert client._sock is None and sock.closed and disconnected


def test_given_a_new_connection_when_read_then_nothing_of_the_old_one_is_kept():
    whole = encoded(1, "linli/a/events", b"first", 1)
    client, inbox = lean_client([whole[:6]])
    read_all(client)
    assert client._rest == [whole[:6]]

    client._sock = FakeSocket([encoded(2, "linli/a/events", b"second", 1)])
    read_all(client)

    assert [m.payload for m in drain(inbox)] == [b"second"]


def test_given_the_broker_closes_the_connection_when_read_then_paho_learns_the_connection_is_lost():
    client, inbox = lean_client([b""])
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_CONN_LOST
    assert client._sock is None


# ---------------------------------------------------------------- acknowledging

def test_ack_all_writes_the_pubacks_paho_would_write_one_by_one():
    mids = [1, 2, 300, 65535, 7]
    client, _ = lean_client([])
    reference = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5, manual_ack=True)
    reference._sock = FakeSocket()

    client.ack_all(mids)
    for mid in mids:
        reference.ack(mid, 1)

    assert len(client._out_packet) == 0  # written at once (no network thread here)
    assert bytes(client._sock.sent) == bytes(reference._sock.sent) == b"".join(bytes([0x40, 2, m >> 8, m & 255])
                                                                               for m in mids)


@pytest.fixture
def consumer() -> Iterator[mqtt.Consumer]:
    consumer = mqtt.Consumer(CONFIG)
    consumer.client._sock = FakeSocket()
    yield consumer
    consumer.client._sock = None


@TRANSACTIONAL  # Consumer._store closes a connection left in a transaction, as in production
def test_given_a_stored_batch_then_only_the_messages_of_the_current_connection_are_acknowledged(world, consumer):
    register(world.dwelling_a, kind="wristband", serial="WB-ACK")
    consumer.link = 2
    batch = [mqtt.Message("linli/WB-ACK/events", generic(f"e{mid}"), mid, qos, 0.0, link)
             for mid, qos, link in [(10, 1, 1), (11, 1, 2), (12, 0, 2), (13, 1, 2), (14, 1, 1)]]

    stop = threading.Event()
    stop.set()  # a failure would not be retried: the test fails instead of waiting
    consumer._store(batch, stop)

    assert bytes(consumer.client._sock.sent) == bytes([0x40, 2, 0, 11, 0x40, 2, 0, 13])
    assert DeviceEvent.objects.count() == 5


@TRANSACTIONAL  # Consumer._store closes a connection left in a transaction, as in production
def test_given_a_batch_that_cannot_be_stored_then_nothing_is_acknowledged(world, consumer, monkeypatch):
    def fail(*args: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(mqtt, "store_batch", fail)
    stop = threading.Event()
    stop.set()  # give up after the first attempt, as when stopping

    consumer._store([mqtt.Message("linli/X/events", b"{}", 1, 1, 0.0, consumer.link)], stop)

    assert consumer.client._sock.sent == b""


# ---------------------------------------------------------------- the sending devices

def generic(event_id: str, **fields: object) -> bytes:
    return json.dumps({"kind": "wristband.sos", "time": "2026-04-23T08:00:00+08:00", "id": event_id,
                       **fields}).encode()


def message(serial: str, payload: bytes, mid: int = 1) -> mqtt.Message:
    return mqtt.Message(f"linli/{serial}/events", payload, mid, 1, 0.0, 1)


@pytest.mark.django_db
def test_given_a_batch_of_every_kind_of_sender_then_no_device_field_is_loaded_lazily(world, monkeypatch):
    """The devices are read with TOPIC_DEVICE_FIELDS only: a field missing there would be loaded one query per
    device (refresh_from_db), which is forbidden here."""
    band = register(world.dwelling_a, kind="wristband", serial="WB-LAZY", wearer=world.resident_a)
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-LAZY")
    sensor = register(world.dwelling_a, kind="gas_sensor", serial="GAS-LAZY", gateway=gateway.device)
    asleep = register(world.dwelling_a, kind="wristband", serial="WB-ASLEEP")
    off = register(world.dwelling_a, kind="wristband", serial="WB-OFF")
    since = timezone.now() - timezone.timedelta(hours=2)
    Device.objects.filter(pk=asleep.pk).update(status="offline", stale_at=since)
    Device.objects.filter(pk=off.pk).update(enabled=False)

    def lazy(self: Device, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"a deferred field of {self.serial} was loaded: {kwargs.get('fields')}")

    monkeypatch.setattr(Device, "refresh_from_db", lazy)
    gas = json.dumps({"device": "GAS-LAZY", "kind": "sensor.gas", "time": "2026-04-23T08:00:00+08:00",
                      "id": "g1", "value": 12.5, "unit": "%LEL"}).encode()
    batch = [message("WB-LAZY", generic("b1")), message("GW-LAZY", gas, 2), message("WB-ASLEEP", generic("a1"), 3),
             message("WB-OFF", generic("o1"), 4), message("NOBODY", generic("n1"), 5),
             message("GW-LAZY", json.dumps({"device": "NOT-MINE", "kind": "sensor.gas",
                                            "time": "2026-04-23T08:00:00+08:00", "id": "x"}).encode(), 6)]

    outcome = mqtt.store_batch(batch, CONFIG, timezone.now())

    monkeypatch.undo()
    rows = {(e.device_id, e.kind, e.resident_id) for e in DeviceEvent.objects.all()}
    assert rows == {(band.pk, "wristband.sos", world.resident_a.pk), (sensor.pk, "sensor.gas", None),
                    (asleep.pk, "wristband.sos", None), (asleep.pk, "device.online", None)}
    online = DeviceEvent.objects.get(kind="device.online")
    assert online.attrs == {"offline_since": since.isoformat()}
    assert sorted(QuarantinedPayload.objects.values_list("device_ref", "reason_code", "device_id", "place_path")) == [
        ("NOBODY", "unknown_device", None, ""),
        ("NOT-MINE", "not_own_device", gateway.pk, world.estate_a.path),
        ("WB-OFF", "device_disabled", off.pk, world.dwelling_a.path)]
    assert (outcome.stored, outcome.quarantined) == (4, 3)
    assert set(Device.objects.filter(status="online").values_list("serial", flat=True)) == {
        "WB-LAZY", "GW-LAZY", "GAS-LAZY", "WB-ASLEEP"}


@pytest.mark.django_db
def test_given_a_device_disabled_rekeyed_or_retired_between_batches_then_the_next_batch_sees_it(world):
    actor = Actor.system("test")
    band = register(world.dwelling_a, kind="wristband", serial="WB-FRESH")

    def store(serial: str, event_id: str) -> None:
        mqtt.store_batch([message(serial, generic(event_id))], CONFIG, timezone.now())

    def last_refusal() -> tuple[str, str] | None:
        row = QuarantinedPayload.objects.order_by("-id").first()
        return row and (row.device_ref, row.reason_code)

    store("WB-FRESH", "e1")
    assert DeviceEvent.objects.filter(device_id=band.pk, kind="wristband.sos").count() == 1

    update_device(actor=actor, device=band.device, enabled=False)
    store("WB-FRESH", "e2")
    assert last_refusal() == ("WB-FRESH", "device_disabled")

    update_device(actor=actor, device=Device.objects.get(pk=band.pk), enabled=True, serial="WB-FRESH-2")
    store("WB-FRESH", "e3")
    assert last_refusal() == ("WB-FRESH", "unknown_device")
    store("WB-FRESH-2", "e4")
    assert set(DeviceEvent.objects.filter(device_id=band.pk, kind="wristband.sos").values_list(
        "external_id", flat=True)) == {"generic:WB-FRESH:e1", "generic:WB-FRESH-2:e4"}

    retire_device(actor=actor, device=Device.objects.get(pk=band.pk))
    store("WB-FRESH-2", "e5")
    assert last_refusal() == ("WB-FRESH-2", "unknown_device")
    assert QuarantinedPayload.objects.count() == 3


def test_given_a_full_inbox_then_the_socket_is_left_unread_until_messages_are_taken(monkeypatch):
    """The broker may send more than the receive maximum (Mosquitto 2.0 does once acknowledgements flow): beyond
    the inbox limit the rest stays in the socket, and so in the broker, instead of in the process's memory; a read
    still happens every FULL_READ_EVERY seconds, so that paho's keepalive sees the broker's PINGRESP."""
    packets = [encoded(mid, "linli/FULL/events", b"m%d" % mid, 1) for mid in range(1, 11)]
    client, inbox = lean_client(packets)  # one packet per read
    client._inbox_limit = 3
    monkeypatch.setattr(client, "FULL_PAUSE", 0)

    for _ in range(10):
        client.loop_read()
    assert inbox.qsize() == 3 and len(client._sock.pieces) == 7

    taken = [inbox.get_nowait().mid for _ in range(2)]
    for _ in range(10):
        client.loop_read()
    assert taken == [1, 2] and inbox.qsize() == 3 and len(client._sock.pieces) == 5

    client._last_read -= client.FULL_READ_EVERY  # full, but nothing read for that long
    client.loop_read()
    assert inbox.qsize() == 4 and len(client._sock.pieces) == 4
    assert [m.mid for m in drain(inbox)] == [3, 4, 5, 6]
