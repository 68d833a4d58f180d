"""Hostile payloads: huge, deeply nested, XML bombs, impossible numbers, broken text. Each ends in a Quarantine
with a clear reason, quickly."""

from collections.abc import Callable

import pytest

from linli.devices.adapters import (
    DEFAULT_LIMITS,
    DahuaStreamParser,
    ParseResult,
    Quarantine,
    parse_dahua_upload,
    parse_frigate,
    parse_generic,
    parse_hikvision,
)
from linli.devices.adapters.documents import load_json, load_xml
from linli.devices.tests.payloads import dahua_part, fixture

TEN_MB = 10 * 1024 * 1024
DEEP = 10_000

JSON_ENTRY_POINTS: dict[str, Callable[[bytes], ParseResult]] = {
    "generic": lambda body: parse_generic(body, "application/json"),
    "hikvision": lambda body: parse_hikvision(body, "application/json"),
    "dahua": lambda body: parse_dahua_upload(body, "application/json", device_ref="D1"),
    "frigate": lambda body: parse_frigate("frigate/events", body),
}


def reason_of(parse: Callable[[], object]) -> str:
    with pytest.raises(Quarantine) as caught:
        parse()
    return caught.value.reason_code


@pytest.mark.parametrize("name", JSON_ENTRY_POINTS)
def test_given_a_10_mb_body_when_parsed_then_refused_before_parsing(name):
    body = b'{"pad": "' + b"x" * TEN_MB + b'"}'
    reason = reason_of(lambda: JSON_ENTRY_POINTS[name](body))
    assert reason == "body_too_large"


def test_given_a_10_mb_multipart_body_when_parsed_by_hikvision_then_refused_before_parsing():
    body = b"--b\r\n\r\n" + b"\xff" * TEN_MB + b"\r\n--b--"
    reason = reason_of(lambda: parse_hikvision(body, "multipart/form-data; boundary=b"))
    assert reason == "body_too_large"


def test_given_a_10_mb_part_in_the_dahua_stream_when_fed_then_the_part_is_dropped_and_the_stream_goes_on():
    parser = DahuaStreamParser("multipart/x-mixed-replace; boundary=myboundary", device_ref="D1")
    result = parser.feed(dahua_part(b"\xff\xd8\xff" + b"\x00" * TEN_MB, "image/jpeg") + dahua_part(b"Heartbeat"))
    assert [r.reason_code for r in result.rejects] == ["part_too_large"]
    assert [e.kind.value for e in result.events] == ["device.heartbeat"]


@pytest.mark.parametrize("name", JSON_ENTRY_POINTS)
@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
def test_given_json_nested_10000_deep_when_parsed_then_refused_without_recursion_error(name, opening, closing):
    body = opening * DEEP + b"1" + closing * DEEP
    reason = reason_of(lambda: JSON_ENTRY_POINTS[name](body))
    assert reason == "json_too_deep"


def test_given_json_nested_10000_deep_in_a_dahua_stream_part_when_fed_then_a_reject():
    parser = DahuaStreamParser("multipart/x-mixed-replace; boundary=myboundary", device_ref="D1")
    data = b"Code=VideoMotion;action=Start;index=0;data=" + b"[" * DEEP + b"]" * DEEP
    result = parser.feed(dahua_part(data) + dahua_part(b"Heartbeat"))
    assert [r.reason_code for r in result.rejects] == ["json_too_deep"]


def test_given_json_just_past_the_depth_limit_when_loaded_then_too_deep_and_at_the_limit_then_loaded():
    limit = DEFAULT_LIMITS.max_depth
    assert load_json("[" * limit + "]" * limit, DEFAULT_LIMITS) is not None
    assert reason_of(lambda: load_json("[" * (limit + 1) + "]" * (limit + 1), DEFAULT_LIMITS)) == "json_too_deep"


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"score": NaN}', "number_out_of_range"),
        ('{"score": Infinity}', "number_out_of_range"),
        ('{"score": -Infinity}', "number_out_of_range"),
        ('{"score": 1e999}', "number_out_of_range"),
        ('{"n": ' + "9" * 5000 + "}", "number_out_of_range"),
        ('{"n": 12345678901234567890}', "number_out_of_range"),
        ('{"a": 1, "a": 2}', "duplicate_key"),
        ('{"a": "\\u0000"}', "invalid_text"),
        ('{"a": "\\ud800"}', "invalid_text"),
        ('{"\\ud800": 1}', "invalid_text"),
        ('{"a": "' + "x" * 5000 + '"}', "string_too_long"),
        ("[" + "0," * 200_000 + "0]", "too_many_nodes"),
        ('{"a": 1', "invalid_json"),
        ("{'a': 1}", "invalid_json"),
        ('{"a": 1} trailing', "invalid_json"),
    ],
)
def test_given_impossible_json_when_loaded_then_quarantined_with_the_reason(text, reason):
    assert reason_of(lambda: load_json(text, DEFAULT_LIMITS)) == reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<EventNotificationAlert><eventType>&lol3;</eventType></EventNotificationAlert>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EventNotificationAlert><eventType>&xxe;</eventType></EventNotificationAlert>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE EventNotificationAlert SYSTEM "http://127.0.0.1:9/evil.dtd">
