"""Hypothesis fuzzing of every entry point: whatever comes in, only valid events or a Quarantine come out."""

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.devices.adapters import (
    DEFAULT_LIMITS,
    DahuaStreamParser,
    Direction,
    EventKind,
    NormalizedEvent,
    ParseResult,
    Quarantine,
    Reason,
    State,
    SubjectKind,
    SubjectRefType,
    parse_dahua_upload,
    parse_frigate,
    parse_generic,
    parse_hikvision,
)
from linli.devices.tests.payloads import dahua_part, fixture, form_part, multipart, tiny_jpeg

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECEIVED = datetime(2026, 4, 23, 1, 31, 2, tzinfo=UTC)
STREAM_TYPE = "multipart/x-mixed-replace; boundary=myboundary"
REASONS = {reason.value for reason in Reason}


def check_event(event: NormalizedEvent) -> None:
    assert isinstance(event.kind, EventKind) and isinstance(event.state, State)
    assert isinstance(event.direction, Direction) and isinstance(event.subject_kind, SubjectKind)
    assert isinstance(event.subject_ref_type, SubjectRefType)
    assert (event.subject_kind is SubjectKind.NONE) == (event.subject_ref == "")
    assert event.occurred_at.tzinfo is UTC and 2000 <= event.occurred_at.year < 2100
    assert 0 < len(event.device_ref) <= 64 and event.external_id.startswith(f"{event.vendor}:{event.device_ref}:")
    assert len(event.external_id) <= 255
    assert event.score is None or 0 <= event.score <= 1
    assert event.value is None or math.isfinite(event.value)
    assert len(event.raw) <= DEFAULT_LIMITS.max_raw and "\x00" not in event.raw
    event.raw.encode("utf-8")
    json.dumps(event.attrs, ensure_ascii=False).encode("utf-8")
    for name, content_type, data in event.media:
        assert (
            content_type in ("image/jpeg", "image/png")
            and isinstance(name, str)
            and data[:2] in (b"\xff\xd8", b"\x89P")
        )


def check(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    for event in result.events:
        check_event(event)
    for reject in result.rejects:
        assert reject.reason_code in REASONS and reject.message_zh and reject.message_en
        reject.raw.encode("utf-8")


def outcome(parse: Callable[[], ParseResult]) -> None:
    """The property: a ParseResult of valid events, or a Quarantine with a known reason. Nothing else."""
    try:
        result = parse()
    except Quarantine as exc:
        assert exc.reason_code in REASONS and exc.message_zh and exc.message_en
        return
    check(result)


ENTRY_POINTS: dict[str, Callable[[bytes, str], ParseResult]] = {
    "generic": lambda body, content_type: parse_generic(body, content_type, default_device="GW-1"),
    "hikvision": lambda body, content_type: parse_hikvision(body, content_type),
    "dahua": lambda body, content_type: parse_dahua_upload(body, content_type, device_ref="D1", received_at=RECEIVED),
    "frigate-events": lambda body, _: parse_frigate("frigate/events", body, received_at=RECEIVED),
    "frigate-reviews": lambda body, _: parse_frigate("frigate/reviews", body, received_at=RECEIVED),
    "frigate-available": lambda body, _: parse_frigate("frigate/available", body, received_at=RECEIVED),
}
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/json",
        "application/xml",
        "text/plain",
        "multipart/form-data; boundary=MIME_boundary",
        "multipart/form-data; boundary=b",
        "multipart/form-data",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["2026-04-23T07:42:18+08:00", "ANPR", "鄂L12345", "passage.face", "new", "start", "1776930612"])
)
JSON_TREES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)


@FUZZ
@given(name=st.sampled_from(sorted(ENTRY_POINTS)), body=st.binary(max_size=600), content_type=CONTENT_TYPES)
def test_given_arbitrary_bytes_when_parsed_then_only_events_or_quarantine(name, body, content_type):
    outcome(lambda: ENTRY_POINTS[name](body, content_type))


@FUZZ
@given(name=st.sampled_from(sorted(ENTRY_POINTS)), tree=JSON_TREES)
def test_given_arbitrary_json_trees_when_parsed_then_only_events_or_quarantine(name, tree):
    body = json.dumps(tree).encode()
    outcome(lambda: ENTRY_POINTS[name](body, "application/json"))


