import json
from datetime import UTC, datetime

import pytest

from linli.devices.adapters import (
    Direction,
    EventKind,
    Limits,
    Media,
    NormalizedEvent,
    Quarantine,
    Reject,
    State,
    SubjectKind,
    SubjectRefType,
    parse_generic,
)
from linli.devices.tests.payloads import fixture, form_part, multipart, tiny_jpeg

SNAP = tiny_jpeg(b"generic")


def event(**fields) -> bytes:
    base = {"device": "WB-1", "kind": "wristband.sos", "time": "2026-04-23T06:20:03+08:00"}
    return json.dumps({**base, **fields}).encode()


def quarantined(body: bytes, content_type: str = "application/json", **options) -> Quarantine:
    with pytest.raises(Quarantine) as caught:
        parse_generic(body, content_type, **options)
    return caught.value


def test_given_a_heart_rate_reading_when_parsed_then_every_field_of_the_event():
    body = fixture("generic/heart_rate.json")
    assert parse_generic(body) == (
        [
            NormalizedEvent(
                vendor="generic",
                kind=EventKind.WRISTBAND_HEART_RATE,
                device_ref="WB-2026-00417",
                occurred_at=datetime(2026, 4, 22, 22, 15, tzinfo=UTC),
                occurred_at_raw="2026-04-23T06:15:00+08:00",
                external_id="generic:WB-2026-00417:hr-000123",
                value=132.0,
                unit="bpm",
                attrs={"battery": 64, "wearing": True},
                raw=body.decode(),
            )
        ],
        [],
    )


def test_given_a_batch_when_parsed_then_each_event_with_inherited_device_defaults_and_normalised_subjects():
    events, rejects = parse_generic(fixture("generic/batch.json"))
    assert rejects == []
    assert [(e.kind, e.device_ref, e.state, e.score, e.value, e.unit, e.zone) for e in events] == [
        (EventKind.WRISTBAND_SOS, "WB-2026-00417", State.START, None, None, "", ""),
        (EventKind.WRISTBAND_FALL, "WB-2026-00417", State.PULSE, 0.88, None, "", ""),
        (EventKind.SENSOR_GAS, "GAS-3-1-0402", State.START, None, 850.0, "ppm", "kitchen"),
        (EventKind.DEVICE_LOW_BATTERY, "GW-MY-01", State.PULSE, None, 9.0, "%", ""),
        (EventKind.PASSAGE_PLATE, "GATE-N-1", State.PULSE, 0.97, None, "", ""),
        (EventKind.PASSAGE_CARD, "DOOR-3-1", State.PULSE, None, None, "", ""),
    ]
    plate, card = events[4], events[5]
    assert (plate.subject_kind, plate.subject_ref, plate.subject_ref_type, plate.direction) == (
        SubjectKind.PLATE,
        "鄂L12345",
        SubjectRefType.PLATE,
        Direction.IN,
    )
    assert (card.subject_kind, card.subject_ref, card.subject_ref_type, card.direction) == (
        SubjectKind.RESIDENT,
        "3021457788",
        SubjectRefType.CARD_NO,
        Direction.OUT,
    )
    assert events[0].external_id == "generic:WB-2026-00417:sos-0007"
    assert events[1].external_id == "generic:WB-2026-00417:sha256:78c315da36b8cdcdb9012f9d7cda8116"
    assert events[1].occurred_at == datetime(2026, 4, 22, 22, 20, 1, 250000, tzinfo=UTC)
    assert events[0].raw == (
        '{"device":"WB-2026-00417","id":"sos-0007","kind":"wristband.sos","state":"start",'
        '"time":"2026-04-23T06:20:03+08:00"}'
    )