<EventNotificationAlert><eventType>ANPR</eventType></EventNotificationAlert>"""


@pytest.mark.parametrize(
    "body, reason",
    [
        (BILLION_LAUGHS, "xml_forbidden"),
        (EXTERNAL_ENTITY, "xml_forbidden"),
        (EXTERNAL_DTD, "xml_forbidden"),
        (b"<a>" * DEEP + b"</a>" * DEEP, "xml_too_deep"),
        (b"<r>" + b"<e/>" * 200_000 + b"</r>", "too_many_nodes"),
        (b"<r><t>" + b"x" * 5000 + b"</t></r>", "string_too_long"),
        (b"<r><t>" + b"x&amp;" * 3000 + b"</t></r>", "string_too_long"),
        (b"<EventNotificationAlert><eventType>ANPR</eventType>", "invalid_xml"),
        (b'<?xml version="1.0" encoding="GB2312"?><r>\xff\xff</r>', "invalid_xml"),
        (b'<?xml version="1.0" encoding="Big5"?><r>\xa4\xa4</r>', "invalid_xml"),
        (b'<?xml version="1.0" encoding="U-F-8"?><r/>', "invalid_xml"),
        (b"<r>\xff\xfe</r>", "invalid_xml"),
        (b"<r>&#0;</r>", "invalid_xml"),
        (b"<r/><r/>", "invalid_xml"),
    ],
)
def test_given_hostile_xml_when_parsed_by_hikvision_then_quarantined_with_the_reason(body, reason):
    reason_found = reason_of(lambda: parse_hikvision(body, "application/xml"))
    assert reason_found == reason


def test_given_xml_declared_as_gb2312_when_parsed_then_read_as_chinese_text():
    utf8 = fixture("hikvision/anpr_isapi.xml")
    gb2312 = utf8.replace(b'encoding="UTF-8"', b'encoding="GB2312"').decode("utf-8").encode("gb2312")
    event = parse_hikvision(gb2312, "application/xml").events[0]
    assert (event.subject_ref, event.attrs["channel_name"]) == ("鄂L12345", "北门入口车牌识别")
    assert "<channelName>北门入口车牌识别</channelName>" in event.raw and 'encoding="UTF-8"' in event.raw
    assert event.external_id == parse_hikvision(utf8, "application/xml").events[0].external_id


def test_given_xml_within_the_limits_when_loaded_then_repeated_elements_become_a_list():
    assert load_xml(b"<r xmlns='urn:x'><a>1</a><a>2</a><b><c> x </c></b></r>", DEFAULT_LIMITS) == (
        "r",
        {"a": ["1", "2"], "b": {"c": "x"}},
    )


@pytest.mark.parametrize(
    "parse",
    [
        lambda: parse_generic(b'{"kind": "\xff"}'),
        lambda: parse_dahua_upload(b'{"Events": "\xc3\x28"}', device_ref="D1"),
        lambda: parse_frigate("frigate/available", b"onl\xffine"),
        lambda: parse_hikvision(b'{"eventType": "\xed\xa0\x80"}', "application/json"),
    ],
)
def test_given_invalid_utf8_when_parsed_then_quarantined_as_invalid_utf8(parse):
    assert reason_of(parse) == "invalid_utf8"


@pytest.mark.parametrize(
    "content_type, body, reason",
    [
        ("multipart/form-data", b"--b\r\n\r\n{}\r\n--b--", "bad_multipart"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Type: application/json\r\n\r\n{}", "multipart_truncated"),
        ("multipart/form-data; boundary=b", b"--b--", "no_document"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Type: application/json\r\n\r\n{\r\n--b--", "invalid_json"),
    ],
)
def test_given_bad_multipart_when_parsed_by_hikvision_and_generic_then_quarantined(content_type, body, reason):
    assert reason_of(lambda: parse_hikvision(body, content_type)) == reason
    assert reason_of(lambda: parse_generic(body, content_type)) == reason


def test_given_too_many_parts_when_parsed_then_refused():
    body = b"".join(b"--b\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n" for _ in range(17)) + b"--b--"
    assert reason_of(lambda: parse_hikvision(body, "multipart/form-data; boundary=b")) == "too_many_parts"


def test_given_wrong_types_everywhere_in_a_real_payload_when_parsed_then_quarantined_not_crashed():
    body = fixture("hikvision/access_face_pass.json").replace(b'"serialNo":\t18234', b'"serialNo":\t{"x": []}')
    assert reason_of(lambda: parse_hikvision(body, "application/json")) == "wrong_type"
    body = fixture("frigate/events_update_car_fire_lane.json").replace(
        b'"stationary": true, "motionless_count": 1470', b'"stationary": "very", "motionless_count": 1470'
    )
    assert reason_of(lambda: parse_frigate("frigate/events", body)) == "wrong_type"