def shaped(tree: Any) -> st.SearchStrategy[tuple[str, Any]]:
    """Arbitrary values where each vendor expects its envelope, so fuzzing reaches the field readers."""
    return st.sampled_from(
        [
            ("generic", {"device": "GW-1", "events": [tree, {"kind": "device.heartbeat", "time": tree}]}),
            ("generic", {"kind": "passage.plate", "time": "2026-04-23T07:42:18+08:00", "subject": tree}),
            (
                "hikvision",
                {
                    "macAddress": "a",
                    "eventType": "AccessControllerEvent",
                    "dateTime": "2026-04-23T07:42:18+08:00",
                    "AccessControllerEvent": tree,
                },
            ),
            (
                "hikvision",
                {"macAddress": "a", "eventType": "ANPR", "dateTime": "2026-04-23T07:42:18+08:00", "ANPR": tree},
            ),
            (
                "hikvision",
                {
                    "macAddress": "a",
                    "eventType": "parking",
                    "dateTime": "2026-04-23T07:42:18+08:00",
                    "DetectionRegionList": tree,
                },
            ),
            ("dahua", {"Events": [{"Code": "AccessControl", "Data": tree}, {"Code": "TrafficJunction", "Data": tree}]}),
            (
                "dahua",
                {"Events": [{"Code": "FaceRecognition", "Data": tree}, {"Code": "CrossRegionDetection", "Data": tree}]},
            ),
            ("frigate-events", {"type": "update", "after": tree}),
            ("frigate-reviews", {"type": "end", "after": tree}),
        ]
    )


@FUZZ
@given(data=st.data(), tree=JSON_TREES)
def test_given_arbitrary_values_inside_vendor_envelopes_when_parsed_then_only_events_or_quarantine(data, tree):
    name, document = data.draw(shaped(tree))
    body = json.dumps(document).encode()
    outcome(lambda: ENTRY_POINTS[name](body, "application/json"))


JSON_FIXTURES = [
    ("generic", "generic/heart_rate.json"),
    ("generic", "generic/batch.json"),
    ("hikvision", "hikvision/access_face_pass.json"),
    ("hikvision", "hikvision/linedetection.json"),
    ("dahua", "dahua/upload_access.json"),
    ("dahua", "dahua/upload_traffic.json"),
    ("dahua", "dahua/upload_face_recognition.json"),
    ("frigate-events", "frigate/events_update_car_fire_lane.json"),
    ("frigate-events", "frigate/events_new_face.json"),
    ("frigate-reviews", "frigate/reviews_alert.json"),
]
XML_FIXTURES = [
    ("hikvision", "hikvision/anpr_isapi.xml"),
    ("hikvision", "hikvision/anpr_hikvision.xml"),
    ("hikvision", "hikvision/fielddetection.xml"),
]


def swap_at_random_path(document: Any, data: st.DataObject, replacement: Any) -> Any:
    """Replace one value somewhere in the document (a field type swap)."""
    node = document
    for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or not node[key]:
                node[key] = replacement
                return document
            node = node[key]
        elif isinstance(node, list) and node:
            node = node[data.draw(st.integers(min_value=0, max_value=len(node) - 1))]
    if isinstance(node, dict) and node:
        node[data.draw(st.sampled_from(sorted(node)))] = replacement
    elif isinstance(node, list) and node:
        node[0] = replacement
    return document


@FUZZ
@given(data=st.data(), fixture_ref=st.sampled_from(JSON_FIXTURES), replacement=JSON_TREES)
def test_given_fixtures_with_a_field_of_another_type_when_parsed_then_only_events_or_quarantine(
    data, fixture_ref, replacement
):
    name, path = fixture_ref
    document = swap_at_random_path(json.loads(fixture(path)), data, replacement)
    body = json.dumps(document, ensure_ascii=False).encode()
    outcome(lambda: ENTRY_POINTS[name](body, "application/json"))