def test_given_a_batch_with_bad_events_when_parsed_then_the_good_ones_pass_and_each_bad_one_says_why():
    events, rejects = parse_generic(fixture("generic/batch_with_bad.json"))
    assert [(e.kind, e.value) for e in events] == [
        (EventKind.WRISTBAND_HEART_RATE, 71.0),
        (EventKind.WRISTBAND_SPO2, 95.0),
    ]
    assert [(r.index, r.reason_code) for r in rejects] == [
        (1, "naive_time"),
        (2, "unknown_kind"),
        (3, "wrong_type"),
        (4, "bad_unit"),
        (5, "wrong_type"),
        (6, "unknown_field"),
    ]
    assert rejects[0] == Reject(
        index=1,
        reason_code="naive_time",
        message_zh="events[1].time：时间缺少时区（2026-04-23T06:15:00）",
        message_en="events[1].time: the time has no time zone (2026-04-23T06:15:00)",
        raw='{"kind":"wristband.heart_rate","time":"2026-04-23T06:15:00","value":72}',
    )


def test_given_the_same_event_twice_in_any_key_order_when_parsed_then_the_same_external_id():
    first = parse_generic(event(score=0.5)).events[0].external_id
    reordered = b'{"score": 0.5, "time": "2026-04-23T06:20:03+08:00", "kind": "wristband.sos", "device": "WB-1"}'
    assert parse_generic(reordered).events[0].external_id == first
    assert parse_generic(event(score=0.6)).events[0].external_id != first
    inherited = b'{"device": "WB-1", "events": [{"kind": "wristband.sos", "time": "2026-04-23T06:20:03+08:00",'
    inherited += b' "score": 0.5}]}'
    assert parse_generic(inherited).events[0].external_id == first


def test_given_a_heartbeat_without_an_id_when_parsed_then_its_key_is_its_kind_and_time_on_both_paths():
    """Liveness notices are never stored under their key: no digest of their content is made."""
    one = b'{"kind": "device.heartbeat", "time": "2026-04-23T06:20:03+08:00"}'
    batch = b'{"events": [' + one + b', {"kind": "device.online", "time": "2026-04-23T06:20:04+08:00"}]}'

    fast = parse_generic(one, default_device="GW-7").events
    full = parse_generic(batch, default_device="GW-7").events

    assert [e.external_id for e in fast + full] == ["generic:GW-7:device.heartbeat@2026-04-23T06:20:03+08:00",
                                                    "generic:GW-7:device.heartbeat@2026-04-23T06:20:03+08:00",
                                                    "generic:GW-7:device.online@2026-04-23T06:20:04+08:00"]


def test_given_an_event_naming_no_device_when_a_default_is_given_then_it_is_used_else_quarantined():
    body = b'{"kind": "device.heartbeat", "time": "2026-04-23T06:20:03+08:00"}'
    assert parse_generic(body, default_device="GW-7").events[0].device_ref == "GW-7"
    assert quarantined(body).reason_code == "missing_device"


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"kind": "wristband.teleport"}, "unknown_kind"),
        ({"kind": 5}, "wrong_type"),
        ({"time": "2026-04-23T06:20:03"}, "naive_time"),
        ({"time": "23/04/2026 06:20"}, "bad_time"),
        ({"time": 1776896403}, "wrong_type"),
        ({"score": 101}, "bad_score"),
        ({"score": "high"}, "wrong_type"),
        ({"score": True}, "wrong_type"),
        ({"kind": "wristband.heart_rate"}, "missing_field"),
        ({"kind": "wristband.heart_rate", "value": 500}, "bad_value"),
        ({"kind": "wristband.spo2", "value": 97, "unit": "ppm"}, "bad_unit"),
        ({"unit": "bpm"}, "bad_unit"),
        ({"subject": {"kind": "plate", "ref": "无车牌"}}, "bad_plate"),
        ({"subject": {"kind": "plate", "ref": "鄂L12345", "ref_type": "card_no"}}, "bad_value"),
        ({"subject": {"kind": "resident", "ref": "1", "ref_type": "plate"}}, "bad_value"),
        ({"subject": {"kind": "alien", "ref": "1"}}, "bad_value"),
        ({"subject": {"ref": "1"}}, "missing_field"),
        ({"subject": {"kind": "resident"}}, "missing_field"),
        ({"subject": {"kind": "resident", "ref": "1", "name": "x"}}, "unknown_field"),
        ({"subject": "resident"}, "wrong_type"),
        ({"direction": "up"}, "bad_value"),
        ({"state": "paused"}, "bad_value"),
        ({"attrs": {"nested": {"a": 1}}}, "wrong_type"),
        ({"attrs": {f"k{i}": i for i in range(33)}}, "bad_value"),
        ({"attrs": {"long": "x" * 257}}, "string_too_long"),
        ({"attrs": []}, "wrong_type"),
        ({"zone": "z" * 65}, "string_too_long"),
        ({"id": ["a"]}, "wrong_type"),
        ({"device": "x" * 65}, "string_too_long"),
        ({"media": ["a.jpg"]}, "media_missing"),
        ({"media": "a.jpg"}, "wrong_type"),
        ({"tiem": "typo"}, "unknown_field"),
    ],
)
def test_given_a_single_bad_event_when_parsed_then_the_payload_is_quarantined_with_the_reason(fields, reason):
    assert quarantined(event(**fields)).reason_code == reason


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'{"events": []}', "empty_batch"),
        (b'{"events": {}}', "wrong_type"),
        (b'{"events": [], "extra": 1}', "unknown_field"),
        (b"[]", "wrong_type"),
        (b'"event"', "wrong_type"),
        (b"{", "invalid_json"),
        (b"", "empty_body"),
        (b"  \r\n", "empty_body"),
    ],
)
def test_given_a_malformed_payload_when_parsed_then_quarantined_as_a_whole(body, reason):
    assert quarantined(body).reason_code == reason


