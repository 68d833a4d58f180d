"""A processing pass reads back only the events of the rules' kinds: ingest keeps a summary of every batch it
stores (the ids by kind, each resident's latest passage, each device's newest event) and the pass writes last-seen
and last-event times from it. A batch without one (written before summaries existed) is read from the events and
ends the same."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.actor import Actor
from linli.core.times import to_micros
from linli.devices.actions import add_credential
from linli.devices.adapters import parse_generic
from linli.devices.ingest import processing_inline, record_device_events
from linli.devices.models import Device, DeviceEvent, PendingBatch, PersonPresence
from linli.devices.pipeline import Summary, process_batch, read_summary
from linli.devices.tests.helpers import register

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
T0 = dt.datetime(2026, 4, 23, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def door(world):
    door = register(world.entrance_a, serial="DOOR-A").device
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", device=door)
    return door


def store(device, *events: dict) -> PendingBatch:
    """Events stored as ingest stores them; the batch left pending (as in a worker's queue)."""
    result = parse_generic(json.dumps({"events": list(events)}).encode(), default_device=device.serial)
    with processing_inline() as batches:
        record_device_events(device=device, vendor=device.vendor, source="generic", events=result.events,
                             received_at=T0)
    return PendingBatch.objects.get(pk=batches[0])


def card(ref: str, at: str, key: str) -> dict:
    return {"kind": "passage.card", "time": at, "id": key,
            "subject": {"kind": "resident", "ref": ref, "ref_type": "card_no"}}


def normal(summary: Summary) -> tuple:
    return {k: sorted(v) for k, v in summary.kinds.items() if v}, summary.presence, summary.devices


def test_given_passages_when_stored_then_the_batch_carries_their_summary(world, door):
    batch = store(door, card("C1", "2026-04-23T08:05:00+08:00", "late-but-newest"),
                  card("C1", "2026-04-23T08:00:00+08:00", "older"), card("X9", "2026-04-23T08:07:00+08:00", "stranger"),
                  {"kind": "device.heartbeat", "time": "2026-04-23T08:09:00+08:00"})

    summary = Summary.loads(batch.summary)
    newest = DeviceEvent.objects.get(external_id="generic:DOOR-A:late-but-newest")
    assert summary.presence == {world.resident_a.pk: (to_micros(newest.occurred_at), newest.pk, door.pk,
                                                      world.entrance_a.path, "passage.card")}
    assert summary.devices == {door.pk: to_micros(dt.datetime(2026, 4, 23, 0, 7, tzinfo=dt.UTC))}  # the stranger's
    stored = list(DeviceEvent.objects.order_by("pk").values_list("pk", flat=True))
    assert summary.event_ids() == stored and sorted(summary.kinds["passage.card"]) == stored  # no heartbeat stored
    assert batch.event_ids == []  # the summary holds them
    assert normal(summary) == normal(read_summary(stored))  # what reading the events gives


def test_given_a_batch_of_passages_when_processed_then_the_events_are_not_read_again(world, door):
    batch = store(door, card("C1", "2026-04-23T08:05:00+08:00", "a"), card("C1", "2026-04-23T08:00:00+08:00", "b"))

    with CaptureQueriesContext(connection) as queries:
        assert process_batch(batch.pk) is True

    assert not [q for q in queries.captured_queries if "devices_deviceevent" in q["sql"]]
    presence = PersonPresence.objects.get(resident=world.resident_a)
    assert presence.last_seen_at == dt.datetime(2026, 4, 23, 0, 5, tzinfo=dt.UTC)
    assert presence.last_event_id == DeviceEvent.objects.get(external_id="generic:DOOR-A:a").pk
    assert Device.objects.get(pk=door.pk).last_event_at == dt.datetime(2026, 4, 23, 0, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize("with_summary", [True, False])
def test_given_a_batch_with_or_without_a_summary_when_processed_then_the_same_times_and_alerts(world, door,
                                                                                                 with_summary):
    camera = register(world.estate_a, kind="ai_camera", serial="CAM-1").device
    passages = store(door, card("C1", "2026-04-23T08:05:00+08:00", "a"), card("C1", "2026-04-23T08:01:00+08:00", "b"))
    thrown = store(camera, {"kind": "camera.thrown_object", "time": "2026-04-23T08:03:00+08:00", "score": 0.9})
    if not with_summary:  # as written before summaries existed: the ids only
        for batch in PendingBatch.objects.all():
            batch.event_ids, batch.summary = Summary.loads(batch.summary).event_ids(), ""
            batch.save()

    assert process_batch(passages.pk) is True  # and the other batch with it (PostgreSQL) or on its own
    process_batch(thrown.pk)

    assert not PendingBatch.objects.exists()
    assert PersonPresence.objects.get(resident=world.resident_a).last_seen_at == dt.datetime(2026, 4, 23, 0, 5,
                                                                                            tzinfo=dt.UTC)
    assert dict(Device.objects.filter(pk__in=[door.pk, camera.pk]).values_list("pk", "last_event_at")) == {
        door.pk: dt.datetime(2026, 4, 23, 0, 5, tzinfo=dt.UTC), camera.pk: dt.datetime(2026, 4, 23, 0, 3, tzinfo=dt.UTC)}
    from linli.alerts.models import Alert

    assert list(Alert.objects.values_list("kind", "count")) == [("thrown_object", 1)]


def test_given_summaries_of_several_batches_when_merged_then_the_latest_passage_and_newest_event_win():
    first, second = Summary(), Summary()
    first.add(10, "passage.card", 1, 7, 500, "/a/", )
    first.add(11, "passage.face", 2, 7, 500, "/b/")  # the same moment: the higher id wins
    first.add(12, "camera.motion", 3, None, 900, "/c/")
    second.add(13, "passage.card", 1, 7, 400, "/a/")  # late: changes nothing
    second.add(14, "device.heartbeat", 1, None, 999, "/a/")  # liveness: not an event time
    second.add(15, "passage.plate", 2, 8, 600, "/b/")

    first.merge(second)

    assert first.presence == {7: (500, 11, 2, "/b/", "passage.face"), 8: (600, 15, 2, "/b/", "passage.plate")}
    assert first.devices == {1: 500, 2: 600, 3: 900}
    assert first.ids_of(["passage.card", "camera.motion", "wristband.sos"]) == [10, 13, 12]
    assert normal(Summary.loads(first.dumps())) == normal(first)
