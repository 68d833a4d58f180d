import json
from datetime import UTC, datetime

import pytest

from linli.devices.adapters import (
    EventKind,
    NormalizedEvent,
    Quarantine,
    State,
    SubjectKind,
    SubjectRefType,
    parse_frigate,
)
from linli.devices.tests.payloads import fixture

RECEIVED = datetime(2026, 4, 23, 1, 31, 2, tzinfo=UTC)


def only(topic: str, payload: bytes, **options) -> NormalizedEvent:
    result = parse_frigate(topic, payload, received_at=RECEIVED, **options)
    assert result.rejects == [] and len(result.events) == 1
    return result.events[0]


def event_payload(name: str, **after) -> bytes:
    message = json.loads(fixture(f"frigate/{name}"))
    message["after"].update(after)
    return json.dumps(message).encode()


def test_given_a_car_stationary_in_the_fire_lane_when_updated_then_fire_lane_with_plate_and_dwell_time():
    payload = fixture("frigate/events_update_car_fire_lane.json")
    assert only("frigate/events", payload) == NormalizedEvent(
        vendor="frigate",
        kind=EventKind.CAMERA_FIRE_LANE,
        device_ref="building5_fire_lane",
        occurred_at=datetime(2026, 4, 23, 8, 5, 0, 500000, tzinfo=UTC),
        occurred_at_raw="1776931500.5",
        external_id="frigate:building5_fire_lane:1776931200.100000-fl7c2a:update:sha256:af8799b6bfb04693b23e8f37f479b75d",
        subject_kind=SubjectKind.PLATE,
        subject_ref="鄂AF2K09",
        subject_ref_type=SubjectRefType.PLATE,
        score=0.9023,
        zone="fire_lane",
        state=State.UPDATE,
        attrs={
            "label": "car",
            "frigate_id": "1776931200.100000-fl7c2a",
            "zones": ["fire_lane"],
            "entered_zones": ["fire_lane"],
            "stationary": True,
            "motionless_count": 1470,
            "duration_s": 300.4,
            "false_positive": False,
            "has_snapshot": True,
            "has_clip": True,
            "plate_score": 0.93,
        },
        raw=payload.decode(),
    )


def test_given_the_tracked_car_ends_when_parsed_then_an_end_at_end_time_keyed_once():
    event = only("frigate/events", fixture("frigate/events_end_car.json"))
    assert (event.kind, event.state, event.occurred_at, event.zone) == (
        EventKind.CAMERA_FIRE_LANE,
        State.END,
        datetime(2026, 4, 23, 8, 16, 1, 400000, tzinfo=UTC),
        "fire_lane",
    )
    assert event.external_id == "frigate:building5_fire_lane:1776931200.100000-fl7c2a:end"
    assert (event.attrs["duration_s"], event.attrs["stationary"]) == (961.3, False)


def test_given_a_person_in_a_zone_when_new_then_an_intrusion_that_starts():
    event = only("frigate/events", fixture("frigate/events_new_person.json"))
    assert (event.kind, event.state, event.zone, event.score, event.device_ref) == (
        EventKind.CAMERA_INTRUSION,
        State.START,
        "perimeter",
        0.8096,
        "east_wall",
    )
    assert event.occurred_at == datetime(2026, 4, 23, 17, 5, 30, 512345, tzinfo=UTC)
    assert event.external_id == "frigate:east_wall:1776963930.512345-k3p9qz:new"


def test_given_a_recognised_face_when_new_then_the_sub_label_is_the_residents_face_id():
    event = only("frigate/events", fixture("frigate/events_new_face.json"))
    assert (event.kind, event.subject_kind, event.subject_ref, event.subject_ref_type) == (
        EventKind.CAMERA_OBJECT,
        SubjectKind.RESIDENT,
        "zhang_guilan",
        SubjectRefType.FACE_ID,
    )
    assert event.attrs["sub_label_score"] == 0.87 and "sub_label" not in event.attrs


def test_given_an_older_frigate_with_a_plain_sub_label_when_parsed_then_read_too():
    event = only("frigate/events", event_payload("events_new_face.json", sub_label="li_ming"))
    assert event.subject_ref == "li_ming" and "sub_label_score" not in event.attrs


@pytest.mark.parametrize(
    "label, zones, kind",
    [
        ("car", ["fire_lane"], EventKind.CAMERA_FIRE_LANE),
        ("truck", ["fire_lane"], EventKind.CAMERA_FIRE_LANE),
        ("car", ["no_parking"], EventKind.CAMERA_ILLEGAL_PARKING),
        ("car", ["driveway"], EventKind.CAMERA_OBJECT),
        ("car", [], EventKind.CAMERA_OBJECT),
        ("person", ["fire_lane"], EventKind.CAMERA_INTRUSION),
        ("person", [], EventKind.CAMERA_OBJECT),
        ("dog", ["perimeter"], EventKind.CAMERA_OBJECT),
        ("fire", [], EventKind.CAMERA_SMOKE_FIRE),
        ("smoke", ["kitchen"], EventKind.CAMERA_SMOKE_FIRE),
    ],
)
def test_given_labels_and_zones_when_mapped_then_the_default_table_decides(label, zones, kind):
    payload = event_payload("events_new_person.json", label=label, current_zones=zones, entered_zones=zones)
    assert only("frigate/events", payload).kind is kind


