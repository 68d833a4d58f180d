from dataclasses import replace
from datetime import UTC, datetime

import pytest

from linli.devices.adapters import (
    Direction,
    EventKind,
    Media,
    NormalizedEvent,
    Quarantine,
    State,
    SubjectKind,
    SubjectRefType,
    parse_hikvision,
)
from linli.devices.tests.payloads import fixture, form_part, multipart, tiny_jpeg

FACE = tiny_jpeg(b"face")
PLATE = tiny_jpeg(b"plate")
SCENE = tiny_jpeg(b"scene")


def access_multipart(name: str, pictures: int = 1) -> tuple[bytes, str]:
    parts = [form_part("event_log", "application/json", fixture(f"hikvision/{name}"))]
    parts += [form_part("Picture", "image/jpeg", FACE, "Picture.jpg")] * pictures
    return multipart(parts)


def anpr_multipart(name: str) -> tuple[bytes, str]:
    return multipart(
        [
            form_part("anpr.xml", "application/xml", fixture(f"hikvision/{name}"), "anpr.xml"),
            form_part("licensePlatePicture.jpg", "image/jpeg", PLATE, "licensePlatePicture.jpg"),
            form_part("detectionPicture.jpg", "image/jpeg", SCENE, "detectionPicture.jpg"),
        ]
    )


def only(body: bytes, content_type: str, **options) -> NormalizedEvent:
    result = parse_hikvision(body, content_type, **options)
    assert result.rejects == []
    assert len(result.events) == 1
    return result.events[0]


def test_given_a_face_pass_in_multipart_when_parsed_then_a_face_passage_of_the_resident_with_the_picture():
    body, content_type = access_multipart("access_face_pass.json")
    assert only(body, content_type) == NormalizedEvent(
        vendor="hikvision",
        kind=EventKind.PASSAGE_FACE,
        device_ref="bc:5e:33:4a:7c:21",
        occurred_at=datetime(2026, 4, 22, 23, 42, 18, tzinfo=UTC),
        occurred_at_raw="2026-04-23T07:42:18+08:00",
        external_id="hikvision:bc:5e:33:4a:7c:21:serial:18234",
        subject_kind=SubjectKind.RESIDENT,
        subject_ref="MY0301021",
        subject_ref_type=SubjectRefType.EMPLOYEE_NO,
        attrs={
            "channel": 1,
            "event_type": "AccessControllerEvent",
            "major": 5,
            "minor": 75,
            "verify_mode": "cardOrFace",
            "card_reader": 1,
            "device_name": "梅园社区3栋1单元门禁",
            "attendance": "undefined",
            "mask": "no",
        },
        media=(Media("Picture.jpg", "image/jpeg", FACE),),
        raw=fixture("hikvision/access_face_pass.json").decode(),
    )


def test_given_a_card_without_permission_when_parsed_then_a_denied_passage_naming_card_and_method():
    event = only(fixture("hikvision/access_card_denied.json"), "application/json")
    assert (event.kind, event.device_ref, event.external_id) == (
        EventKind.PASSAGE_DENIED,
        "bc:5e:33:4a:7c:22",
        "hikvision:bc:5e:33:4a:7c:22:serial:5120",
    )
    assert (event.subject_kind, event.subject_ref, event.subject_ref_type) == (
        SubjectKind.RESIDENT,
        "3021457788",
        SubjectRefType.CARD_NO,
    )
    assert event.attrs["method"] == "card" and event.attrs["minor"] == 6 and event.media == ()
    assert event.occurred_at == datetime(2026, 4, 23, 14, 5, 51, tzinfo=UTC)


def test_given_a_visitor_qr_code_when_parsed_then_a_qr_passage_of_a_visitor():
    event = only(fixture("hikvision/access_qr_visitor.json"), "application/json")
    assert (event.kind, event.subject_kind, event.subject_ref) == (
        EventKind.PASSAGE_QR,
        SubjectKind.VISITOR,
        "V20260423017",
    )


def test_given_a_door_unlocked_notification_when_parsed_then_no_event_and_no_reject():
    body, content_type = access_multipart("access_door_unlocked.json", pictures=0)
    assert parse_hikvision(body, content_type) == ([], [])


@pytest.mark.parametrize(
    "name, device, plate, direction, score, color, key",
    [
        (
            "anpr_isapi.xml",
            "44:19:b6:0a:31:5c",
            "鄂L12345",
            Direction.IN,
            0.98,
            "blue",
            "uuid:7a0c6f3e-1c2b-4d5e-9f80-112233445566",
        ),
        (
            "anpr_hikvision.xml",
            "44:19:b6:0a:31:5d",
            "京AD12345",
            Direction.OUT,
            0.91,
            "green",
            "sha256:0b6f6741b8adcfe1d76f3f148f227583",
        ),
    ],
)
def test_given_anpr_xml_in_any_namespace_when_parsed_then_a_plate_passage_with_both_pictures(
    name, device, plate, direction, score, color, key
):
    event = only(*anpr_multipart(name))
    assert (event.kind, event.device_ref, event.subject_kind, event.subject_ref, event.subject_ref_type) == (
        EventKind.PASSAGE_PLATE,
        device,
        SubjectKind.PLATE,
        plate,
        SubjectRefType.PLATE,
    )
    assert (event.direction, event.score, event.attrs["plate_color"]) == (direction, score, color)
    assert event.external_id == f"hikvision:{device}:{key}"
    assert event.media == (
        Media("licensePlatePicture.jpg", "image/jpeg", PLATE),
        Media("detectionPicture.jpg", "image/jpeg", SCENE),
    )
    assert event.raw == fixture(f"hikvision/{name}").decode()


