"""A pending batch that another pass holds (PostgreSQL row locks) is left to that pass: the caller does not wait.

Two ingest processes each process their own batches inline; one pass takes the other's waiting batches along
(SKIP LOCKED). When the other process then reached its own batch it used to wait for the whole of that pass, and
while its processing thread waited its storing stopped too (the processing queue is bounded).
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from linli.devices.models import PendingBatch
from linli.devices.pipeline import process_batch

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