def test_given_a_batch_at_and_over_the_limit_when_parsed_then_accepted_and_refused():
    one = {"kind": "device.heartbeat", "time": "2026-04-23T06:20:03+08:00"}
    at_limit = json.dumps({"device": "GW", "events": [one] * 1000}).encode()
    result = parse_generic(at_limit)
    assert len(result.events) == 1000 and result.rejects == []
    over = json.dumps({"device": "GW", "events": [one] * 1001}).encode()
    assert quarantined(over).reason_code == "too_many_events"
    assert quarantined(at_limit, limits=Limits(max_events=999)).reason_code == "too_many_events"


def test_given_pictures_in_multipart_when_an_event_names_them_then_they_are_its_media():
    batch = {
        "device": "CAM-9",
        "events": [
            {"kind": "camera.bin_overflow", "time": "2026-04-23T06:20:03+08:00", "media": ["bin.jpg"]},
            {"kind": "camera.smoke_fire", "time": "2026-04-23T06:21:03+08:00"},
        ],
    }
    body, content_type = multipart(
        [
            form_part("events", "application/json", json.dumps(batch).encode()),
            form_part("bin.jpg", "image/jpeg", SNAP, "bin.jpg"),
        ]
    )
    bin_event, smoke = parse_generic(body, content_type).events
    assert bin_event.media == (Media("bin.jpg", "image/jpeg", SNAP),) and smoke.media == ()


def test_given_a_single_event_with_pictures_when_it_names_none_then_it_gets_them_all():
    body, content_type = multipart(
        [
            form_part("event", "application/json", event(kind="camera.thrown_object")),
            form_part("a", "image/jpeg", SNAP, "a.jpg"),
            form_part("b", "image/jpeg", SNAP, "b.jpg"),
        ]
    )
    assert [m.name for m in parse_generic(body, content_type).events[0].media] == ["a.jpg", "b.jpg"]


@pytest.mark.parametrize(
    "parts, reason",
    [
        ([form_part("a", "image/jpeg", SNAP, "a.jpg")], "no_document"),
        (
            [form_part("event", "application/json", event()), form_part("notes", "text/plain", b"hello")],
            "bad_value",
        ),
        (
            [form_part("event", "application/json", event()), form_part("e2", "application/json", event())],
            "ambiguous_document",
        ),
    ],
)
def test_given_multipart_that_is_not_one_document_and_pictures_when_parsed_then_quarantined(parts, reason):
    assert quarantined(*multipart(parts)).reason_code == reason


@pytest.mark.parametrize("content_type", ["application/xml", "text/html", "image/jpeg"])
def test_given_a_content_type_that_is_not_json_when_parsed_then_unsupported(content_type):
    assert quarantined(event(), content_type).reason_code == "unsupported_content_type"


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/json; charset=utf-8"])
def test_given_json_sent_with_a_loose_content_type_when_parsed_then_accepted(content_type):
    assert len(parse_generic(event(), content_type).events) == 1
