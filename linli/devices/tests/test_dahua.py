from datetime import UTC, datetime, timedelta, timezone

import pytest

from linli.devices.adapters import (
    DahuaStreamParser,
    Direction,
    EventKind,
    Limits,
    Media,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    State,
    SubjectKind,
    SubjectRefType,
    parse_dahua_upload,
)
from linli.devices.tests.payloads import dahua_part, fixture, tiny_jpeg

RECEIVED = datetime(2026, 4, 23, 1, 31, 2, tzinfo=UTC)
DEVICE = "6J0A1B2PAZ0001"
STREAM_TYPE = "multipart/x-mixed-replace; boundary=myboundary"
SNAP = tiny_jpeg(b"dahua-snap")


def upload(name: str, **options) -> ParseResult:
    options.setdefault("device_ref", DEVICE)
    options.setdefault("received_at", RECEIVED)
    return parse_dahua_upload(fixture(f"dahua/{name}"), "application/json", **options)


def test_given_an_access_upload_when_parsed_then_a_face_entry_and_a_denied_card_exit_with_record_numbers():
    result = upload("upload_access.json")
    assert result.rejects == []
    face, denied = result.events
    assert face == NormalizedEvent(
        vendor="dahua",
        kind=EventKind.PASSAGE_FACE,
        device_ref=DEVICE,
        occurred_at=datetime(2026, 4, 22, 23, 50, 12, tzinfo=UTC),
        occurred_at_raw="UTC=1776930612",
        external_id=f"dahua:{DEVICE}:AccessControl:pulse:0:rec:4021",
        subject_kind=SubjectKind.RESIDENT,
        subject_ref="1021",
        subject_ref_type=SubjectRefType.EMPLOYEE_NO,
        direction=Direction.IN,
        attrs={"code": "AccessControl", "channel": 0, "method": 15, "status": 1, "error_code": 0, "door": 0},
        raw='{"Action":"Pulse","Code":"AccessControl","Data":{"CardName":"王建国","CardNo":"","CardType":0,"Door":0,'
        '"ErrorCode":0,"Method":15,"ReaderID":"1","RecNo":4021,"Status":1,"Type":"Entry","UTC":1776930612,'
        '"UserID":"1021","UserType":0},"Index":0}',
    )
    assert (denied.kind, denied.subject_ref, denied.subject_ref_type, denied.direction) == (
        EventKind.PASSAGE_DENIED,
        "A51F2C09",
        SubjectRefType.CARD_NO,
        Direction.OUT,
    )
    assert (denied.occurred_at, denied.occurred_at_raw) == (
        datetime(2026, 4, 22, 23, 50, 40, tzinfo=UTC),
        "RealUTC=1776901840",
    )
    assert denied.attrs["error_code"] == 16


def test_given_utc_as_local_time_when_the_site_is_elsewhere_then_the_site_zone_decides_but_realutc_does_not():
    plus5 = timezone(timedelta(hours=5))
    face, denied = upload("upload_access.json", site_tz=plus5).events
    assert face.occurred_at == datetime(2026, 4, 23, 2, 50, 12, tzinfo=UTC)
    assert denied.occurred_at == datetime(2026, 4, 22, 23, 50, 40, tzinfo=UTC)


def test_given_a_traffic_junction_upload_when_parsed_then_a_plate_passage_approaching_with_normalised_plate():
    [event] = upload("upload_traffic.json").events
    assert (event.kind, event.subject_kind, event.subject_ref, event.subject_ref_type) == (
        EventKind.PASSAGE_PLATE,
        SubjectKind.PLATE,
        "鄂A8K2M6",
        SubjectRefType.PLATE,
    )
    assert (event.direction, event.score, event.occurred_at) == (
        Direction.IN,
        0.96,
        datetime(2026, 4, 23, 0, 12, 40, tzinfo=UTC),
    )
    assert event.external_id == f"dahua:{DEVICE}:TrafficJunction:pulse:0:event:88213"
    assert event.attrs == {
        "code": "TrafficJunction",
        "channel": 0,
        "plate_color": "Blue",
        "vehicle_color": "Black",
        "vehicle_type": "Motor",
        "lane": 1,
    }


