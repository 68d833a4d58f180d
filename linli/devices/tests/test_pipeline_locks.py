"""A pending batch that another pass holds (PostgreSQL row locks) is left to that pass: the caller does not wait.

Two ingest processes each process their own batches inline; one pass takes the other's waiting batches along
(SKIP LOCKED). When the other process then reached its own batch it used to wait for the whole of that pass, and
while its processing thread waited its storing stopped too (the processing queue is bounded).

Alert writes, though, are one pass at a time: two passes opening and counting the same alerts deadlocked.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import OperationalError, connection

from linli.devices.models import PendingBatch
from linli.devices.pipeline import process_batch
from linli.devices.storage import EventRow, insert_events
from linli.devices.tests.helpers import register

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as test_reliability.py


def _other_connection() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(dbname=s["NAME"], user=s["USER"] or None, password=s["PASSWORD"] or None,
                           host=s["HOST"] or None, port=s["PORT"] or None)


def test_given_another_pass_holds_the_batch_when_processing_it_then_it_is_left_to_that_pass_at_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    batch = PendingBatch.objects.create(event_ids=[])
    other = _other_connection()
    try:
        other.execute("SELECT id FROM devices_pendingbatch WHERE id = %s FOR UPDATE", [batch.pk])
        with connection.cursor() as cursor:  # waiting would end in an error here instead of a hang
            cursor.execute("SET lock_timeout = '5s'")
        assert process_batch(batch.pk) is False
        assert PendingBatch.objects.filter(pk=batch.pk).exists()  # still pending: the other pass's to finish
    finally:
        other.rollback()  # the other pass failed: the batch is still there for the next pass or the sweeper
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert process_batch(batch.pk) is True
    assert not PendingBatch.objects.filter(pk=batch.pk).exists()


def test_given_another_pass_writes_alerts_when_processing_then_its_alert_writes_wait_for_that_pass(world):
    """Opening and counting alerts waits for another pass's alert writes to end (an advisory lock held to the end of
    that pass's transaction): the two no longer deadlock. Reading and evaluating the events do not wait."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks: PostgreSQL only (SQLite has one writer at a time)")
    from linli.alerts.actions import WRITERS_LOCK
    from linli.alerts.models import Alert

    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1").device
    at = dt.datetime(2026, 4, 23, 0, 3, 27, tzinfo=dt.UTC)
    ids = insert_events([EventRow(device_id=camera.pk, place_path=camera.place_path, kind="camera.thrown_object",
                                  occurred_at=at, occurred_at_raw="", received_at=at, external_id="e1", score=0.9)])
    batch = PendingBatch.objects.create(event_ids=ids)
    other = _other_connection()
    try:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [WRITERS_LOCK])  # a pass writing alerts, not yet committed
        with connection.cursor() as cursor:  # waiting ends in an error here instead of a hang
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            process_batch(batch.pk)
        assert PendingBatch.objects.filter(pk=batch.pk).exists()  # nothing done: the batch waits for its next pass
    finally:
        other.rollback()  # that pass ends
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert process_batch(batch.pk) is True
    assert not PendingBatch.objects.filter(pk=batch.pk).exists()
    assert Alert.objects.filter(kind="thrown_object", device=camera).count() == 1
