"""The generic-format document and the parser agree: its examples parse, its schema names what the code accepts."""

import json
import re
from pathlib import Path

import pytest

from linli.devices.adapters import DEFAULT_LIMITS, Direction, EventKind, Quarantine, State, parse_generic
from linli.devices.adapters.generic import BATCH_FIELDS, EVENT_FIELDS, REF_TYPES, SUBJECT_FIELDS, SUBJECT_KINDS
from linli.devices.adapters.values import parse_iso_time

DOC = Path(__file__).resolve().parents[3] / "docs" / "devices" / "generic-event-format.md"
BLOCKS = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)]
SCHEMA = next(block for block in BLOCKS if "$schema" in block)
EXAMPLES = [block for block in BLOCKS if "$schema" not in block]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.get("kind", "batch"))
def test_given_each_documented_example_when_parsed_then_it_is_accepted_whole(example):
    events, rejects = parse_generic(json.dumps(example, ensure_ascii=False).encode())
    assert rejects == [] and len(events) == len(example.get("events", [example]))


def test_given_the_schema_when_compared_with_the_parser_then_fields_and_vocabularies_match():
    event, batch = SCHEMA["$defs"]["event"], SCHEMA["$defs"]["batch"]
    assert set(event["properties"]) == EVENT_FIELDS and set(batch["properties"]) == BATCH_FIELDS
    assert event["properties"]["kind"]["enum"] == [kind.value for kind in EventKind]
    assert event["properties"]["direction"]["enum"] == [d.value for d in Direction]
    assert event["properties"]["state"]["enum"] == [s.value for s in State]
    subject = event["properties"]["subject"]
    assert set(subject["properties"]) == SUBJECT_FIELDS
    assert subject["properties"]["kind"]["enum"] == list(SUBJECT_KINDS)
    assert subject["properties"]["ref_type"]["enum"] == list(REF_TYPES)
    assert batch["properties"]["events"]["maxItems"] == DEFAULT_LIMITS.max_events


@pytest.mark.parametrize(
    "text",
    [
        "2026-04-23T07:42:18+08:00",
        "2026-04-23T07:42:18.5+0800",
        "2026-04-22T23:42:18Z",
        "2026-04-23 07:42+08",
        "2026-04-23T07:42:18",
        "2026-04-23T07:42:18+8:00",
        "2026/04/23 07:42:18+08:00",
    ],
)
def test_given_a_time_when_checked_by_schema_and_parser_then_both_agree(text):
    by_schema = re.fullmatch(SCHEMA["$defs"]["event"]["properties"]["time"]["pattern"], text) is not None
    try:
        parse_iso_time(text, "time")
        by_parser = True
    except Quarantine:
        by_parser = False
    assert by_schema == by_parser