@FUZZ
@given(data=st.data(), fixture_ref=st.sampled_from(JSON_FIXTURES + XML_FIXTURES))
def test_given_truncated_or_byte_flipped_fixtures_when_parsed_then_only_events_or_quarantine(data, fixture_ref):
    name, path = fixture_ref
    body = bytearray(fixture(path))
    if data.draw(st.booleans()):
        body = body[: data.draw(st.integers(min_value=0, max_value=len(body)))]
    for _ in range(data.draw(st.integers(min_value=0, max_value=8))):
        if body:
            at = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
            body[at] = data.draw(st.integers(min_value=0, max_value=255) | st.integers(min_value=0x20, max_value=0x7E))
    outcome(lambda: ENTRY_POINTS[name](bytes(body), ""))


@FUZZ
@given(data=st.data())
def test_given_mutated_multipart_uploads_when_parsed_then_only_events_or_quarantine(data):
    body, content_type = multipart(
        [
            form_part("anpr.xml", "application/xml", fixture("hikvision/anpr_isapi.xml"), "anpr.xml"),
            form_part("licensePlatePicture.jpg", "image/jpeg", tiny_jpeg(b"p"), "licensePlatePicture.jpg"),
        ]
    )
    mutated = bytearray(body)
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(min_value=0, max_value=len(mutated)))]
    for _ in range(data.draw(st.integers(min_value=0, max_value=6))):
        if mutated:
            at = data.draw(st.integers(min_value=0, max_value=len(mutated) - 1))
            mutated[at] = data.draw(st.sampled_from([0x0D, 0x0A, 0x2D, 0x00, 0xFF, 0x22, 0x3C]))
    outcome(lambda: parse_hikvision(bytes(mutated), content_type))
    outcome(lambda: parse_generic(bytes(mutated), content_type))


def stream_bytes() -> bytes:
    return fixture("dahua/attach_stream.txt") + dahua_part(tiny_jpeg(b"s"), "image/jpeg") + dahua_part(b"Heartbeat")


def feed_in_chunks(data: bytes, cuts: list[int]) -> ParseResult:
    parser = DahuaStreamParser(STREAM_TYPE, device_ref="D1")
    result = ParseResult([], [])
    start = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        out = parser.feed(data[start:cut], received_at=RECEIVED)
        result.events.extend(out.events)
        result.rejects.extend(out.rejects)
        start = cut
    flushed = parser.flush()
    return ParseResult(result.events + flushed.events, result.rejects + flushed.rejects)


@FUZZ
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(stream_bytes())), max_size=30))
def test_given_the_attach_stream_split_anywhere_when_fed_then_the_same_result_as_in_one_piece(cuts):
    data = stream_bytes()
    assert feed_in_chunks(data, cuts) == feed_in_chunks(data, [])


@FUZZ
@given(
    chunks=st.lists(
        st.binary(max_size=80)
        | st.sampled_from(
            [
                b"--myboundary\r\n",
                b"Content-Type: text/plain\r\n\r\n",
                b"Content-Length: 9\r\n\r\n",
                b"Content-Type: image/jpeg\r\nContent-Length: 3\r\n\r\n\xff\xd8\xff",
                b'Code=VideoMotion;action=Start;index=0;data={"UTC": 1776930612}\r\n',
                b"Heartbeat\r\n",
                b"--myboundary--\r\n",
                dahua_part(b"Heartbeat"),
                dahua_part(b'Code=CrossRegionDetection;action=Start;index=1;data={"Name": "wall", "UTC": 1776930612}'),
                dahua_part(tiny_jpeg(), "image/jpeg"),
            ]
        ),
        max_size=20,
    )
)
def test_given_arbitrary_chunks_on_the_attach_stream_when_fed_then_only_events_rejects_or_quarantine(chunks):
    parser = DahuaStreamParser(STREAM_TYPE, device_ref="D1")
    for chunk in chunks:
        outcome(lambda chunk=chunk: parser.feed(chunk, received_at=RECEIVED))
    outcome(parser.flush)


@FUZZ
@given(topic=st.text(max_size=40), payload=st.binary(max_size=200))
def test_given_arbitrary_topics_when_parsed_then_only_events_or_quarantine(topic, payload):
    outcome(lambda: parse_frigate(topic, payload, received_at=RECEIVED))
