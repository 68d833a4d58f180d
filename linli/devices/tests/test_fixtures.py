"""Every fixture parses to exactly these events: all fields, written out by hand-checked value."""

import json
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from linli.devices.adapters import (
    NormalizedEvent,
    ParseResult,
    parse_dahua_upload,
    parse_frigate,
    parse_generic,
    parse_hikvision,
)
from linli.devices.tests.payloads import FIXTURES, fixture

RECEIVED = datetime(2026, 4, 23, 1, 31, 2, tzinfo=UTC)
FIELDS = (
    "kind",
    "device_ref",
    "occurred_at",
    "occurred_at_raw",
    "external_id",
    "subject_kind",
    "subject_ref",
    "subject_ref_type",
    "score",
    "value",
    "unit",
    "zone",
    "direction",
    "state",
    "attrs",
)


def parse(path: str) -> ParseResult:
    vendor, _, name = path.partition("/")
    body = fixture(path)
    if vendor == "hikvision":
        return parse_hikvision(body, "")
    if vendor == "dahua":
        return parse_dahua_upload(body, "application/json", device_ref="6J0A1B2PAZ0001", received_at=RECEIVED)
    if vendor == "frigate":
        return parse_frigate(f"frigate/{name.split('_')[0]}", body, received_at=RECEIVED)
    return parse_generic(body)


def fields(event: NormalizedEvent) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in FIELDS}
    values["occurred_at"] = event.occurred_at.isoformat().replace("+00:00", "Z")
    return {name: value.value if isinstance(value, Enum) else value for name, value in values.items()}


# Written out and checked by hand against each payload; a change here is a change of stored data (keys!).
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads(
    (Path(__file__).parent / "expected_events.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_given_each_fixture_when_parsed_then_exactly_the_expected_events(path):
    result = parse(path)
    assert [fields(event) for event in result.events] == EXPECTED[path]
    assert all(event.vendor == path.split("/")[0] for event in result.events)


@pytest.mark.parametrize("path", sorted(path for path in EXPECTED if not path.startswith(("dahua/", "generic/b"))))
def test_given_a_single_document_fixture_when_parsed_then_raw_is_its_text(path):
    assert {event.raw for event in parse(path).events} <= {fixture(path).decode()}


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_given_each_fixture_parsed_twice_then_the_same_external_ids(path):
    assert [e.external_id for e in parse(path).events] == [e.external_id for e in parse(path).events]


def test_given_the_fixture_folder_then_every_payload_has_expectations_here_or_in_the_stream_tests():
    files = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file()}
    assert files - set(EXPECTED) == {"dahua/attach_stream.txt"}
