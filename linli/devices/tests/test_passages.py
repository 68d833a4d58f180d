"""Passages: door and gate events resolve to residents (credentials on the device or a place above it), vehicles
and their owners, or visitor passes, never to another community's records; last-seen times move only forward, in
one statement per batch; staff search passages by person, plate, place and time inside their scope."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from linli.core.actor import Actor
from linli.core.errors import NotFound
from linli.devices.actions import add_credential, issue_visitor_pass, register_vehicle
from linli.devices.adapters import parse_generic
from linli.devices.ingest import record_device_events
from linli.devices.models import DeviceEvent, PersonPresence
from linli.devices.pipeline import after_store, read_summary, update_presence
from linli.devices.queries import PassageFilter, search_passages
from linli.devices.tests.helpers import register

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
T0 = dt.datetime(2026, 4, 23, 0, 0, tzinfo=dt.UTC)


def push(device, *events: dict) -> list[int]:
    """Record generic events for ``device`` as the HTTP endpoint does, then run the pipeline on them."""
    body = {"events": [{"time": "2026-04-23T08:00:00+08:00", **e} for e in events]}
    result = parse_generic(json.dumps(body).encode(), default_device=device.serial)
    outcome = record_device_events(device=device, vendor=device.vendor, source="generic", events=result.events,
                                   received_at=T0)
    after_store(outcome.stored)
    return outcome.stored


def card(ref: str, at: str = "2026-04-23T08:00:00+08:00", **extra) -> dict:
    return {"kind": "passage.card", "time": at, "subject": {"kind": "resident", "ref": ref, "ref_type": "card_no"},
            **extra}


def plate(ref: str, at: str = "2026-04-23T08:00:00+08:00") -> dict:
    return {"kind": "passage.plate", "time": at, "subject": {"kind": "plate", "ref": ref}, "direction": "in"}


@pytest.fixture
def door(world):
    return register(world.entrance_a, serial="DOOR-A").device


@pytest.fixture
def gate(world):
    return register(world.estate_a, kind="barrier_gate", serial="GATE-A").device


def resolved() -> list[tuple]:
    return list(DeviceEvent.objects.order_by("id").values_list("resident_id", "vehicle_id", "visitor_id"))


# ---------------------------------------------------------------- resolution

def test_given_credentials_on_the_device_and_on_places_above_when_resolved_then_the_nearest_wins(world, door):
    from linli.people.actions import register_resident

    second = register_resident(actor=SYSTEM, place=world.dwelling_a2, name="张桂兰", relation="head")
    third = register_resident(actor=SYSTEM, place=world.dwelling_a2, name="赵敏", relation="member")
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", place=world.community_a)
    add_credential(actor=SYSTEM, resident=second, ref_type="card_no", ref="C1", place=world.estate_a)
    add_credential(actor=SYSTEM, resident=third, ref_type="card_no", ref="C2", place=world.estate_a)
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C2", device=door)

    push(door, card("C1"), card("C2"), card("C3"))

    assert resolved() == [(second.pk, None, None), (world.resident_a.pk, None, None), (None, None, None)]


def test_given_the_same_card_number_in_another_community_when_a_door_reads_it_then_nobody_is_named(world, door):
    add_credential(actor=SYSTEM, resident=world.resident_b, ref_type="card_no", ref="C9", place=world.estate_b)

    push(door, card("C9"))

    assert resolved() == [(None, None, None)]


def test_given_a_card_registered_as_employee_number_when_read_as_a_card_then_no_match(world, door):
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="employee_no", ref="C1", place=world.estate_a)

    push(door, card("C1"))

    assert resolved() == [(None, None, None)]


def test_given_plates_when_a_gate_reads_them_then_the_car_of_this_area_and_its_owner_or_a_visitor_pass(world, gate):
    car = register_vehicle(actor=SYSTEM, place=world.dwelling_a, plate="鄂L12345", owner=world.resident_a)
    register_vehicle(actor=SYSTEM, place=world.estate_b, plate="鄂L99999", owner=world.resident_b)
    guest = issue_visitor_pass(actor=SYSTEM, place=world.estate_a, name="刘先生", plate="鄂A 00001",
                               valid_from=T0 - dt.timedelta(hours=1), valid_until=T0 + dt.timedelta(hours=1))
    issue_visitor_pass(actor=SYSTEM, place=world.estate_a, name="过期", plate="鄂A00002",
                       valid_from=T0 - dt.timedelta(days=2), valid_until=T0 - dt.timedelta(days=1))

    push(gate, plate("鄂L 12345"), plate("鄂L99999"), plate("鄂A00001"), plate("鄂A00002"))

    assert resolved() == [(world.resident_a.pk, car.pk, None), (None, None, None), (None, None, guest.pk),
                          (None, None, None)]


def test_given_a_visitor_code_when_read_inside_and_outside_its_validity_then_only_inside_it_resolves(world, door):
    guest = issue_visitor_pass(actor=SYSTEM, place=world.estate_a, name="刘先生", host=world.resident_a,
                               valid_from=T0 - dt.timedelta(hours=1), valid_until=T0 + dt.timedelta(hours=1))
    visitor = {"kind": "passage.qr", "subject": {"kind": "visitor", "ref": guest.code}}

    push(door, {**visitor, "time": "2026-04-23T08:00:00+08:00"}, {**visitor, "time": "2026-04-23T10:00:00+08:00"})

    assert resolved() == [(None, None, guest.pk), (None, None, None)]


# ---------------------------------------------------------------- last seen

def test_given_passages_arriving_out_of_order_when_processed_then_last_seen_only_moves_forward(world, door):
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", device=door)

    push(door, card("C1", "2026-04-23T08:00:00+08:00", id="new"))
    push(door, card("C1", "2026-04-23T07:00:00+08:00", id="late"))
    push(door, card("C1", "2026-04-23T07:30:00+08:00", id="denied") | {"kind": "passage.denied"})

    presence = PersonPresence.objects.get(resident=world.resident_a)
    newest = DeviceEvent.objects.get(external_id="generic:DOOR-A:new")
    assert (presence.last_seen_at, presence.last_event_id, presence.last_device_id, presence.last_place_path,
            presence.last_kind) == (T0, newest.pk, door.pk, world.entrance_a.path, "passage.card")


def test_given_a_batch_of_many_residents_when_presence_is_updated_then_one_statement(world, door,
                                                                                     django_assert_num_queries):
    from linli.people.actions import register_resident

    people = [register_resident(actor=SYSTEM, place=world.dwelling_a2, name=f"居民{'甲乙丙丁戊'[i]}") for i in range(5)]
    for i, person in enumerate(people):
        add_credential(actor=SYSTEM, resident=person, ref_type="card_no", ref=f"C{i}", device=door)
    record = parse_generic(b'{"events": [' + b",".join(
        b'{"kind": "passage.card", "time": "2026-04-23T08:0%d:00+08:00", "subject": {"kind": "resident", "ref": "C%d",'
        b' "ref_type": "card_no"}}' % (i, i) for i in range(5)) + b"]}", default_device="DOOR-A")
    ids = record_device_events(device=door, vendor="generic", source="generic", events=record.events,
                               received_at=T0).stored
    latest = read_summary(ids).presence
    with django_assert_num_queries(1):
        assert update_presence(latest) == 5

    assert sorted(PersonPresence.objects.values_list("resident_id", flat=True)) == sorted(p.pk for p in people)


def test_given_events_that_are_not_passages_when_processed_then_last_seen_does_not_move(world):
    band = register(world.dwelling_a, kind="wristband", serial="WB-1", wearer=world.resident_a).device

    push(band, {"kind": "wristband.sos", "time": "2026-04-23T08:00:00+08:00"})

    assert DeviceEvent.objects.get().resident_id == world.resident_a.pk
    assert PersonPresence.objects.count() == 0


# ---------------------------------------------------------------- search

@pytest.fixture
def traffic(world, door, gate):
    add_credential(actor=SYSTEM, resident=world.resident_a, ref_type="card_no", ref="C1", device=door)
    register_vehicle(actor=SYSTEM, place=world.estate_a, plate="鄂L12345", owner=world.resident_a)
    door_b = register(world.estate_b, serial="DOOR-B").device
    add_credential(actor=SYSTEM, resident=world.resident_b, ref_type="card_no", ref="C1", device=door_b)
    push(door, card("C1", "2026-04-22T08:00:00+08:00"), card("C7", "2026-04-23T09:00:00+08:00"),
         {"kind": "camera.motion", "time": "2026-04-23T09:30:00+08:00"})
    push(gate, plate("鄂L12345", "2026-04-23T18:00:00+08:00"))
    push(door_b, card("C1", "2026-04-23T08:00:00+08:00"))


def found(actor, **filters) -> list[tuple[str, str]]:
    return [(e.device.serial, e.kind) for e in search_passages(actor, PassageFilter(**filters))]


def test_given_passages_of_two_communities_when_staff_search_then_each_sees_only_their_own(world, traffic):
    assert found(world.actor("staff_a")) == [("GATE-A", "passage.plate"), ("DOOR-A", "passage.card"),
                                             ("DOOR-A", "passage.card")]
    assert found(world.actor("grid_a")) == found(world.actor("staff_a"))
    assert found(world.actor("staff_b")) == [("DOOR-B", "passage.card")]
    assert len(found(world.actor("street_admin"))) == 4
    assert found(world.actor("sysadmin")) == []  # no PASSAGE_VIEW: personal data


def test_given_filters_when_passages_are_searched_then_person_plate_place_and_time_narrow_them(world, traffic):
    staff = world.actor("staff_a")
    ra = world.resident_a.pk

    assert found(staff, resident_id=ra) == [("GATE-A", "passage.plate"), ("DOOR-A", "passage.card")]
    assert found(staff, person="王秀") == found(staff, resident_id=ra)
    assert found(staff, plate="鄂ｌ·12345") == [("GATE-A", "passage.plate")]
    assert found(staff, plate="2345") == [("GATE-A", "passage.plate")]
    assert found(staff, place_id=world.entrance_a.pk) == [("DOOR-A", "passage.card"), ("DOOR-A", "passage.card")]
    assert found(staff, since=dt.datetime(2026, 4, 23, tzinfo=dt.UTC) - dt.timedelta(hours=8),
                 until=dt.datetime(2026, 4, 23, 6, tzinfo=dt.UTC)) == [("DOOR-A", "passage.card")]


def test_given_a_resident_of_another_community_when_staff_search_by_them_then_404(world, traffic):
    with pytest.raises(NotFound):
        list(search_passages(world.actor("staff_a"), PassageFilter(resident_id=world.resident_b.pk)))
    assert found(world.actor("staff_b"), person="王秀") == []