def test_given_anpr_of_a_vehicle_without_plate_when_parsed_then_a_plate_passage_without_subject():
    event = only(fixture("hikvision/anpr_stdcgi.xml"), "text/xml")
    assert event == NormalizedEvent(
        vendor="hikvision",
        kind=EventKind.PASSAGE_PLATE,
        device_ref="44:19:b6:0a:31:5e",
        occurred_at=datetime(2026, 4, 23, 15, 58, 2, tzinfo=UTC),
        occurred_at_raw="2026-04-23T23:58:02+08:00",
        external_id="hikvision:44:19:b6:0a:31:5e:sha256:c805141ed8a7ec2751e723ee29ce7cfe",
        score=0.0,
        attrs={
            "channel": 1,
            "channel_name": "地库入口",
            "event_type": "ANPR",
            "plate_text": "无车牌",
            "plate_color": "unknown",
            "vehicle_type": "vehicle",
            "list_name": "otherList",
            "lane": 1,
        },
        raw=fixture("hikvision/anpr_stdcgi.xml").decode(),
    )


@pytest.mark.parametrize(
    "name, content_type, kind, zone, target, when",
    [
        ("fielddetection.xml", "application/xml", EventKind.CAMERA_INTRUSION, "2", "human", (4, 22, 18, 14, 9)),
        ("linedetection.json", "application/json", EventKind.CAMERA_LINE_CROSSING, "1", "vehicle", (4, 22, 17, 2, 3)),
        ("parking.xml", "", EventKind.CAMERA_ILLEGAL_PARKING, "1", "vehicle", (4, 23, 6, 30, 0)),
    ],
)
def test_given_smart_camera_events_in_xml_or_json_when_parsed_then_camera_kinds_with_region_as_zone(
    name, content_type, kind, zone, target, when
):
    event = only(fixture(f"hikvision/{name}"), content_type)
    assert (event.kind, event.zone, event.attrs["target"], event.state) == (kind, zone, target, State.START)
    assert event.occurred_at == datetime(2026, *when, tzinfo=UTC)
    assert event.external_id.startswith(f"hikvision:{event.device_ref}:sha256:")


def test_given_an_inactive_videoloss_when_parsed_then_a_heartbeat():
    event = only(fixture("hikvision/videoloss_heartbeat.xml"), "application/xml")
    assert (event.kind, event.device_ref, event.state) == (
        EventKind.DEVICE_HEARTBEAT,
        "58:50:ed:10:22:33",
        State.PULSE,
    )


def test_given_an_active_videoloss_when_parsed_then_a_video_loss_event_that_starts():
    body = fixture("hikvision/videoloss_heartbeat.xml").replace(b">inactive<", b">active<")
    event = only(body, "application/xml")
    assert (event.kind, event.state) == (EventKind.CAMERA_VIDEO_LOSS, State.START)


def test_given_a_product_specific_event_type_when_no_override_then_other_and_with_override_then_the_kind():
    body = fixture("hikvision/thrown_object.xml")
    assert only(body, "application/xml").kind is EventKind.OTHER
    event = only(body, "application/xml", event_kinds={"HighAltitudeThrowing": EventKind.CAMERA_THROWN_OBJECT})
    assert (event.kind, event.attrs["event_type"]) == (EventKind.CAMERA_THROWN_OBJECT, "highAltitudeThrowing")
    assert only(body, "application/xml", event_kinds={"highaltitudethrowing": "camera.smoke_fire"}).kind is (
        EventKind.CAMERA_SMOKE_FIRE
    )


def test_given_minor_code_overrides_when_parsed_then_the_override_wins_and_none_ignores():
    body = fixture("hikvision/access_face_pass.json")
    assert only(body, "application/json", minor_kinds={75: EventKind.PASSAGE_CARD}).kind is EventKind.PASSAGE_CARD
    assert parse_hikvision(body, "application/json", minor_kinds={75: None}).events == []
    assert only(body, "application/json", event_kinds={"fielddetection": None}).kind is EventKind.PASSAGE_FACE


def test_given_an_unmapped_minor_code_or_major_type_when_parsed_then_other_with_the_codes():
    body = fixture("hikvision/access_face_pass.json")
    unknown_minor = only(body.replace(b'"subEventType":\t75', b'"subEventType":\t"0x99"'), "application/json")
    assert (unknown_minor.kind, unknown_minor.attrs["minor"]) == (EventKind.OTHER, 0x99)
    alarm = only(body.replace(b'"majorEventType":\t5', b'"majorEventType":\t1'), "application/json")
    assert (alarm.kind, alarm.attrs["major"]) == (EventKind.OTHER, 1)


