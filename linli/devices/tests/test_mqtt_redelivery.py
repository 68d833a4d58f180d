"""What operators see in quarantine when the broker delivers a message again (its DUP flag set after a lost
acknowledgement: an ingest process killed between its commit and its PUBACKs), and where Frigate messages that
cannot be read are kept."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.core.actor import Actor
from linli.core.errors import Conflict
from linli.devices import mqtt
from linli.devices.actions import reprocess_quarantined
from linli.devices.choices import Source
from linli.devices.models import DeviceEvent, QuarantinedPayload
from linli.devices.tests.helpers import register
from linli.devices.tests.test_mqtt_fast import CONFIG, drain, encoded, generic, lean_client, read_all


def message(serial: str, payload: bytes, mid: int = 1, *, dup: bool = False) -> mqtt.Message:
    return mqtt.Message(f"linli/{serial}/events", payload, mid, 1, 0.0, 1, dup)


def kept() -> list[tuple[str, str, bytes]]:
    return sorted((q.device_ref, q.reason_code, bytes(q.payload)) for q in QuarantinedPayload.objects.all())


def test_given_publish_packets_with_and_without_the_dup_flag_when_read_then_each_message_says_which():
    stream = (encoded(1, "linli/A/events", b"first", 1) + encoded(2, "linli/A/events", b"again", 1, dup=True)
              + encoded(3, "linli/A/events", b"q0", 0))
    client, inbox = lean_client([stream])

    read_all(client)

    assert [(m.payload, m.dup) for m in drain(inbox)] == [(b"first", False), (b"again", True), (b"q0", False)]


@pytest.mark.django_db
def test_given_a_malformed_payload_when_redelivered_then_it_is_kept_once(world):
    register(world.dwelling_a, kind="wristband", serial="WB-DUP")
    bad = b'{"kind": "wristband.sos", "time": "not a time"}'

    first = mqtt.store_batch([message("WB-DUP", bad, 1)], CONFIG, timezone.now())
    again = mqtt.store_batch([message("WB-DUP", bad, 1, dup=True)], CONFIG, timezone.now())

    assert (first.quarantined, again.quarantined) == (1, 0)
    assert len(kept()) == 1 and kept()[0][2] == bad


@pytest.mark.django_db
def test_given_the_same_malformed_payload_sent_twice_by_the_device_then_both_are_kept(world):
    """Without the DUP flag the second one is a new message: the device really sent it again."""
    register(world.dwelling_a, kind="wristband", serial="WB-TWICE")
    bad = b"not json"

    mqtt.store_batch([message("WB-TWICE", bad, 1)], CONFIG, timezone.now())
    mqtt.store_batch([message("WB-TWICE", bad, 2)], CONFIG, timezone.now())

    assert [row[:2] for row in kept()] == [("WB-TWICE", "invalid_json")] * 2


@pytest.mark.django_db
def test_given_a_redelivered_message_that_was_never_stored_then_it_is_kept(world):
    """A DUP message whose first delivery died before its commit: nothing of it exists, so it is kept now."""
    register(world.dwelling_a, kind="wristband", serial="WB-LOST")

    outcome = mqtt.store_batch([message("WB-LOST", b"not json", 9, dup=True)], CONFIG, timezone.now())

    assert outcome.quarantined == 1 and [row[:2] for row in kept()] == [("WB-LOST", "invalid_json")]


@pytest.mark.django_db
def test_given_a_batch_with_a_bad_member_when_redelivered_then_its_events_and_its_reject_are_kept_once(world):
    register(world.dwelling_a, kind="wristband", serial="WB-BATCH")
    batch = json.dumps({"events": [
        {"kind": "wristband.sos", "time": "2026-04-23T08:00:00+08:00", "id": "ok-1"},
        {"kind": "wristband.sos", "time": "yesterday", "id": "bad-1"},
    ]}).encode()

    mqtt.store_batch([message("WB-BATCH", batch, 4)], CONFIG, timezone.now())
    mqtt.store_batch([message("WB-BATCH", batch, 4, dup=True)], CONFIG, timezone.now())

    assert list(DeviceEvent.objects.filter(kind="wristband.sos").values_list("external_id", flat=True)) == [
        "generic:WB-BATCH:ok-1"]
    rows = list(QuarantinedPayload.objects.values_list("source", "device_ref", "reason_code"))
    assert len(rows) == 1 and rows[0][:2] == (Source.GENERIC_MEMBER, "WB-BATCH")


@pytest.mark.django_db
def test_given_a_redelivered_message_with_another_good_one_then_the_good_one_is_stored(world):
    register(world.dwelling_a, kind="wristband", serial="WB-MIX")
    mqtt.store_batch([message("WB-MIX", b"not json", 1)], CONFIG, timezone.now())

    outcome = mqtt.store_batch([message("WB-MIX", b"not json", 1, dup=True),
                                message("WB-MIX", generic("fresh"), 2)], CONFIG, timezone.now())

    assert (outcome.stored, outcome.quarantined) == (1, 0)
    assert len(kept()) == 1


@pytest.mark.django_db
def test_given_an_unreadable_frigate_message_then_it_is_kept_under_the_registered_frigate_server(world):
    server = register(world.estate_a, kind="nvr", vendor="frigate", serial="frigate", name="Frigate")

    mqtt.store_batch([mqtt.Message("frigate/events", b"{broken", 1, 1, 0.0, 1),
                      mqtt.Message("frigate_other/events", b"{broken", 2, 1, 0.0, 1)], CONFIG, timezone.now())

    rows = {q.device_ref: (q.device_id, q.place_path) for q in QuarantinedPayload.objects.all()}
    # frigate_other is not this consumer's Frigate prefix: an unknown topic, kept without a place
    assert rows["frigate"] == (server.pk, world.estate_a.path)
    assert len(rows) == 2 and rows[""] == (None, "")


@pytest.mark.django_db
def test_given_a_frigate_row_under_its_server_then_it_cannot_be_reprocessed_and_shows_no_button(world):
    register(world.estate_a, kind="nvr", vendor="frigate", serial="frigate", name="Frigate")
    mqtt.store_batch([mqtt.Message("frigate/reviews", b"[1, 2]", 1, 1, 0.0, 1)], CONFIG, timezone.now())
    row = QuarantinedPayload.objects.get()
    client = Client()
    client.force_login(world.users["sysadmin"])

    with pytest.raises(Conflict) as refused:
        reprocess_quarantined(actor=Actor.system("test"), item=row)
    page = client.get(reverse("devices:quarantine_detail", args=[row.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert refused.value.code == "not_reprocessable" and "Frigate" in refused.value.message_en
    assert page.status_code == 200 and "Frigate" in page.content.decode()
    assert reverse("devices:quarantine_reprocess", args=[row.pk]) not in page.content.decode()
    assert QuarantinedPayload.objects.get().status == "open"