def test_given_product_specific_labels_and_zones_when_overridden_then_the_overrides_decide():
    bin_full = event_payload("events_new_person.json", label="garbage", current_zones=["bin_area"])
    options = {"zone_kinds": {("*", "bin_area"): EventKind.CAMERA_BIN_OVERFLOW}}
    assert only("frigate/events", bin_full, **options).kind is EventKind.CAMERA_BIN_OVERFLOW
    thrown = event_payload("events_new_person.json", label="falling_object")
    options = {"label_kinds": {"falling_object": "camera.thrown_object"}}
    assert only("frigate/events", thrown, **options).kind is EventKind.CAMERA_THROWN_OBJECT
    person = fixture("frigate/events_new_person.json")
    assert parse_frigate("frigate/events", person, zone_kinds={("person", "*"): None}).events == []


def test_given_an_object_that_entered_a_zone_and_left_when_parsed_then_the_entered_zone_decides():
    payload = event_payload("events_end_car.json", current_zones=[], entered_zones=["fire_lane"])
    assert only("frigate/events", payload).kind is EventKind.CAMERA_FIRE_LANE


def test_given_updates_when_repeated_then_the_same_key_and_when_changed_then_another():
    payload = fixture("frigate/events_update_car_fire_lane.json")
    first = only("frigate/events", payload).external_id
    assert only("frigate/events", payload).external_id == first
    moved = event_payload("events_update_car_fire_lane.json", motionless_count=1500, frame_time=1776931506.5)
    assert only("frigate/events", moved).external_id not in (first, "")
    spaced = json.dumps(json.loads(payload), indent=2, sort_keys=True).encode()
    assert only("frigate/events", spaced).external_id == first


def test_given_a_review_alert_when_parsed_then_a_review_with_severity_detections_and_zone():
    event = only("frigate/reviews", fixture("frigate/reviews_alert.json"))
    assert (event.kind, event.device_ref, event.zone, event.state) == (
        EventKind.REVIEW,
        "building5_fire_lane",
        "fire_lane",
        State.UPDATE,
    )
    assert event.attrs == {
        "severity": "alert",
        "review_id": "1776931201.002341-r9x2",
        "detections": ["1776931200.100000-fl7c2a"],
        "objects": ["car"],
        "zones": ["fire_lane"],
    }
    assert event.occurred_at == datetime(2026, 4, 23, 8, 0, 1, 2341, tzinfo=UTC)


@pytest.mark.parametrize(
    "topic, name, kind, device",
    [
        ("frigate/available", "available_online.txt", EventKind.DEVICE_ONLINE, "frigate"),
        ("frigate/available", "available_offline.txt", EventKind.DEVICE_OFFLINE, "frigate"),
        ("nvr2/available", "available_online.txt", EventKind.DEVICE_ONLINE, "nvr2"),
    ],
)
def test_given_availability_when_parsed_then_online_or_offline_of_the_instance_at_the_received_time(
    topic, name, kind, device
):
    event = only(topic, fixture(f"frigate/{name}"))
    assert (event.kind, event.device_ref, event.occurred_at, event.occurred_at_raw) == (
        kind,
        device,
        RECEIVED,
        "received",
    )


def test_given_a_custom_topic_prefix_when_parsed_then_events_are_read_the_same():
    assert (
        only("site-a/frigate/events", fixture("frigate/events_end_car.json")).external_id
        == "frigate:building5_fire_lane:1776931200.100000-fl7c2a:end"
    )


@pytest.mark.parametrize(
    "topic, payload, reason",
    [
        ("frigate/stats", b"{}", "unknown_topic"),
        ("events", b"{}", "unknown_topic"),
        ("frigate/+/events", b"{}", "unknown_topic"),
        ("frigate/available", b"maybe", "bad_value"),
        ("frigate/available", b"", "empty_body"),
        ("frigate/events", b'{"type": "new"}', "missing_field"),
        ("frigate/events", b'{"type": "created", "after": {}}', "bad_value"),
        ("frigate/events", b'{"after": {}}', "missing_field"),
        ("frigate/events", b'{"type": "new", "after": []}', "wrong_type"),
        ("frigate/events", b'{"type": "new", "after": {"id": "x", "camera": "c", "label": "car"}}', "missing_field"),
        (
            "frigate/events",
            b'{"type": "end", "after": {"id": "x", "camera": "c", "label": "car", "start_time": 1776931200}}',
            "missing_field",
        ),
        (
            "frigate/events",
            b'{"type": "new", "after": {"id": "x", "camera": "c", "label": "car", "start_time": "soon"}}',
            "wrong_type",
        ),
        (
            "frigate/events",
            b'{"type": "new", "after": {"id": "x", "camera": "c", "label": "car", "start_time": 1776931200,'
            b' "sub_label": {"name": "x"}}}',
            "wrong_type",
        ),
        (
            "frigate/events",
            b'{"type": "new", "after": {"id": "x", "camera": "c", "label": "car", "start_time": 1776931200,'
            b' "current_zones": "fire_lane"}}',
            "wrong_type",
        ),
        (
            "frigate/events",
            b'{"type": "new", "after": {"id": "x", "camera": "c", "label": "car", "start_time": 17769312000}}',
            "time_out_of_range",
        ),
        (
            "frigate/reviews",
            b'{"type": "new", "after": {"id": "r", "camera": "c", "start_time": 1776931200, "severity": "panic"}}',
            "bad_value",
        ),
    ],
)
def test_given_malformed_frigate_messages_when_parsed_then_quarantined_with_the_reason(topic, payload, reason):
    with pytest.raises(Quarantine) as caught:
        parse_frigate(topic, payload, received_at=RECEIVED)
    assert caught.value.reason_code == reason