def test_given_a_cross_region_upload_when_parsed_then_an_intrusion_that_starts_in_the_named_region():
    [event] = upload("upload_cross_region.json").events
    assert (event.kind, event.zone, event.direction, event.state) == (
        EventKind.CAMERA_INTRUSION,
        "北侧围墙",
        Direction.IN,
        State.START,
    )
    assert event.occurred_at == datetime(2026, 4, 22, 17, 30, 5, tzinfo=UTC)
    assert event.attrs == {"code": "CrossRegionDetection", "channel": 2, "target": "Human", "region_action": "Cross"}


def test_given_a_face_recognition_upload_when_parsed_then_the_best_candidate_with_its_similarity():
    [event] = upload("upload_face_recognition.json").events
    assert (event.kind, event.subject_kind, event.subject_ref, event.subject_ref_type, event.score) == (
        EventKind.CAMERA_FACE,
        SubjectKind.RESIDENT,
        "F-20419",
        SubjectRefType.FACE_ID,
        0.93,
    )


def test_given_a_heartbeat_upload_when_parsed_then_a_heartbeat_at_the_uploads_local_time():
    [event] = upload("upload_heartbeat.json").events
    assert (event.kind, event.occurred_at, event.occurred_at_raw) == (
        EventKind.DEVICE_HEARTBEAT,
        datetime(2026, 4, 23, 1, 31, tzinfo=UTC),
        "Time=2026-04-23 09:31:00",
    )


def test_given_a_batch_with_bad_and_ignored_entries_when_parsed_then_good_ones_pass_and_bad_ones_are_rejects():
    result = upload("upload_mixed_with_bad.json")
    assert [(e.kind, e.attrs["channel"]) for e in result.events] == [
        (EventKind.CAMERA_MOTION, 0),
        (EventKind.CAMERA_TAMPER, 1),
    ]
    assert [(r.index, r.reason_code) for r in result.rejects] == [(1, "bad_value"), (3, "wrong_type")]
    assert result.rejects[1].message_en == "Events[3].Index: wrong field type (an integer expected, got string)"
    assert result.rejects[0].raw == '{"Action":"Flip","Code":"VideoMotion","Index":0}'


def test_given_code_overrides_when_parsed_then_they_win():
    result = upload("upload_mixed_with_bad.json", code_kinds={"VideoBlind": None, "DoorStatus": "other"})
    assert [e.kind for e in result.events] == [EventKind.CAMERA_MOTION, EventKind.OTHER]
    [face, _] = upload("upload_access.json", method_kinds={15: EventKind.PASSAGE_CARD}).events
    assert face.kind is EventKind.PASSAGE_CARD


def test_given_an_upload_naming_no_device_when_parsed_then_its_ip_is_used_or_it_is_quarantined():
    result = parse_dahua_upload(fixture("dahua/upload_access.json"), "application/json", received_at=RECEIVED)
    assert {e.device_ref for e in result.events} == {"10.12.4.31"}
    with pytest.raises(Quarantine) as caught:
        parse_dahua_upload(fixture("dahua/upload_heartbeat.json"), "application/json")
    assert caught.value.reason_code == "missing_device"


def test_given_the_same_upload_twice_when_parsed_then_the_same_keys_even_when_received_later():
    later = RECEIVED + timedelta(minutes=5)
    for name in ("upload_access.json", "upload_mixed_with_bad.json", "upload_heartbeat.json"):
        first = [e.external_id for e in upload(name).events]
        second = [e.external_id for e in upload(name, received_at=later).events]
        assert first == second and len(set(first)) == len(first)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'{"Events": []}', "empty_batch"),
        (b'{"Time": "2026-04-23 09:31:00"}', "empty_batch"),
        (b'{"Events": "Heartbeat"}', "wrong_type"),
        (b"Events=Heartbeat", "unsupported_content_type"),
    ],
)
def test_given_malformed_uploads_when_parsed_then_quarantined(body, reason):
    with pytest.raises(Quarantine) as caught:
        parse_dahua_upload(body, "", device_ref=DEVICE)
    assert caught.value.reason_code == reason


