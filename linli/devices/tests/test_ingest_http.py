"""Pushing payloads over HTTP as devices do: each vendor's fixtures become stored events, the same payload twice
stores one event, refused requests write nothing but a rate-limited note, bad payloads go to quarantine with a 4xx."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.files.storage import default_storage

from linli.core.actor import Actor
from linli.devices.actions import add_credential, register_vehicle, rotate_device_secret, update_device
from linli.devices.models import Device, DeviceEvent, PendingBatch, PersonPresence, QuarantinedPayload
from linli.devices.tests.helpers import counts, register
from linli.devices.tests.payloads import fixture, form_part, multipart, tiny_jpeg

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
UTC = dt.UTC
SYSTEM = Actor.system("test")
HIK_DOOR_MAC = "bc:5e:33:4a:7c:21"
TRUNCATED = b'{"device": "DOOR-3-1", "kind": '


def access_multipart(name: str, picture: bytes | None = None) -> tuple[bytes, str]:
    parts = [form_part("event_log", "application/json", fixture(f"hikvision/{name}"))]
    if picture is not None:
        parts.append(form_part("Picture", "image/jpeg", picture, "Picture.jpg"))
    return multipart(parts)


def events() -> list[tuple]:
    return list(DeviceEvent.objects.order_by("id").values_list("device__serial", "kind", "subject_ref", "resident_id",
                                                               "vehicle_id"))


# ---------------------------------------------------------------- generic

def test_given_a_generic_event_when_pushed_twice_then_one_row_with_the_payload_values(world, client):
    band = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417", wearer=world.resident_a)

    first = band.push(client, "generic", fixture("generic/heart_rate.json"))
    again = band.push(client, "generic", fixture("generic/heart_rate.json"))

    assert (first.status_code, first.json()) == (200, {"stored": 1, "duplicates": 0, "quarantined": 0, "liveness": 0})
    assert (again.status_code, again.json()) == (200, {"stored": 0, "duplicates": 1, "quarantined": 0, "liveness": 0})
    event = DeviceEvent.objects.get()
    assert (event.device_id, event.place_path, event.kind, event.occurred_at, event.external_id) == (
        band.pk, world.dwelling_a.path, "wristband.heart_rate", dt.datetime(2026, 4, 22, 22, 15, tzinfo=UTC),
        "generic:WB-2026-00417:hr-000123")
    assert (event.value, event.unit, event.attrs, event.resident_id) == (132.0, "bpm", {"battery": 64, "wearing": True},
                                                                         world.resident_a.pk)


def test_given_a_gateway_batch_when_pushed_then_its_devices_events_are_resolved_and_a_stranger_is_quarantined(
        world, client, django_capture_on_commit_callbacks):
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-MY-01", name="梅园网关")
    for serial, kind, place, extra in (
            ("WB-2026-00417", "wristband", world.dwelling_a, {"wearer": world.resident_a}),
            ("GAS-3-1-0402", "gas_sensor", world.dwelling_a2, {}),
            ("GATE-N-1", "barrier_gate", world.estate_a, {})):
        register(place, kind=kind, serial=serial, gateway=gateway.device, **extra)
    register(world.entrance_a, serial="DOOR-3-1")  # not under the gateway
    car = register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345", owner=world.resident_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = gateway.push(client, "generic", fixture("generic/batch.json"))

    assert response.json() == {"stored": 5, "duplicates": 0, "quarantined": 1, "liveness": 0}
    ra = world.resident_a.pk
    assert events() == [
        ("WB-2026-00417", "wristband.sos", "", ra, None),
        ("WB-2026-00417", "wristband.fall", "", ra, None),
        ("GAS-3-1-0402", "sensor.gas", "", None, None),
        ("GW-MY-01", "device.low_battery", "", None, None),
        ("GATE-N-1", "passage.plate", "鄂L12345", ra, car.pk),
    ]
    stranger = QuarantinedPayload.objects.get()
    assert (stranger.device_id, stranger.device_ref, stranger.source, stranger.reason_code, stranger.place_path) == (
        gateway.pk, "DOOR-3-1", "generic.member", "not_own_device", world.estate_a.path)
    presence = PersonPresence.objects.get()
    assert (presence.resident_id, presence.last_seen_at, presence.last_kind) == (
        ra, dt.datetime(2026, 4, 23, 0, 3, 27, tzinfo=UTC), "passage.plate")
    assert set(Device.objects.filter(serial__in=["GW-MY-01", "WB-2026-00417", "GAS-3-1-0402", "GATE-N-1"])
               .values_list("status", flat=True)) == {"online"}
    assert Device.objects.get(serial="DOOR-3-1").status == "unknown"
    assert PendingBatch.objects.count() == 0


def test_given_a_batch_with_bad_members_when_pushed_then_the_good_ones_are_stored_and_each_bad_one_kept(world, client):
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-MY-01")

    response = gateway.push(client, "generic", fixture("generic/batch_with_bad.json"))

    assert response.json() == {"stored": 2, "duplicates": 0, "quarantined": 6, "liveness": 0}
    assert list(DeviceEvent.objects.order_by("id").values_list("kind", "value")) == [
        ("wristband.heart_rate", 71.0), ("wristband.spo2", 95.0)]
    kept = QuarantinedPayload.objects.order_by("id")
    assert [q.reason_code for q in kept] == ["naive_time", "unknown_kind", "wrong_type", "bad_unit", "wrong_type",
                                             "unknown_field"]
    assert kept[0].message_en == "events[1].time: the time has no time zone (2026-04-23T06:15:00)"
    assert kept[0].message_zh == "events[1].time：时间缺少时区（2026-04-23T06:15:00）"
    assert bytes(kept[5].payload) == b'{"kind":"sensor.smoke","tiem":"typo","time":"2026-04-23T06:15:00+08:00"}'
    assert {(q.device_id, q.source) for q in kept} == {(gateway.pk, "generic.member")}


def test_given_a_malformed_payload_when_pushed_then_400_with_the_reason_a_quarantine_row_and_nothing_else(
        world, client):
    door = register(world.entrance_a)
    before = counts()

    response = door.push(client, "generic", TRUNCATED)

    assert response.status_code == 400
    body = response.json()
    kept = QuarantinedPayload.objects.get()
    assert body == {"code": "invalid_json", "message_zh": kept.message_zh, "message_en": kept.message_en,
                    "quarantine_id": kept.pk}
    assert (kept.reason_code, kept.device_id, kept.source, bytes(kept.payload), kept.size, kept.truncated) == (
        "invalid_json", door.pk, "generic", TRUNCATED, len(TRUNCATED), False)
    assert counts() == {**before, "QuarantinedPayload": 1}
    door.device.refresh_from_db()
    assert (door.device.status, door.device.last_seen_at) == ("unknown", None)


@pytest.mark.parametrize("body, content_type, reason", [
    (b"", "application/json", "empty_body"),
    (b"\xff\xfe not utf-8", "application/json", "invalid_utf8"),
    (b'{"kind": "other", "time": "2026-04-23T08:00:00+08:00", "kind": "other"}', "application/json",
     "duplicate_key"),
    (b"<xml/>", "text/xml", "unsupported_content_type"),
    (b'{"events": []}', "application/json", "empty_batch"),
])
def test_given_hostile_generic_payloads_when_pushed_then_each_is_a_400_kept_in_quarantine(world, client, body,
                                                                                          content_type, reason):
    door = register(world.entrance_a)

    response = door.push(client, "generic", body, content_type)

    assert (response.status_code, response.json()["code"]) == (400, reason)
    assert list(QuarantinedPayload.objects.values_list("reason_code", flat=True)) == [reason]
    assert DeviceEvent.objects.count() == 0


# ---------------------------------------------------------------- authentication

def test_given_no_credentials_when_pushed_then_401_with_a_basic_challenge_and_nothing_written(world, client):
    register(world.entrance_a)
    before = counts()

    response = client.post("/api/v1/ingest/generic", fixture("generic/heart_rate.json"),
                           content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="linli-devices", charset="UTF-8"'
    assert response.json()["code"] == "credentials_required"
    assert counts() == before


def test_given_a_wrong_secret_when_pushed_twice_then_401_and_one_note_without_the_payload(world, client):
    door = register(world.entrance_a)
    before = counts()

    first = door.push(client, "generic", fixture("generic/heart_rate.json"), secret="wrong-secret")
    second = door.push(client, "generic", fixture("generic/heart_rate.json"), secret="still-wrong")

    assert (first.status_code, second.status_code) == (401, 401)
    assert first.json()["code"] == "auth_failed"
    assert counts() == {**before, "QuarantinedPayload": 1}
    note = QuarantinedPayload.objects.get()
    assert (note.device_id, note.reason_code, note.source, bytes(note.payload), note.size, note.place_path) == (
        door.pk, "auth_failed", "auth", b"", len(fixture("generic/heart_rate.json")), world.entrance_a.path)


def test_given_an_unregistered_device_when_pushed_then_401_and_a_note_naming_what_it_claimed(world, client):
    token = base64.b64encode(b"GHOST-1:whatever").decode()

    response = client.post("/api/v1/ingest/generic", b"{}", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Basic {token}")

    assert (response.status_code, response.json()["code"]) == (401, "unknown_device")
    assert list(QuarantinedPayload.objects.values_list("device_id", "device_ref", "reason_code", "place_path")) == [
        (None, "GHOST-1", "unknown_device", "")]
    assert DeviceEvent.objects.count() == 0


def test_given_a_device_of_another_vendor_when_it_uses_an_endpoint_then_it_is_unknown_there(world, client):
    hik = register(world.entrance_a, vendor="hikvision", serial=HIK_DOOR_MAC)

    response = hik.push(client, "generic", fixture("generic/heart_rate.json"))

    assert (response.status_code, response.json()["code"]) == (401, "unknown_device")


def test_given_a_rotated_secret_when_the_old_one_is_used_then_401_and_the_new_one_works(world, client):
    door = register(world.entrance_a, serial="WB-2026-00417", kind="wristband")
    old = door.secret
    _device, new = rotate_device_secret(actor=SYSTEM, device=door.device)

    refused = door.push(client, "generic", fixture("generic/heart_rate.json"), secret=old)
    accepted = door.push(client, "generic", fixture("generic/heart_rate.json"), secret=new)

    assert (refused.status_code, accepted.status_code) == (401, 200)
    assert DeviceEvent.objects.count() == 1


def test_given_a_disabled_device_when_pushed_then_403_and_no_event(world, client):
    band = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417")
    update_device(actor=SYSTEM, device=band.device, enabled=False)

    response = band.push(client, "generic", fixture("generic/heart_rate.json"))

    assert (response.status_code, response.json()["code"]) == (403, "device_disabled")
    assert DeviceEvent.objects.count() == 0


def test_given_the_secret_in_the_url_when_pushed_then_accepted_and_a_wrong_one_refused(world, client):
    band = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417")
    url = f"/api/v1/ingest/generic/{band.pk}/"

    accepted = client.post(url + band.secret, fixture("generic/heart_rate.json"), content_type="application/json")
    refused = client.post(url + "WrongSecret123", fixture("generic/heart_rate.json"), content_type="application/json")

    assert (accepted.status_code, refused.status_code) == (200, 401)
    assert DeviceEvent.objects.count() == 1
    assert list(QuarantinedPayload.objects.values_list("reason_code", "device_ref")) == [
        ("auth_failed", f"#{band.pk}")]


def test_given_a_declared_body_above_8_mib_when_pushed_then_413_and_a_note(world, client):
    door = register(world.entrance_a)

    response = client.post("/api/v1/ingest/generic", b"{}", content_type="application/json",
                           CONTENT_LENGTH=str(9 * 1024 * 1024), **door.basic())

    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    assert list(QuarantinedPayload.objects.values_list("reason_code", "size")) == [("body_too_large", 9 * 1024 * 1024)]


def test_given_a_get_request_when_sent_to_an_endpoint_then_405(client):
    assert client.get("/api/v1/ingest/generic").status_code == 405


# ---------------------------------------------------------------- Hikvision

def test_given_a_hikvision_face_pass_with_its_picture_when_pushed_then_a_resolved_passage_with_stored_pictures(
        world, client, django_capture_on_commit_callbacks):
    door = register(world.entrance_a, vendor="hikvision", serial=HIK_DOOR_MAC)
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="employee_no", ref="MY0301021",
                   place=world.estate_a)
    body, content_type = access_multipart("access_face_pass.json", tiny_jpeg(b"face"))

    with django_capture_on_commit_callbacks(execute=True):
        response = door.push(client, "hikvision", body, content_type)

    assert response.json() == {"stored": 1, "duplicates": 0, "quarantined": 0, "liveness": 0}
    event = DeviceEvent.objects.get()
    assert (event.kind, event.subject_ref, event.resident_id, event.external_id) == (
        "passage.face", "MY0301021", world.resident_a.pk, f"hikvision:{HIK_DOOR_MAC}:serial:18234")
    [picture] = event.media
    assert (picture["name"], picture["type"], picture["size"], picture["error"]) == (
        "Picture.jpg", "image/jpeg", len(tiny_jpeg(b"face")), "")
    assert default_storage.open(picture["file"]).read() == tiny_jpeg(b"face")
    assert default_storage.open(picture["thumb"]).read()[:3] == b"\xff\xd8\xff"
    assert PersonPresence.objects.get(resident=world.resident_a).last_event_id == event.pk
    assert Device.objects.get(pk=door.pk).last_event_at == dt.datetime(2026, 4, 22, 23, 42, 18, tzinfo=UTC)


def test_given_a_picture_that_does_not_decode_when_pushed_then_the_event_is_kept_and_the_picture_noted(world, client):
    door = register(world.entrance_a, vendor="hikvision", serial=HIK_DOOR_MAC)
    broken = b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10
    body, content_type = access_multipart("access_face_pass.json", broken)

    response = door.push(client, "hikvision", body, content_type)

    assert response.status_code == 200
    [picture] = DeviceEvent.objects.get().media
    assert (picture["error"], picture["thumb"], picture["size"]) == ("invalid_image", "", len(broken))
    assert default_storage.open(picture["file"]).read() == broken


def test_given_a_hikvision_plate_with_pictures_when_pushed_then_a_gate_passage_of_the_registered_car(world, client):
    gate = register(world.estate_a, kind="barrier_gate", vendor="hikvision", serial="44:19:b6:0a:31:5c")
    car = register_vehicle(actor=SYSTEM, place=world.dwelling_a, plate="鄂L 12345", owner=world.resident_a)
    body, content_type = multipart([
        form_part("anpr.xml", "application/xml", fixture("hikvision/anpr_isapi.xml"), "anpr.xml"),
        form_part("licensePlatePicture.jpg", "image/jpeg", tiny_jpeg(b"plate"), "licensePlatePicture.jpg"),
        form_part("detectionPicture.jpg", "image/jpeg", tiny_jpeg(b"scene"), "detectionPicture.jpg"),
    ])

    response = gate.push(client, "hikvision", body, content_type)

    assert response.status_code == 200
    event = DeviceEvent.objects.get()
    assert (event.kind, event.subject_kind, event.subject_ref, event.direction, event.score) == (
        "passage.plate", "plate", "鄂L12345", "in", 0.98)
    assert (event.vehicle_id, event.resident_id) == (car.pk, world.resident_a.pk)
    assert [m["name"] for m in event.media] == ["licensePlatePicture.jpg", "detectionPicture.jpg"]


def test_given_a_hikvision_heartbeat_when_pushed_then_the_device_is_online_and_no_event_is_stored(world, client):
    camera = register(world.estate_a, kind="ai_camera", vendor="hikvision", serial="58:50:ed:10:22:33",
                      offline_after=15)

    response = camera.push(client, "hikvision", fixture("hikvision/videoloss_heartbeat.xml"), "application/xml")

    assert response.json() == {"stored": 0, "duplicates": 0, "quarantined": 0, "liveness": 1}
    assert DeviceEvent.objects.count() == 0
    device = Device.objects.get(pk=camera.pk)
    assert device.status == "online"
    assert device.stale_at - device.last_seen_at == dt.timedelta(minutes=15)


def test_given_a_hikvision_smart_camera_alarm_when_pushed_then_an_intrusion_in_its_region(world, client):
    camera = register(world.estate_a, kind="ai_camera", vendor="hikvision", serial="cam-1")

    response = camera.push(client, "hikvision", fixture("hikvision/fielddetection.xml"), "application/xml")

    assert response.status_code == 200
    assert list(DeviceEvent.objects.values_list("device_id", "kind", "state")) == [
        (camera.pk, "camera.intrusion", "start")]


def test_given_a_door_unlocked_notification_when_pushed_then_200_and_nothing_stored(world, client):
    door = register(world.entrance_a, vendor="hikvision", serial=HIK_DOOR_MAC)
    body, content_type = access_multipart("access_door_unlocked.json")

    response = door.push(client, "hikvision", body, content_type)

    assert response.json() == {"stored": 0, "duplicates": 0, "quarantined": 0, "liveness": 0}
    assert DeviceEvent.objects.count() == 0


def test_given_bad_xml_from_hikvision_when_pushed_then_400_kept_in_quarantine(world, client):
    door = register(world.entrance_a, vendor="hikvision", serial=HIK_DOOR_MAC)

    response = door.push(client, "hikvision", b"<EventNotificationAlert><dateTime>", "application/xml")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_xml")
    assert list(QuarantinedPayload.objects.values_list("source", "reason_code")) == [("hikvision", "invalid_xml")]


# ---------------------------------------------------------------- Dahua

def test_given_a_dahua_access_upload_when_pushed_then_a_face_passage_and_a_denied_one(world, client):
    door = register(world.entrance_a, vendor="dahua", serial="DH-DOOR-1")
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="employee_no", ref="1021", device=door.device)

    response = door.push(client, "dahua", fixture("dahua/upload_access.json"))

    assert response.json() == {"stored": 2, "duplicates": 0, "quarantined": 0, "liveness": 0}
    assert list(DeviceEvent.objects.order_by("id").values_list("kind", "subject_ref", "resident_id", "direction",
                                                                 "occurred_at", "external_id")) == [
        ("passage.face", "1021", world.resident_a.pk, "in", dt.datetime(2026, 4, 22, 23, 50, 12, tzinfo=UTC),
         "dahua:DH-DOOR-1:AccessControl:pulse:0:rec:4021"),
        ("passage.denied", "A51F2C09", None, "out", dt.datetime(2026, 4, 22, 23, 50, 40, tzinfo=UTC),
         "dahua:DH-DOOR-1:AccessControl:pulse:0:rec:4022"),
    ]


def test_given_a_dahua_heartbeat_when_pushed_then_liveness_only(world, client):
    camera = register(world.estate_a, kind="ai_camera", vendor="dahua", serial="DH-CAM-1")

    response = camera.push(client, "dahua", fixture("dahua/upload_heartbeat.json"))

    assert response.json() == {"stored": 0, "duplicates": 0, "quarantined": 0, "liveness": 1}
    assert Device.objects.get(pk=camera.pk).status == "online"
    assert DeviceEvent.objects.count() == 0


def test_given_a_dahua_upload_with_bad_entries_when_pushed_twice_then_good_ones_once_and_bad_ones_kept(world, client):
    camera = register(world.estate_a, kind="ai_camera", vendor="dahua", serial="DH-CAM-1")

    first = camera.push(client, "dahua", fixture("dahua/upload_mixed_with_bad.json"))
    second = camera.push(client, "dahua", fixture("dahua/upload_mixed_with_bad.json"))

    assert first.json() == {"stored": 2, "duplicates": 0, "quarantined": 2, "liveness": 0}
    assert second.json() == {"stored": 0, "duplicates": 2, "quarantined": 2, "liveness": 0}
    assert list(DeviceEvent.objects.order_by("id").values_list("kind", flat=True)) == ["camera.motion", "camera.tamper"]
    assert list(QuarantinedPayload.objects.order_by("id").values_list("source", "reason_code")) == [
        ("dahua.member", "bad_value"), ("dahua.member", "wrong_type")] * 2
