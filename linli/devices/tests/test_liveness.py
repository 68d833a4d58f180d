"""Online and offline: signs of life mark a device online without storing an event, a periodic sweep over stored
times marks silent devices offline once (restart-safe), a device that comes back says so, and batches whose task
was lost are processed by the sweeper."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.actor import Actor
from linli.devices.actions import retire_device, update_device
from linli.devices.ingest import mark_seen, sweep_offline_devices
from linli.devices.models import Device, DeviceEvent, PendingBatch, PersonPresence
from linli.devices.pipeline import process_batch, redrive_pending
from linli.devices.tasks import sweep_devices
from linli.devices.tests.helpers import register
from linli.devices.tests.payloads import fixture

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 4, 23, 2, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("test")


def seen_at(device: Device, at: dt.datetime) -> Device:
    mark_seen([Device.objects.get(pk=device.pk)], at)
    return Device.objects.get(pk=device.pk)


def liveness_events() -> list[tuple]:
    return list(DeviceEvent.objects.order_by("id").values_list("device__serial", "kind", "occurred_at", "external_id"))


def test_given_a_sign_of_life_when_noted_then_online_until_its_threshold_and_no_event(world):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1", offline_after=10).device

    device = seen_at(camera, T0)

    assert (device.status, device.last_seen_at, device.stale_at) == ("online", T0, T0 + dt.timedelta(minutes=10))
    assert DeviceEvent.objects.count() == 0


def test_given_signs_of_life_seconds_apart_when_noted_then_the_row_is_rewritten_at_most_every_five_seconds(world):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1").device
    seen_at(camera, T0)

    assert seen_at(camera, T0 + dt.timedelta(seconds=3)).last_seen_at == T0
    assert seen_at(camera, T0 + dt.timedelta(seconds=6)).last_seen_at == T0 + dt.timedelta(seconds=6)


def test_given_a_device_silent_past_its_threshold_when_swept_twice_then_offline_with_one_event(world):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1", offline_after=10).device
    seen_at(camera, T0)

    early = sweep_offline_devices(T0 + dt.timedelta(minutes=9, seconds=59))
    first = sweep_offline_devices(T0 + dt.timedelta(minutes=11))
    again = sweep_offline_devices(T0 + dt.timedelta(minutes=30))

    assert early == [] and len(first) == 1 and again == []
    assert Device.objects.get(pk=camera.pk).status == "offline"
    assert liveness_events() == [
        ("CAM-1", "device.offline", T0 + dt.timedelta(minutes=10), f"linli:offline:{camera.pk}:{T0.isoformat()}")]


def test_given_an_offline_device_when_it_speaks_again_then_online_with_a_device_online_event(world, client):
    band = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417")
    seen_at(band.device, T0)
    sweep_offline_devices(T0 + dt.timedelta(minutes=11))

    response = band.push(client, "generic", fixture("generic/heart_rate.json"))

    assert response.json() == {"stored": 2, "duplicates": 0, "quarantined": 0, "liveness": 0}
    assert [k for _s, k, _t, _e in liveness_events()] == ["device.offline", "wristband.heart_rate", "device.online"]
    assert Device.objects.get(pk=band.pk).status == "online"


def test_given_disabled_retired_and_never_seen_devices_when_swept_then_none_goes_offline(world):
    disabled = register(world.estate_a, kind="ai_camera", serial="CAM-1").device
    retired = register(world.estate_a, kind="ai_camera", serial="CAM-2").device
    register(world.estate_a, kind="ai_camera", serial="CAM-3")
    for device in (disabled, retired):
        seen_at(device, T0)
    update_device(actor=SYSTEM, device=disabled, enabled=False)
    retire_device(actor=SYSTEM, device=retired)

    assert sweep_offline_devices(T0 + dt.timedelta(days=1)) == []
    assert sorted(Device.objects.values_list("serial", "status")) == [
        ("CAM-1", "online"), ("CAM-2", "online"), ("CAM-3", "unknown")]


def test_given_the_periodic_task_when_it_runs_then_silent_devices_go_offline_from_stored_times(world):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1", offline_after=1).device
    seen_at(camera, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))  # long ago: the consumer was down since

    sweep_devices.call_local()

    assert Device.objects.get(pk=camera.pk).status == "offline"
    assert DeviceEvent.objects.get().kind == "device.offline"


def test_given_a_gateway_announcing_a_sensor_offline_when_pushed_then_the_sensor_is_offline_at_once(world, client):
    gateway = register(world.estate_a, kind="sensor_gateway", serial="GW-1")
    sensor = register(world.dwelling_a, kind="smoke_sensor", serial="SMK-1", gateway=gateway.device).device
    seen_at(sensor, T0)
    body = b'{"device": "SMK-1", "kind": "device.offline", "time": "2026-04-23T10:30:00+08:00"}'

    response = gateway.push(client, "generic", body)

    assert response.json() == {"stored": 1, "duplicates": 0, "quarantined": 0, "liveness": 1}
    assert Device.objects.get(pk=sensor.pk).status == "offline"
    assert Device.objects.get(pk=gateway.pk).status == "online"
    assert [(s, k, t) for s, k, t, _e in liveness_events()] == [
        ("SMK-1", "device.offline", dt.datetime(2026, 4, 23, 2, 30, tzinfo=dt.UTC))]


def test_given_a_batch_whose_task_never_ran_when_the_sweeper_runs_then_it_is_processed_once(world, client):
    from linli.devices.actions import add_credential

    door = register(world.entrance_a, vendor="dahua", serial="DH-DOOR-1")
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="employee_no", ref="1021", device=door.device)
    door.push(client, "dahua", fixture("dahua/upload_access.json"))  # the test transaction never commits: no task
    batch = PendingBatch.objects.get()
    late = batch.created_at + dt.timedelta(minutes=2)

    assert redrive_pending(batch.created_at) == 0  # not yet left behind
    assert redrive_pending(late) == 1
    assert redrive_pending(late) == 0
    assert PendingBatch.objects.count() == 0
    assert process_batch(batch.pk) is False
    presence = PersonPresence.objects.get()
    assert (presence.resident_id, presence.last_seen_at, presence.last_device_id) == (
        world.resident_a.pk, dt.datetime(2026, 4, 22, 23, 50, 12, tzinfo=dt.UTC), door.pk)


def test_given_batches_waiting_when_one_is_processed_then_the_worker_catches_up_on_postgresql_only(world, client):
    from django.db import connection

    band = register(world.dwelling_a, kind="wristband", serial="WB-2026-00417")
    for n in range(3):  # three requests, three pending batches (the test transaction never commits: no tasks)
        body = (f'{{"device": "WB-2026-00417", "kind": "wristband.heart_rate", "id": "hr-{n}", "value": 90, '
                f'"time": "2026-04-23T06:1{n}:00+08:00"}}').encode()
        assert band.push(client, "generic", body).json()["stored"] == 1
    first, *rest = PendingBatch.objects.order_by("pk")

    assert process_batch(first.pk) is True

    if connection.features.has_select_for_update_skip_locked:  # PostgreSQL: the waiting batches went along
        assert PendingBatch.objects.count() == 0
        assert [process_batch(b.pk) for b in rest] == [False, False]
    else:  # SQLite (one writer at a time): one batch per pass
        assert list(PendingBatch.objects.order_by("pk")) == rest
        assert [process_batch(b.pk) for b in rest] == [True, True]
    assert Device.objects.get(pk=band.pk).last_event_at == dt.datetime(2026, 4, 22, 22, 12, tzinfo=dt.UTC)
