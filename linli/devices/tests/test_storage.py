"""The batch writer: one row per idempotency key whatever is sent, only new ids returned, a constant number of
statements per batch (COPY on PostgreSQL), and values stored exactly. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.devices.models import DeviceEvent
from linli.devices.storage import EventRow, insert_events, store_events
from linli.devices.tests.helpers import register

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 4, 23, 0, 3, 27, 123456, tzinfo=dt.UTC)


def row(device, key: str, **extra) -> EventRow:
    return EventRow(device_id=device.pk, place_path=device.place_path, kind="sensor.gas", occurred_at=T0,
                    occurred_at_raw="2026-04-23T08:03:27.123456+08:00", received_at=T0 + dt.timedelta(seconds=2),
                    external_id=key, **extra)


@pytest.fixture
def gas(world):
    return register(world.dwelling_a, kind="gas_sensor", serial="GAS-1").device


def test_given_the_same_key_twice_when_inserted_in_two_batches_then_one_row_and_no_id_the_second_time(gas):
    first = insert_events([row(gas, "generic:GAS-1:1")])
    second = insert_events([row(gas, "generic:GAS-1:1", value=9.0)])

    assert len(first) == 1 and second == []
    assert list(DeviceEvent.objects.values_list("pk", "value")) == [(first[0], None)]


def test_given_a_batch_repeating_a_key_and_one_stored_before_when_inserted_then_only_new_keys_get_rows(gas):
    [old] = insert_events([row(gas, "k0")])

    ids = insert_events([row(gas, "k1"), row(gas, "k0"), row(gas, "k1"), row(gas, "k2")])

    assert sorted(DeviceEvent.objects.filter(pk__in=ids).values_list("external_id", flat=True)) == ["k1", "k2"]
    assert sorted(DeviceEvent.objects.values_list("external_id", flat=True)) == ["k0", "k1", "k2"]
    assert old not in ids


def test_given_the_same_key_on_two_devices_when_inserted_then_each_device_keeps_its_own_event(world, gas):
    other = register(world.dwelling_a2, kind="gas_sensor", serial="GAS-2").device

    ids = insert_events([row(gas, "same"), row(other, "same")])

    assert len(ids) == 2


def test_given_every_column_when_stored_then_read_back_exactly(world, gas):
    values = dict(subject_kind="resident", subject_ref="卡-0001", subject_ref_type="card_no",
                  resident_id=world.resident_a.pk, score=0.9731, value=850.5, unit="ppm", zone="厨房", direction="in",
                  state="start", attrs={"电量": 64, "ok": True, "tags": ["a", "b"], "none": None},
                  media=[{"name": "scene.jpg", "file": "devices/1/x.jpg", "size": 170}], raw='{"k": "值"}')

    [pk] = insert_events([row(gas, "full", **values)])

    stored = DeviceEvent.objects.get(pk=pk)
    assert {k: getattr(stored, k) for k in values} == values
    assert (stored.occurred_at, stored.received_at, stored.occurred_at_raw) == (
        T0, T0 + dt.timedelta(seconds=2), "2026-04-23T08:03:27.123456+08:00")


def test_given_1200_rows_when_inserted_then_a_handful_of_statements_not_one_per_row(gas):
    rows = [row(gas, f"bulk:{i}", value=float(i)) for i in range(1200)]

    with CaptureQueriesContext(connection) as ctx:
        ids = insert_events(rows)

    assert len(ids) == 1200
    assert DeviceEvent.objects.filter(value=1199.0).count() == 1
    # SQLite: three INSERT ... VALUES of 500 rows; PostgreSQL: the insert lock, the stored-key probe and the ids,
    # then the COPY (not a query the context sees).
    statements = [q["sql"].split("(")[0].split()[:2] for q in ctx.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SELECT pg_get_serial_sequence"))]
    if connection.vendor == "postgresql":
        assert statements == [["SELECT", "pg_advisory_xact_lock"], ["SELECT", "k.i"], ["SELECT", "nextval"]]
    else:
        assert statements == [["INSERT", "INTO"]] * 3


def test_given_postgresql_when_a_batch_is_written_then_it_is_copied_straight_into_the_event_table(gas):
    insert_events([row(gas, "copied")])

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass('linli_event_load') IS NOT NULL")
        else:
            cursor.execute("SELECT COUNT(*) > 0 FROM sqlite_temp_master WHERE name = 'linli_event_load'")
        exists = bool(cursor.fetchone()[0])
    assert exists is False  # no load table: it is made only when a key turns up after the probe


def test_given_rows_when_stored_then_their_ids_follow_the_batch_order(gas, world):
    smoke = register(world.dwelling_a, kind="smoke_sensor", serial="SMK-1").device
    rows = [row(device, key) for key in ["b", "a", "B", "c10", "c9", "值", "a "] for device in (smoke, gas)]

    inserted = store_events(rows)

    assert [r for _, r in inserted] == rows
    ids = [pk for pk, _ in inserted]
    assert ids == sorted(ids)
    assert list(DeviceEvent.objects.order_by("pk").values_list("device_id", "external_id")) == [
        (r.device_id, r.external_id) for r in rows]


def test_given_no_rows_when_inserted_then_nothing_is_sent(gas):
    with CaptureQueriesContext(connection) as ctx:
        assert insert_events([]) == []
    assert ctx.captured_queries == []