def test_given_an_override_that_is_no_kind_when_configured_then_a_value_error_at_start_up():
    with pytest.raises(ValueError):
        parse_hikvision(fixture("hikvision/parking.xml"), "application/xml", event_kinds={"parking": "camera.parked"})


def test_given_the_same_notification_twice_when_parsed_then_the_same_external_id_even_with_new_boundaries():
    first = only(*anpr_multipart("anpr_hikvision.xml"))
    body, content_type = anpr_multipart("anpr_hikvision.xml")
    second = only(body.replace(b"MIME_boundary", b"Other_boundary"), content_type.replace("MIME", "Other"))
    assert first.external_id == second.external_id
    reposted = fixture("hikvision/anpr_hikvision.xml").replace(b"18:26:40", b"18:26:41")
    assert only(reposted, "application/xml").external_id != first.external_id


def test_given_a_picture_part_that_is_not_an_image_when_parsed_then_the_event_is_kept_and_the_part_named():
    body, content_type = multipart(
        [
            form_part("event_log", "application/json", fixture("hikvision/access_face_pass.json")),
            form_part("Picture", "image/jpeg", b"<html>proxy error</html>", "Picture.jpg"),
        ]
    )
    event = only(body, content_type)
    assert event.media == () and event.attrs["media_rejected"] == ["Picture.jpg"]


def test_given_a_picture_whose_type_lies_when_parsed_then_its_real_type_is_kept():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    body, content_type = multipart(
        [
            form_part("event_log", "application/json", fixture("hikvision/access_face_pass.json")),
            form_part("Picture", "image/jpeg", png, "Picture.jpg"),
        ]
    )
    assert only(body, content_type).media == (Media("Picture.jpg", "image/png", png),)


@pytest.mark.parametrize(
    "parts, reason",
    [
        ([form_part("Picture", "image/jpeg", FACE, "Picture.jpg")], "no_document"),
        (
            [
                form_part("a", "application/json", fixture("hikvision/access_face_pass.json")),
                form_part("b", "application/xml", fixture("hikvision/parking.xml")),
            ],
            "ambiguous_document",
        ),
    ],
)
def test_given_multipart_without_exactly_one_document_when_parsed_then_quarantined(parts, reason):
    with pytest.raises(Quarantine) as caught:
        parse_hikvision(*multipart(parts))
    assert caught.value.reason_code == reason


@pytest.mark.parametrize(
    "body, content_type, reason",
    [
        (b"<Other><eventType>x</eventType></Other>", "application/xml", "unknown_event"),
        (b'{"eventType": "ANPR", "dateTime": "2026-04-23T08:00:00+08:00"}', "application/json", "missing_device"),
        (b'{"macAddress": "a", "dateTime": "2026-04-23T08:00:00+08:00"}', "application/json", "missing_field"),
        (b'{"macAddress": "a", "eventType": "parking"}', "application/json", "missing_field"),
        (b'{"macAddress": "a", "eventType": "parking", "dateTime": 5}', "application/json", "bad_time"),
        (
            b'{"macAddress": "a", "eventType": "ANPR", "dateTime": "2026-04-23T08:00:00+08:00", "ANPR": []}',
            "application/json",
            "wrong_type",
        ),
        (
            b'{"macAddress": "a", "eventType": "AccessControllerEvent", "dateTime": "2026-04-23T08:00:00+08:00",'
            b' "AccessControllerEvent": {"majorEventType": 5, "subEventType": true}}',
            "application/json",
            "wrong_type",
        ),
        (
            b'{"macAddress": "a", "eventType": "parking", "dateTime": "2026-04-23T08:00:00+08:00",'
            b' "eventState": "sleepy"}',
            "application/json",
            "bad_value",
        ),
        (b"[1, 2]", "application/json", "wrong_type"),
        (b"GIF89a...", "image/gif", "unsupported_content_type"),
        (b"hello", "", "unsupported_content_type"),
    ],
)
def test_given_malformed_notifications_when_parsed_then_quarantined_with_the_reason(body, content_type, reason):
    with pytest.raises(Quarantine) as caught:
        parse_hikvision(body, content_type)
    assert caught.value.reason_code == reason
    assert caught.value.message_zh and caught.value.message_en


def test_given_a_time_without_zone_from_a_hikvision_device_when_parsed_then_read_as_site_time():
    body = fixture("hikvision/parking.xml").replace(b"2026-04-23T14:30:00+08:00", b"2026-04-23T14:30:00")
    assert only(body, "application/xml").occurred_at == datetime(2026, 4, 23, 6, 30, tzinfo=UTC)


def test_given_an_envelope_wrapped_in_its_root_name_when_parsed_then_read_as_the_bare_envelope():
    inner = fixture("hikvision/linedetection.json")
    wrapped = b'{"EventNotificationAlert": ' + inner + b"}"
    assert only(wrapped, "application/json") == replace(only(inner, "application/json"), raw=wrapped.decode())