def test_given_more_events_than_a_batch_allows_when_parsed_then_too_many_events():
    body = b'{"Events": [' + b",".join([b'{"Code": "Heartbeat"}'] * 11) + b"]}"
    with pytest.raises(Quarantine) as caught:
        parse_dahua_upload(body, "application/json", device_ref=DEVICE, limits=Limits(max_events=10))
    assert caught.value.reason_code == "too_many_events"


def stream_with_picture() -> bytes:
    """The attach-stream fixture with a JPEG part after the AccessControl part, then a heartbeat."""
    text = fixture("dahua/attach_stream.txt")
    cut = text.index(b"--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=VideoMotion;action=Stop")
    return text[:cut] + dahua_part(SNAP, "image/jpeg") + text[cut:] + dahua_part(b"Heartbeat")


def feed_all(parser: DahuaStreamParser, data: bytes, size: int) -> ParseResult:
    result = ParseResult([], [])
    for start in range(0, len(data), size):
        out = parser.feed(data[start : start + size], received_at=RECEIVED)
        result.events.extend(out.events)
        result.rejects.extend(out.rejects)
    return result


def summary(events: list[NormalizedEvent]) -> list[tuple]:
    return [(e.kind, e.state, e.attrs["code"], len(e.media)) for e in events]


EXPECTED_STREAM = [
    (EventKind.DEVICE_HEARTBEAT, State.PULSE, "Heartbeat", 0),
    (EventKind.CAMERA_MOTION, State.START, "VideoMotion", 0),
    (EventKind.CAMERA_LINE_CROSSING, State.START, "CrossLineDetection", 0),
    (EventKind.PASSAGE_FACE, State.PULSE, "AccessControl", 1),
    (EventKind.CAMERA_MOTION, State.STOP, "VideoMotion", 0),
    (EventKind.DEVICE_HEARTBEAT, State.PULSE, "Heartbeat", 0),
]


@pytest.mark.parametrize("size", [1, 2, 7, 64, 100_000])
def test_given_the_attach_stream_in_chunks_of_any_size_when_fed_then_the_same_events_and_the_picture(size):
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE)
    result = feed_all(parser, stream_with_picture(), size)
    assert result.rejects == []
    assert summary(result.events) == EXPECTED_STREAM
    assert parser.flush() == ([], [])
    face = result.events[3]
    assert face.media == (Media("part5.jpeg", "image/jpeg", SNAP),)
    assert (face.subject_ref, face.direction, face.external_id) == (
        "1021",
        Direction.IN,
        f"dahua:{DEVICE}:AccessControl:pulse:0:rec:4023",
    )
    assert face.raw.startswith('Code=AccessControl;action=Pulse;index=0;data={\n   "CardNo" : "",')


def test_given_an_event_waiting_for_pictures_when_the_stream_goes_idle_then_flush_releases_it():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE)
    without_last_heartbeat = stream_with_picture()[: -len(dahua_part(b"Heartbeat"))] + b"--myboundary\r\n"
    result = feed_all(parser, without_last_heartbeat, 4096)
    assert summary(result.events) == EXPECTED_STREAM[:-2]
    assert summary(parser.flush().events) == [EXPECTED_STREAM[-2]]
    assert parser.flush() == ([], [])


def test_given_multi_line_json_data_when_streamed_then_its_fields_are_read():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE)
    events = feed_all(parser, fixture("dahua/attach_stream.txt"), 4096).events
    line = events[2]
    assert (line.kind, line.zone, line.occurred_at, line.attrs) == (
        EventKind.CAMERA_LINE_CROSSING,
        "南门车行道",
        datetime(2026, 4, 23, 9, 5, 33, tzinfo=UTC),
        {"code": "CrossLineDetection", "channel": 1, "target": "Vehicle", "line_direction": "LeftToRight"},
    )
    assert line.external_id == f"dahua:{DEVICE}:CrossLineDetection:start:1:event:10233"


def test_given_events_without_time_when_streamed_then_they_carry_the_received_time():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE)
    heartbeat, motion = feed_all(parser, fixture("dahua/attach_stream.txt"), 4096).events[:2]
    assert (heartbeat.occurred_at, heartbeat.occurred_at_raw) == (RECEIVED, "received")
    assert (motion.occurred_at, motion.occurred_at_raw) == (RECEIVED, "received")


