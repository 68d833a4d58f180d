"""The batch writer against a concurrent writer of the same key (PostgreSQL): another ingest process storing a
resend holds the insert lock, so the batch waits for it and then skips the key it stored; a row written without
the lock makes the COPY give way to the insert that skips any key. Either way one row per key, and the ids returned
are exactly the rows this batch wrote."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg
import pytest
from django.db import connection

from linli.devices import storage
from linli.devices.models import DeviceEvent
from linli.devices.storage import EventRow, insert_events
from linli.devices.tests.helpers import register

T0 = dt.datetime(2026, 4, 23, 0, 3, 27, tzinfo=dt.UTC)


def row(device, key: str) -> EventRow:
    return EventRow(device_id=device.pk, place_path=device.place_path, kind="sensor.gas", occurred_at=T0,
                    occurred_at_raw="2026-04-23T08:03:27+08:00", received_at=T0, external_id=key)


@pytest.fixture
def gas(world):
    return register(world.dwelling_a, kind="gas_sensor", serial="GAS-1").device


def _other_connection() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(dbname=s["NAME"], user=s["USER"] or None, password=s["PASSWORD"] or None,
                           host=s["HOST"] or None, port=s["PORT"] or None)


def _insert_elsewhere(other: psycopg.Connection, device, key: str) -> int:
    """The key written by another session, in a transaction left open."""
    return other.execute(
        "INSERT INTO devices_deviceevent (device_id, place_path, kind, occurred_at, occurred_at_raw, received_at, "
        "external_id, subject_kind, subject_ref, subject_ref_type, unit, zone, direction, state, attrs, media, raw) "
        "VALUES (%s, %s, 'sensor.gas', %s, '', %s, %s, 'none', '', '', '', '', 'unknown', 'pulse', '{}', '[]', '') "
        "RETURNING id", [device.pk, device.place_path, T0, T0, key]).fetchone()[0]


def _keys(ids: list[int]) -> list[str]:
    return sorted(DeviceEvent.objects.filter(pk__in=ids).values_list("external_id", flat=True))


def _commit_once_waiting(other: psycopg.Connection, waited: threading.Event) -> threading.Thread:
    """A thread that commits ``other`` as soon as this test's session waits for a lock (or after 30 s)."""
    watcher = _other_connection()
    watcher.autocommit = True
    connection.ensure_connection()
    me = connection.connection.info.backend_pid

    def run() -> None:
        try:
            until = time.monotonic() + 30
            while time.monotonic() < until:
                state = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                        [me]).fetchone()
                if state and state[0] == "Lock":
                    waited.set()
                    break
                time.sleep(0.01)
            other.commit()
        finally:
            watcher.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_given_another_ingest_process_stores_a_key_of_the_batch_meanwhile_then_the_batch_waits_and_skips_it(
        gas, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent sessions: PostgreSQL only")
    given_way = []
    monkeypatch.setattr(storage, "_insert_on_conflict", lambda *a: given_way.append(a) or [])
    other = _other_connection()
    waited = threading.Event()
    try:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [storage.INSERT_LOCK])  # as store_events takes it
        theirs = _insert_elsewhere(other, gas, "dup")
        committer = _commit_once_waiting(other, waited)
        ids = insert_events([row(gas, "k1"), row(gas, "dup"), row(gas, "k2")])
        committer.join()
    finally:
        other.close()

    assert waited.is_set()  # the batch did wait for the other process's lock
    assert given_way == []  # the probe after the wait found the key: the COPY went through
    assert len(ids) == 2 and _keys(ids) == ["k1", "k2"]
    assert list(DeviceEvent.objects.filter(external_id="dup").values_list("pk", flat=True)) == [theirs]
    assert DeviceEvent.objects.count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_given_a_row_written_without_the_lock_meanwhile_then_the_copy_gives_way_and_the_key_is_skipped(gas):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent sessions: PostgreSQL only")
    other = _other_connection()
    waited = threading.Event()
    try:
        theirs = _insert_elsewhere(other, gas, "dup")  # no insert lock: the probe cannot see it yet
        committer = _commit_once_waiting(other, waited)
        ids = insert_events([row(gas, "k1"), row(gas, "dup"), row(gas, "k2")])
        committer.join()
    finally:
        other.close()

    assert waited.is_set()  # the COPY did meet the other session's uncommitted key
    assert len(ids) == 2 and _keys(ids) == ["k1", "k2"]
    assert list(DeviceEvent.objects.filter(external_id="dup").values_list("pk", flat=True)) == [theirs]
    assert DeviceEvent.objects.count() == 3


@pytest.mark.django_db
def test_given_a_key_stored_in_the_same_transaction_when_written_again_then_it_is_skipped(gas):
    """Two batches in one transaction: the second sees the first's rows (and the load table holds no rows of the
    first to insert again)."""
    from django.db import transaction

    with transaction.atomic():
        first = insert_events([row(gas, "x"), row(gas, "y")])
        second = insert_events([row(gas, "y"), row(gas, "z")])

    assert _keys(first) == ["x", "y"] and _keys(second) == ["z"]
    assert DeviceEvent.objects.count() == 3


@pytest.mark.django_db
def test_given_the_insert_that_skips_any_key_then_its_rows_go_in_key_order(gas, world):
    """The way a batch takes when a key turns up after the probe: transactions whose rows share keys lock them in the
    same order, so one waits for the other instead of both waiting for each other (a deadlock: one batch undone and
    stored again a second later). The statement returns its rows as it inserted them; their ids still follow the
    batch's order."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent sessions: PostgreSQL only (SQLite has one writer at a time)")
    smoke = register(world.dwelling_a, kind="smoke_sensor", serial="SMK-1").device
    keys = ["b", "a", "B", "c10", "c9", "值", "a "]
    rows = [row(device, key) for key in keys for device in (smoke, gas)]

    with connection.cursor() as cursor:
        inserted = storage._insert_on_conflict(cursor, rows)

    in_insert_order = [(device_id, key) for _, device_id, key in inserted]
    assert in_insert_order == sorted(in_insert_order, key=lambda k: (k[0], k[1].encode()))  # bytes: "C" collation
    by_id = [(device_id, key) for _, device_id, key in sorted(inserted)]
    assert by_id == [(r.device_id, r.external_id) for r in rows]
    assert list(DeviceEvent.objects.order_by("pk").values_list("device_id", "external_id")) == by_id
