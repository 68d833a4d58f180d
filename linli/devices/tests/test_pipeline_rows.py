"""The pipeline's cheaper reading and writing: ``load_rows`` (a hand-written query on PostgreSQL) gives exactly the
dicts the ORM gives, and ``pg_array`` literals carry every value unchanged into PostgreSQL. Run on SQLite and on
PostgreSQL (the literals: PostgreSQL only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from linli.alerts.rules import EVENT_FIELDS
from linli.devices.models import DeviceEvent
from linli.devices.pipeline import load_rows
from linli.devices.storage import EventRow, insert_events, int_array, pg_array
from linli.devices.tests.helpers import register

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 4, 23, 0, 3, 27, 123456, tzinfo=dt.UTC)


def test_given_events_of_every_shape_when_loaded_then_the_same_dicts_as_the_orm(world):
    gas = register(world.dwelling_a, kind="gas_sensor", serial="GAS-1").device
    attrs = [{}, {"stationary_s": 200}, {"big": 123456789012345678901234567890, "x": [1.5, None, "值"]},
             {"nested": {"a": {"b": []}}, "t": True}]
    rows = [EventRow(device_id=gas.pk, place_path=gas.place_path, kind="sensor.gas", occurred_at=T0 + dt.timedelta(
        microseconds=i * 7), occurred_at_raw="raw", received_at=T0, external_id=f"k{i}", attrs=a,
        resident_id=world.resident_a.pk if i % 2 else None, score=0.5 if i else None, zone="厨房" if i else "")
        for i, a in enumerate(attrs)]
    ids = insert_events(rows)

    loaded = sorted(load_rows(ids), key=lambda e: e["pk"])
    expected = sorted(DeviceEvent.objects.filter(pk__in=ids).values(*EVENT_FIELDS), key=lambda e: e["pk"])

    assert loaded == expected
    assert [e["attrs"] for e in loaded] == attrs
    assert type(loaded[2]["attrs"]["big"]) is int  # not a float, as orjson would make it
    assert [e["occurred_at"] for e in loaded] == [r.occurred_at for r in rows]
    assert all(e["occurred_at"].utcoffset() == dt.timedelta(0) for e in loaded)
    assert load_rows([]) == []


def test_given_awkward_values_when_sent_as_array_literals_then_postgresql_reads_them_back_unchanged():
    if connection.vendor != "postgresql":
        pytest.skip("array literals: PostgreSQL only")
    texts = ['plain', '', 'NULL', 'a,b', '{x}', 'quote " in', 'back\\slash', 'tab\there', 'new\nline', ' spaced ',
             '值', "it's", None]
    times = [T0, dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8))), None]
    numbers = [0, -5, 2**62, None]
    floats = [0.1, -1e300, 1.0000000000000002, None]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[], %s::timestamptz[], %s::bigint[], %s::float8[], %s::bigint[]",
                       [pg_array(texts), pg_array(times), pg_array(numbers), pg_array(floats), int_array([3, 1, 2])])
        got = cursor.fetchone()
    assert got[0] == texts
    assert got[1] == times
    assert got[2] == numbers
    assert got[3] == floats
    assert got[4] == [3, 1, 2]