def test_given_two_records_in_one_text_part_when_streamed_then_two_events():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE)
    part = dahua_part(b"Code=VideoMotion;action=Start;index=0\r\nCode=VideoMotion;action=Start;index=1\r\n")
    result = feed_all(parser, part + dahua_part(b"Heartbeat"), 4096)
    assert [(e.kind, e.attrs["channel"]) for e in result.events] == [
        (EventKind.CAMERA_MOTION, 0),
        (EventKind.CAMERA_MOTION, 1),
        (EventKind.DEVICE_HEARTBEAT, 0),
    ]


def test_given_bad_parts_when_streamed_then_each_is_a_reject_and_the_stream_goes_on():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE, limits=Limits(max_part=1000))
    data = (
        b"garbage before the first boundary\r\n"
        + dahua_part(b"Code=VideoMotion;action=Start;index=0;data={broken")
        + dahua_part(b"\xff\xfe not utf-8")
        + dahua_part(b"Code=VideoMotion;action=Sideways;index=0")
        + dahua_part(b"not a picture", "image/jpeg")
        + dahua_part(b"x" * 2000, "image/jpeg")
        + dahua_part(tiny_jpeg(), "image/jpeg")
        + b"--myboundary\r\nContent-Length: many\r\n\r\nabc\r\n"
        + dahua_part(b"Code=VideoLoss;action=Start;index=3")
        + dahua_part(b"Heartbeat")
    )
    result = feed_all(parser, data, 13)
    assert [(r.index, r.reason_code, r.message_en) for r in result.rejects] == [
        (0, "bad_multipart", "part 0: malformed multipart body (32 bytes outside any part were skipped)"),
        (
            1,
            "invalid_json",
            "part 1.data: malformed JSON (line 1 column 2: Expecting property name enclosed in double quotes)",
        ),
        (2, "invalid_utf8", "part 2: the payload is not valid UTF-8 (byte 0)"),
        (3, "bad_value", "part 3.action: invalid field value (Sideways is not one of start, stop, pulse)"),
        (4, "bad_value", "part 4: invalid field value (an image part that is not a JPEG or PNG)"),
        (5, "part_too_large", "part 5: a multipart part is too large (2000 > 1000 bytes)"),
        (6, "orphan_picture", "part 6: a picture came with no event before it"),
        (7, "wrong_type", "part 7.content-length: wrong field type (an integer expected, got string)"),
    ]
    assert [(e.kind, e.attrs["channel"]) for e in result.events] == [
        (EventKind.CAMERA_VIDEO_LOSS, 3),
        (EventKind.DEVICE_HEARTBEAT, 0),
    ]


def test_given_a_text_part_without_length_that_never_ends_when_streamed_then_it_is_abandoned():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE, limits=Limits(max_part=100))
    data = b"--myboundary\r\nContent-Type: text/plain\r\n\r\n" + b"y" * 300 + b"\r\n" + dahua_part(b"Heartbeat")
    result = feed_all(parser, data, 50)
    assert [r.reason_code for r in result.rejects] == ["part_too_large"]
    assert [e.kind for e in result.events] == [EventKind.DEVICE_HEARTBEAT]


def test_given_the_closing_boundary_when_streamed_then_pending_events_come_out_and_more_data_is_refused():
    parser = DahuaStreamParser(STREAM_TYPE, device_ref=DEVICE)
    result = feed_all(parser, dahua_part(b"Code=VideoMotion;action=Start;index=0") + b"--myboundary--\r\n", 4096)
    assert [e.kind for e in result.events] == [EventKind.CAMERA_MOTION]
    with pytest.raises(Quarantine) as caught:
        parser.feed(dahua_part(b"Heartbeat"))
    assert caught.value.reason_code == "stream_broken"


def test_given_a_stream_without_boundary_when_opened_then_quarantined():
    with pytest.raises(Quarantine) as caught:
        DahuaStreamParser("multipart/x-mixed-replace", device_ref=DEVICE)
    assert caught.value.reason_code == "bad_multipart"
