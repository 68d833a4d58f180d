"""/api/v1/ for devices, events, passages, the quarantine list, credentials, vehicles and visitor passes: scope
(other communities' rows are 404), payloads only for those who may read passages, reprocessing, constant query
counts for lists."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.actor import Actor
from linli.core.models import AuditEntry
from linli.devices.actions import add_credential, register_vehicle, update_device
from linli.devices.models import Device, DeviceEvent, QuarantinedPayload
from linli.devices.tests.helpers import register
from linli.devices.tests.payloads import fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
SYSTEM = Actor.system("test")


def as_user(client, world, name: str):
    client.force_login(world.users[name])
    return client


def api(client, method: str, url: str, body: dict | None = None):
    return client.generic(method, "/api/v1" + url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def door_a(world):
    return register(world.entrance_a, serial="DOOR-A")


@pytest.fixture
def door_b(world):
    return register(world.estate_b, serial="DOOR-B")


def card(n: int) -> bytes:
    return json.dumps({"kind": "passage.card", "time": f"2026-04-23T08:{n:02d}:00+08:00", "id": f"c{n}",
                       "subject": {"kind": "resident", "ref": "C1", "ref_type": "card_no"}}).encode()


# ---------------------------------------------------------------- devices

def test_given_staff_when_they_register_a_device_then_201_with_a_secret_that_the_device_can_use(world, client):
    response = api(as_user(client, world, "property_a"), "POST", "/devices", {
        "place_id": world.entrance_a.pk, "kind": "face_terminal", "vendor": "generic", "serial": "DOOR-9",
        "name": "9栋门禁", "offline_after": 5})

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("serial", "name", "status", "offline_after", "kind_label", "wearer_name")} == {
        "serial": "DOOR-9", "name": "9栋门禁", "status": "unknown", "offline_after": 5, "kind_label": "人脸识别门禁",
        "wearer_name": None}
    assert body["place"] == {"id": world.entrance_a.pk, "kind": "entrance", "name": "1单元"}
    token = __import__("base64").b64encode(f"DOOR-9:{body['secret']}".encode()).decode()
    pushed = client.post("/api/v1/ingest/generic", card(1), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Basic {token}")
    assert pushed.status_code == 200
    assert "secret" not in api(client, "GET", f"/devices/{body['id']}").json()


def test_given_a_device_of_community_a_when_staff_b_reads_or_changes_it_then_404(world, client, door_a):
    as_user(client, world, "staff_b")
    for method, url in (("GET", ""), ("PATCH", ""), ("POST", "/rotate-secret"), ("POST", "/retire")):
        assert api(client, method, f"/devices/{door_a.pk}{url}", {"name": "x"}).status_code == 404
    assert api(client, "GET", "/devices").json()["count"] == 0
    assert Device.objects.get(pk=door_a.pk).secret_hash == door_a.device.secret_hash


def test_given_a_wristband_when_read_then_the_wearer_name_shows_only_to_roles_that_see_residents(world, client):
    band = register(world.dwelling_a, kind="wristband", serial="WB-1", wearer=world.resident_a)

    staff = api(as_user(client, world, "staff_a"), "GET", f"/devices/{band.pk}").json()
    admin = api(as_user(client, world, "sysadmin"), "GET", f"/devices/{band.pk}").json()

    assert (staff["wearer_id"], staff["wearer_name"]) == (world.resident_a.pk, "王秀英")
    assert (admin["wearer_id"], admin["wearer_name"]) == (world.resident_a.pk, None)


def test_given_a_patch_when_sent_then_only_those_fields_change_and_null_clears_the_wearer(world, client):
    band = register(world.dwelling_a, kind="wristband", serial="WB-1", wearer=world.resident_a)

    response = api(as_user(client, world, "staff_a"), "PATCH", f"/devices/{band.pk}",
                   {"name": "王秀英的手环", "wearer_id": None})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["wearer_id"], response.json()["serial"]) == (
        "王秀英的手环", None, "WB-1")


def test_given_a_rotation_through_the_api_when_the_old_secret_is_used_then_401(world, client, door_a):
    response = api(as_user(client, world, "staff_a"), "POST", f"/devices/{door_a.pk}/rotate-secret")

    new = response.json()["secret"]
    assert response.status_code == 200 and new != door_a.secret
    assert door_a.push(client, "generic", card(1)).status_code == 401
    assert door_a.push(client, "generic", card(1), secret=new).status_code == 200


def test_given_the_device_list_when_it_grows_then_its_query_count_does_not(world, client):
    as_user(client, world, "staff_a")
    register(world.dwelling_a, kind="wristband", serial="WB-0", wearer=world.resident_a)
    with CaptureQueriesContext(connection) as few:
        assert api(client, "GET", "/devices").json()["count"] == 1
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW").device
    for i in range(1, 12):
        register(world.dwelling_a, kind="wristband", serial=f"WB-{i}", wearer=world.resident_a, gateway=gateway)
    with CaptureQueriesContext(connection) as many:
        assert api(client, "GET", "/devices").json()["count"] == 13
    assert len(many.captured_queries) == len(few.captured_queries)


# ---------------------------------------------------------------- events and passages

def test_given_events_of_two_communities_when_read_then_each_staff_sees_their_own_and_404_for_the_other(
        world, client, door_a, door_b):
    door_a.push(client, "generic", card(1))
    door_b.push(client, "generic", card(2))
    event_a = DeviceEvent.objects.get(device=door_a.device)

    staff_b = as_user(client, world, "staff_b")
    assert api(staff_b, "GET", f"/device-events/{event_a.pk}").status_code == 404
    assert [e["device"]["name"] for e in api(staff_b, "GET", "/device-events").json()["items"]] == ["3栋1单元门禁"]
    assert api(staff_b, "GET", "/passages").json()["count"] == 1
    assert api(staff_b, "GET", f"/passages?resident={world.resident_a.pk}").status_code == 404
    staff_a = as_user(client, world, "staff_a")
    detail = api(staff_a, "GET", f"/device-events/{event_a.pk}").json()
    assert (detail["kind"], detail["external_id"], detail["place_name"]) == (
        "passage.card", "generic:DOOR-A:c1", "1单元")
    assert json.loads(detail["raw"])["id"] == "c1"


def test_given_a_system_administrator_when_reading_events_then_403_for_personal_data(world, client, door_a):
    as_user(client, world, "sysadmin")
    assert api(client, "GET", "/device-events").status_code == 403
    assert api(client, "GET", "/passages").status_code == 403
    assert api(client, "GET", "/devices").status_code == 200


def test_given_passages_when_listed_then_the_query_count_does_not_grow_with_rows(
        world, client, door_a, django_capture_on_commit_callbacks):
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", device=door_a.device)
    register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345", owner=world.resident_a)
    door_a.push(client, "generic", card(0))
    as_user(client, world, "grid_a")
    with CaptureQueriesContext(connection) as few:
        assert api(client, "GET", "/passages").json()["count"] == 1
    for n in range(1, 25):
        door_a.push(client, "generic", card(n))
    with CaptureQueriesContext(connection) as many:
        page = api(client, "GET", f"/passages?resident={world.resident_a.pk}&limit=100").json()
    assert page["count"] == 25
    assert page["items"][0]["resident"] == {"id": world.resident_a.pk, "name": "王秀英"}
    assert len(many.captured_queries) == len(few.captured_queries) + 1  # the resident filter's own look-up


def test_given_an_event_with_a_picture_when_fetched_then_the_picture_is_served_only_inside_the_scope(world, client):
    from linli.devices.tests.payloads import form_part, multipart, tiny_jpeg

    door = register(world.entrance_a, vendor="hikvision", serial="bc:5e:33:4a:7c:21")
    body, content_type = multipart([
        form_part("event_log", "application/json", fixture("hikvision/access_face_pass.json")),
        form_part("Picture", "image/jpeg", tiny_jpeg(b"face"), "Picture.jpg")])
    door.push(client, "hikvision", body, content_type)
    event = DeviceEvent.objects.get()

    [media] = api(as_user(client, world, "staff_a"), "GET", f"/device-events/{event.pk}").json()["media"]
    picture = client.get(media["url"])
    thumb = client.get(media["thumb_url"])

    assert b"".join(picture.streaming_content) == tiny_jpeg(b"face")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert as_user(client, world, "staff_b").get(media["url"]).status_code == 404


# ---------------------------------------------------------------- quarantine

def test_given_a_quarantined_payload_when_read_then_its_bytes_show_only_to_roles_that_read_passages(
        world, client, door_a):
    door_a.push(client, "generic", b"{broken")
    item = QuarantinedPayload.objects.get()

    staff = api(as_user(client, world, "staff_a"), "GET", f"/quarantine/{item.pk}").json()
    admin = api(as_user(client, world, "sysadmin"), "GET", f"/quarantine/{item.pk}").json()

    assert (staff["reason_code"], staff["payload_text"], staff["device"]["id"]) == ("invalid_json", "{broken",
                                                                                    door_a.pk)
    assert (admin["reason_code"], admin["payload_text"]) == ("invalid_json", None)
    assert api(as_user(client, world, "staff_b"), "GET", f"/quarantine/{item.pk}").status_code == 404
    assert api(client, "GET", "/quarantine").json()["count"] == 0


def test_given_an_event_of_an_unregistered_sensor_when_the_sensor_is_registered_then_reprocessing_stores_it(
        world, client):
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-MY-01")
    gateway.push(client, "generic", b'{"device": "SMK-9", "kind": "sensor.smoke", "time": "2026-04-23T03:00:00Z",'
                                    b' "value": 12, "state": "start"}')
    item = QuarantinedPayload.objects.get()
    assert (item.reason_code, item.device_ref) == ("not_own_device", "SMK-9")
    staff = as_user(client, world, "staff_a")

    still = api(staff, "POST", f"/quarantine/{item.pk}/reprocess").json()
    register(world.dwelling_a, kind="smoke_sensor", serial="SMK-9", gateway=gateway.device)
    done = api(staff, "POST", f"/quarantine/{item.pk}/reprocess").json()
    again = api(staff, "POST", f"/quarantine/{item.pk}/reprocess")

    assert (still["status"], still["attempts"], still["events_stored"]) == ("open", 1, 0)
    assert (done["status"], done["attempts"], done["events_stored"]) == ("reprocessed", 2, 1)
    assert (again.status_code, again.json()["code"]) == (409, "reprocessed")
    assert list(DeviceEvent.objects.values_list("device__serial", "kind", "value")) == [
        ("SMK-9", "sensor.smoke", 12.0)]
    assert QuarantinedPayload.objects.count() == 1
    assert AuditEntry.objects.filter(action="device.quarantine.reprocess").count() == 2


def test_given_a_payload_that_still_does_not_parse_when_reprocessed_then_open_with_the_current_reason(
        world, client, door_a):
    door_a.push(client, "generic", b'{"kind": "passage.card", "time": "2026-04-23T08:00:00"}')
    item = QuarantinedPayload.objects.get()

    response = api(as_user(client, world, "staff_a"), "POST", f"/quarantine/{item.pk}/reprocess")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason_code"], response.json()["attempts"]) == (
        "open", "naive_time", 1)
    assert DeviceEvent.objects.count() == 0


def test_given_an_authentication_note_when_reprocessed_then_409_and_a_grid_worker_403(world, client, door_a):
    door_a.push(client, "generic", card(1), secret="wrong")
    note = QuarantinedPayload.objects.get()

    grid = api(as_user(client, world, "grid_a"), "POST", f"/quarantine/{note.pk}/reprocess")
    staff = api(as_user(client, world, "staff_a"), "POST", f"/quarantine/{note.pk}/reprocess")

    assert (grid.status_code, staff.status_code, staff.json()["code"]) == (403, 409, "not_reprocessable")


# ---------------------------------------------------------------- credentials, vehicles, passes

def test_given_credentials_vehicles_and_passes_when_managed_through_the_api_then_they_resolve_passages(
        world, client, door_a):
    gate = register(world.estate_a, kind="barrier_gate", serial="GATE-A")
    staff = as_user(client, world, "property_a")

    credential = api(staff, "POST", "/device-credentials", {"resident_id": world.resident_a.pk, "ref_type": "card_no",
                                                            "ref": "C1", "device_id": door_a.pk})
    vehicle = api(staff, "POST", "/vehicles", {"place_id": world.estate_a.pk, "plate": "鄂L 12345",
                                               "owner_id": world.resident_a.pk})
    visitor = api(staff, "POST", "/visitor-passes", {"place_id": world.estate_a.pk, "name": "刘先生",
                                                     "valid_from": "2026-04-23T00:00:00+08:00",
                                                     "valid_until": "2026-04-24T00:00:00+08:00"})
    assert (credential.status_code, vehicle.status_code, visitor.status_code) == (201, 201, 201)
    assert credential.json()["resident"] == {"id": world.resident_a.pk, "name": "王秀英"}
    assert vehicle.json()["plate"] == "鄂L12345"
    code = visitor.json()["code"]

    door_a.push(client, "generic", card(1))
    door_a.push(client, "generic", json.dumps({"kind": "passage.qr", "time": "2026-04-23T09:00:00+08:00",
                                              "subject": {"kind": "visitor", "ref": code}}).encode())
    gate.push(client, "generic", json.dumps({"kind": "passage.plate", "time": "2026-04-23T09:10:00+08:00",
                                            "subject": {"kind": "plate", "ref": "鄂L12345"}}).encode())

    items = api(staff, "GET", "/passages").json()["items"]
    assert [(i["kind"], i["resident"] and i["resident"]["name"], i["visitor"] and i["visitor"]["name"],
             i["vehicle_id"]) for i in items] == [
        ("passage.plate", "王秀英", None, vehicle.json()["id"]),
        ("passage.qr", None, "刘先生", None),
        ("passage.card", "王秀英", None, None)]
    assert api(staff, "DELETE", f"/device-credentials/{credential.json()['id']}").status_code == 204
    assert api(staff, "DELETE", f"/vehicles/{vehicle.json()['id']}").status_code == 204
    revoked = api(staff, "POST", f"/visitor-passes/{visitor.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api(staff, "GET", "/vehicles").json()["count"] == 0


def test_given_staff_b_when_they_touch_community_a_credentials_vehicles_or_passes_then_404(world, client, door_a):
    credential = add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1",
                                device=door_a.device)
    car = register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345")
    staff_b = as_user(client, world, "staff_b")

    assert api(staff_b, "DELETE", f"/device-credentials/{credential.pk}").status_code == 404
    assert api(staff_b, "DELETE", f"/vehicles/{car.pk}").status_code == 404
    assert api(staff_b, "POST", "/device-credentials", {"resident_id": world.resident_a.pk, "ref_type": "card_no",
                                                        "ref": "C2", "device_id": door_a.pk}).status_code == 404
    assert api(staff_b, "GET", "/device-credentials").json()["count"] == 0


def test_given_a_disabled_device_when_enabled_through_an_update_then_it_may_push_again(world, client, door_a):
    update_device(actor=SYSTEM, device=door_a.device, enabled=False)
    assert door_a.push(client, "generic", card(1)).status_code == 403

    api(as_user(client, world, "staff_a"), "PATCH", f"/devices/{door_a.pk}", {"enabled": True})

    assert door_a.push(client, "generic", card(1)).status_code == 200


def test_given_a_resident_who_passed_a_door_when_their_last_sighting_is_asked_then_time_and_door(
        world, client, door_a, django_capture_on_commit_callbacks):
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", device=door_a.device)
    url = f"/passages/last-seen/{world.resident_a.pk}"
    never = api(as_user(client, world, "grid_a"), "GET", url).json()

    with django_capture_on_commit_callbacks(execute=True):
        door_a.push(client, "generic", card(7))
    seen = api(client, "GET", url).json()

    assert (never["last_seen_at"], never["device"]) == (None, None)
    assert seen == {"resident": {"id": world.resident_a.pk, "name": "王秀英"}, "last_seen_at": "2026-04-23T00:07:00Z",
                    "device": {"id": door_a.pk, "name": "3栋1单元门禁"}, "place_path": world.entrance_a.path,
                    "kind": "passage.card"}
    assert api(as_user(client, world, "staff_b"), "GET", url).status_code == 404
    assert api(as_user(client, world, "resident_a"), "GET", url).status_code == 403
