"""The device registry: registering shows a secret once and keeps only its digest, a serial is unique per vendor
among devices in service, bad input and refused actors write nothing, rotation retires the old secret at once,
retiring frees the serial. Credentials, vehicles and visitor passes check their area."""

from __future__ import annotations

import base64
import hashlib

import pytest

from linli.core.actor import Actor
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.devices.actions import (
    add_credential,
    issue_visitor_pass,
    register_device,
    register_vehicle,
    remove_credential,
    retire_device,
    retire_vehicle,
    revoke_visitor_pass,
    rotate_device_secret,
    update_device,
)
from linli.devices.models import Device, DeviceCredential
from linli.devices.tests.helpers import counts, register
from linli.devices.tests.payloads import fixture

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def codes(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


def test_given_a_new_device_when_registered_then_its_secret_is_returned_once_and_only_its_digest_kept(world):
    device, secret = register_device(actor=world.actor("property_a"), place=world.entrance_a, kind="face_terminal",
                                     vendor="hikvision", serial=" BC-5E-33-4A-7C-21 ", name="3栋1单元门禁",
                                     longitude=114.2961, latitude=29.8331)

    assert len(secret) == 24 and secret.isalnum()
    stored = Device.objects.get(pk=device.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (stored.serial, stored.place_path, stored.status, stored.enabled, stored.offline_after) == (
        "bc:5e:33:4a:7c:21", world.entrance_a.path, "unknown", True, 10)
    entry = AuditEntry.objects.get(action="device.register")
    assert entry.after["serial"] == "bc:5e:33:4a:7c:21" and secret not in str(entry.after)


def test_given_a_serial_in_service_when_registered_again_then_409_and_nothing_written_but_another_vendor_may(world):
    register(world.entrance_a, serial="DOOR-1")
    before = counts()

    with pytest.raises(Conflict) as exc:
        register(world.estate_a, serial="DOOR-1", name="重复")

    assert exc.value.code == "duplicate_serial"
    assert counts() == before
    assert register(world.estate_a, serial="DOOR-1", vendor="dahua").device.vendor == "dahua"


@pytest.mark.parametrize("data, expected", [
    ({"kind": "toaster"}, [("kind", "invalid_choice")]),
    ({"vendor": ""}, [("vendor", "required")]),
    ({"serial": "  "}, [("serial", "required")]),
    ({"serial": "x" * 65}, [("serial", "invalid")]),
    ({"name": ""}, [("name", "required")]),
    ({"longitude": 200, "latitude": 29.8}, [("longitude", "out_of_range")]),
    ({"longitude": 114.3}, [("longitude", "incomplete")]),
    ({"offline_after": 0}, [("offline_after", "out_of_range")]),
    ({"attrs": {"nested": {"no": 1}}}, [("attrs", "invalid")]),
])
def test_given_bad_fields_when_registered_then_each_is_named_and_nothing_written(world, data, expected):
    fields = {"kind": "face_terminal", "vendor": "generic", "serial": "DOOR-1", "name": "门禁", **data}
    before = counts()

    with pytest.raises(ValidationFailed) as exc:
        register_device(actor=SYSTEM, place=world.entrance_a, **fields)

    assert codes(exc.value) == expected
    assert counts() == before


def test_given_a_wearer_on_a_door_or_a_camera_as_gateway_when_registered_then_refused(world):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1").device

    with pytest.raises(ValidationFailed) as exc:
        register(world.entrance_a, wearer=world.resident_a, gateway=camera)

    assert codes(exc.value) == [("wearer", "not_wristband"), ("gateway", "not_gateway")]


def test_given_a_gateway_of_another_community_when_a_sensor_is_registered_under_it_then_refused(world):
    gateway = register(world.estate_b, kind="sensor_gateway", serial="GW-B").device

    with pytest.raises(ValidationFailed) as exc:
        register(world.dwelling_a, kind="gas_sensor", serial="GAS-1", gateway=gateway)

    assert codes(exc.value) == [("gateway", "elsewhere")]


def test_given_staff_of_another_community_or_a_grid_worker_when_they_register_then_refused_and_nothing_written(
        world):
    before = counts()
    for name in ("staff_b", "grid_a", "resident_a"):
        with pytest.raises(PermissionDenied):
            register_device(actor=world.actor(name), place=world.entrance_a, kind="face_terminal", vendor="generic",
                            serial="DOOR-9", name="门禁")
    assert counts() == before


def test_given_a_device_when_its_secret_is_rotated_then_the_old_digest_is_gone_and_the_change_audited(world):
    door = register(world.entrance_a)

    device, secret = rotate_device_secret(actor=world.actor("staff_a"), device=door.device)

    assert secret != door.secret
    assert device.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert AuditEntry.objects.filter(action="device.rotate_secret", target_id=str(door.pk)).count() == 1


def test_given_a_retired_device_when_its_serial_is_registered_again_then_accepted_and_the_old_one_refused(
        world, client):
    door = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417")

    retire_device(actor=world.actor("staff_a"), device=door.device)
    replacement = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417")

    assert door.push(client, "generic", fixture("generic/heart_rate.json")).status_code == 401
    assert replacement.push(client, "generic", fixture("generic/heart_rate.json")).status_code == 200
    with pytest.raises(Conflict):
        retire_device(actor=SYSTEM, device=door.device)
    with pytest.raises(Conflict):
        rotate_device_secret(actor=SYSTEM, device=door.device)


def test_given_a_gateway_with_sensors_when_retired_then_refused_until_they_go(world):
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-1").device
    sensor = register(world.dwelling_a, kind="smoke_sensor", serial="SMK-1", gateway=gateway).device

    with pytest.raises(Conflict) as exc:
        retire_device(actor=SYSTEM, device=gateway)
    assert exc.value.code == "has_devices"

    update_device(actor=SYSTEM, device=sensor, clear_gateway=True)
    assert retire_device(actor=SYSTEM, device=gateway).retired_at is not None


def test_given_a_device_when_updated_then_only_the_changes_are_audited_and_a_taken_serial_is_refused(world):
    door = register(world.entrance_a, serial="DOOR-1").device
    register(world.entrance_a, serial="DOOR-2")

    update_device(actor=world.actor("staff_a"), device=door, name="北门门禁", offline_after=30)
    with pytest.raises(Conflict):
        update_device(actor=SYSTEM, device=door, serial="DOOR-2")

    entry = AuditEntry.objects.get(action="device.update")
    assert (entry.before, entry.after) == ({"name": "3栋1单元门禁", "offline_after": 10},
                                           {"name": "北门门禁", "offline_after": 30})
    assert Device.objects.get(pk=door.pk).serial == "DOOR-1"


def test_given_a_hikvision_mac_as_bare_hex_when_it_authenticates_then_the_device_is_found(world, client):
    door = register(world.entrance_a, vendor="hikvision", serial="bc:5e:33:4a:7c:21")
    token = base64.b64encode(f"BC5E334A7C21:{door.secret}".encode()).decode()

    response = client.post("/api/v1/ingest/hikvision", fixture("hikvision/fielddetection.xml"),
                           content_type="application/xml", HTTP_AUTHORIZATION=f"Basic {token}")

    assert response.status_code == 200


# ---------------------------------------------------------------- credentials, vehicles, passes

def test_given_a_resident_of_another_area_when_given_a_credential_here_then_refused(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        add_credential(actor=SYSTEM, resident=world.resident_b, ref_type="card_no", ref="C1", place=world.estate_a)
    assert codes(exc.value) == [("resident_id", "elsewhere")]
    assert counts() == before


def test_given_a_credential_when_added_twice_then_409_and_removing_it_is_audited(world):
    credential = add_credential(actor=world.actor("property_a"), resident=world.resident_a, ref_type="card_no",
                                ref=" 3021457788 ", place=world.estate_a)
    with pytest.raises(Conflict):
        add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="3021457788",
                       place=world.estate_a)

    remove_credential(actor=world.actor("staff_a"), credential=credential)

    assert DeviceCredential.objects.count() == 0
    assert list(AuditEntry.objects.filter(action__startswith="device.credential").order_by("id")
                .values_list("action", "target_label")) == [("device.credential.add", "card_no:3021457788"),
                                                            ("device.credential.remove", "card_no:3021457788")]


def test_given_vehicles_when_registered_then_plates_are_normalised_unique_per_place_and_retired_once(world):
    car = register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂ｌ·12345", owner=world.resident_a)
    with pytest.raises(Conflict):
        register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345")
    with pytest.raises(ValidationFailed):
        register_vehicle(actor=SYSTEM, place=world.estate_a, plate="无车牌")

    retire_vehicle(actor=SYSTEM, vehicle=car)

    assert car.plate == "鄂L12345"
    with pytest.raises(Conflict):
        retire_vehicle(actor=SYSTEM, vehicle=car)
    assert register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345").pk != car.pk


def test_given_visitor_passes_when_issued_then_codes_are_readable_and_bad_periods_refused(world):
    import datetime as dt

    from django.utils import timezone

    guest = issue_visitor_pass(actor=world.actor("property_a"), place=world.estate_a, name="刘先生",
                               host=world.resident_a, plate="鄂A 00001")
    assert len(guest.code) == 8 and not set(guest.code) & set("01OI")
    assert (guest.plate, guest.valid_until - guest.valid_from) == ("鄂A00001", dt.timedelta(days=1))
    now = timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        issue_visitor_pass(actor=SYSTEM, place=world.estate_a, name="", valid_from=now, valid_until=now)
    assert codes(exc.value) == [("name", "required"), ("valid_until", "before_start")]
    with pytest.raises(ValidationFailed):
        issue_visitor_pass(actor=SYSTEM, place=world.estate_a, name="久住", valid_until=now + dt.timedelta(days=91))

    assert revoke_visitor_pass(actor=SYSTEM, visitor_pass=guest).revoked_at is not None
    with pytest.raises(Conflict):
        revoke_visitor_pass(actor=SYSTEM, visitor_pass=guest)
