"""The fast ways through JSON loading and the generic format give exactly what the full ways give: the same values,
the same events, and for bad input the same quarantine reason, field and detail."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.devices.adapters import DEFAULT_LIMITS, Limits, Quarantine, parse_generic
from linli.devices.adapters.common import load_json_fast
from linli.devices.adapters.documents import load_json
from linli.devices.adapters.generic import _parse_event
from linli.devices.adapters.values import decode_utf8, raw_text


def outcome(function, *args, **kwargs):
    try:
        return "ok", function(*args, **kwargs)
    except Quarantine as exc:
        return "quarantined", exc.reason_code, exc.message_en


JSON_TEXTS = [
    '{"a": 1, "b": [1, 2.5, -3e2, true, null, "x"], "c": {"d": "鄂A12345"}}',
    '{"a": 1, "a": 2}',  # duplicate key
    '{"a": 1, "a" : 2}',  # duplicate key, space before the colon
    '{"a": {"k": 1}, "b": {"k": 1, "k": 2}}',  # duplicate key in a nested object
    '{"a": "\\" :", "b": 1}',  # a key-like end inside a string
    '{"n": 12345678901234567890123}',  # past 64 bits
    '{"n": 1234567890123456789}',  # 19 digits
    '{"n": 123456789012345678}',
    '{"n": -123456789012345678}',
    '{"n": 0.10000000000000000000000000000000000000001}',  # longer than 40 characters
    '{"n": 1e400}',
    '{"n": NaN}',
    '{"n": Infinity}',
    '{"s": "\\u0000"}',
    '{"s": "\\ud800"}',
    '{"s": "\\u4e2d"}',
    "[" * 40 + "]" * 40,  # deeper than the limit
    "[" * 20 + "]" * 20,
    '{"s": "' + "x" * 5000 + '"}',  # a string past max_string
    "[" + ",".join(["1"] * 200) + "]",
    '"just a string"',
    "42",
    "not json",
    '{"a": 1,}',
    '{"a": 1} trailing',
    "",
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_given_json_text_when_loaded_fast_then_what_the_strict_loader_gives(text):
    assert outcome(load_json_fast, text, DEFAULT_LIMITS) == outcome(load_json, text, DEFAULT_LIMITS)


def test_given_small_limits_when_loaded_fast_then_the_limits_apply_as_in_the_strict_loader():
    limits = Limits(max_nodes=10, max_depth=3, max_string=8)
    for text in ['{"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}', '{"a": {"b": {"c": {}}}}', '{"a": "123456789"}',
                 '{"a": "1234"}', '{"a": [1, 2]}']:
        assert outcome(load_json_fast, text, limits) == outcome(load_json, text, limits), text


BASE = {"kind": "passage.face", "time": "2026-04-23T06:20:03.120+08:00", "id": "e-1",
        "subject": {"kind": "resident", "ref": "E00001"}, "direction": "in", "score": 0.93}
VARIANTS = [
    {},
    {"id": None},  # no id: the key is a digest of the content
    {"id": "  e-2  "},
    {"id": ""},
    {"id": "x" * 129},
    {"id": 7},
    {"kind": "passage.nope"},
    {"kind": " passage.face "},
    {"kind": 5},
    {"kind": None},
    {"time": "2026-04-23T06:20:03"},  # no zone
    {"time": "1999-04-23T06:20:03Z"},  # out of range
    {"time": " 2026-04-23T06:20:03Z "},
    {"time": "yesterday"},
    {"time": 1776896403},
    {"subject": {"kind": "plate", "ref": "鄂Ａ·12345 "}},
    {"subject": {"kind": "plate", "ref": "无车牌"}},
    {"subject": {"kind": "Resident", "ref": "E1"}},
    {"subject": {"kind": "resident", "ref": "E1", "ref_type": "card_no"}},
    {"subject": {"kind": "resident", "ref": "E1", "ref_type": "plate"}},
    {"subject": {"kind": "resident", "ref": " "}},
    {"subject": {"kind": "resident"}},
    {"subject": {"kind": "resident", "ref": "E1", "extra": 1}},
    {"subject": "E1"},
    {"subject": ""},
    {"subject": None},
    {"score": 93},
    {"score": 101},
    {"score": -0.1},
    {"score": "0.9"},
    {"score": True},
    {"direction": "IN"},
    {"direction": "sideways"},
    {"direction": ""},
    {"state": "start"},
    {"state": "bogus"},
    {"zone": " z1 "},
    {"zone": "z" * 65},
    {"zone": 3},
    {"attrs": {"stationary_s": 200, "sent": 1.5, "flag": True, "none": None, "text": "a"}},
    {"attrs": {"k": [1]}},
    {"attrs": {"k": "x" * 257}},
    {"attrs": {"k" * 65: 1}},
    {"attrs": {f"k{i}": i for i in range(33)}},
    {"attrs": []},
    {"kind": "wristband.heart_rate", "value": 72, "subject": None},
    {"kind": "wristband.heart_rate", "value": 320, "subject": None},
    {"kind": "wristband.heart_rate", "subject": None},
    {"kind": "wristband.heart_rate", "value": 72, "unit": "bpm", "subject": None},
    {"kind": "sensor.gas", "value": 30, "unit": "%LEL", "subject": None},
    {"kind": "device.low_battery", "value": 20, "subject": None},
    {"kind": "camera.motion", "value": 3.5, "subject": None},
    {"kind": "device.heartbeat", "subject": None, "id": None, "score": None, "direction": None},
    {"zone": "a\x00b"},  # NUL: refused by the strict loader
    {"id": 'a": 1, "b'},  # quotes and a key-like end inside a string
    {"zone": "反斜杠\\"},
    {"attrs": {"n": 1234567890123456789012}},  # an integer past 64 bits
    {"device": "other-device"},
    {"device": "AA-BB-CC-DD-EE-FF"},
    {"media": ["snap.jpg"]},
    {"unknown": 1},
]


def full_parse(body: bytes, default_device: str):
    """The full way, as parse_generic took it before it had a fast one."""
    text = decode_utf8(body)
    data = load_json(text, DEFAULT_LIMITS)
    return [_parse_event(data, "", default_device, {}, attach_all=True, raw=raw_text(text, DEFAULT_LIMITS))]


@pytest.mark.parametrize("change", VARIANTS, ids=[json.dumps(v, ensure_ascii=False)[:40] for v in VARIANTS])
def test_given_an_event_when_parsed_then_the_event_or_the_error_of_the_full_reading(change):
    fields = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    for body in (json.dumps(fields, ensure_ascii=False).encode(), json.dumps(fields).encode()):
        for device in ("door-1", "aa:bb:cc:dd:ee:01"):
            fast = outcome(lambda b=body, d=device: parse_generic(b, default_device=d).events)
            assert fast == outcome(full_parse, body, device), (body, device)


def test_given_the_same_time_text_twice_then_each_event_has_its_own_correct_time():
    first = parse_generic(json.dumps({**BASE, "time": "2026-04-23T06:20:03Z"}).encode(), default_device="d")
    second = parse_generic(json.dumps({**BASE, "time": "2026-04-23T14:20:03+08:00"}).encode(), default_device="d")
    again = parse_generic(json.dumps({**BASE, "time": "2026-04-23T06:20:03Z"}).encode(), default_device="d")
    assert first.events[0].occurred_at == second.events[0].occurred_at == again.events[0].occurred_at
    assert [r.events[0].occurred_at_raw for r in (first, second, again)] == [
        "2026-04-23T06:20:03Z", "2026-04-23T14:20:03+08:00", "2026-04-23T06:20:03Z"]


def test_given_a_utf8_body_with_a_bom_or_a_bad_byte_then_decoded_as_before():
    assert parse_generic(b"\xef\xbb\xbf" + json.dumps(BASE).encode(), default_device="d").events[0].external_id == (
        "generic:d:e-1")
    with pytest.raises(Quarantine) as caught:
        parse_generic(b'\xef\xbb\xbf{"kind": "\xff"}', default_device="d")
    assert (caught.value.reason_code, caught.value.message_en.count("byte 10")) == ("invalid_utf8", 1)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                    st.text(max_size=8), st.sampled_from(["in", "out", "start", "E1", " z ", "passage.face"]))
FIELD_VALUES = {
    "kind": st.sampled_from(["passage.face", "passage.plate", "camera.fire_lane", "wristband.heart_rate",
                             "device.heartbeat", "sensor.gas", "nope"]) | SCALARS,
    "time": st.sampled_from(["2026-04-23T06:20:03.120+08:00", "2026-04-23T06:20:03Z", "2026-04-23T06:20:03",
                             " 2026-04-23T06:20:03+08:00 "]) | SCALARS,
    "id": SCALARS,
    "subject": st.none() | SCALARS | st.fixed_dictionaries(
        {"kind": st.sampled_from(["resident", "plate", "visitor", "x"]) | SCALARS,
         "ref": st.sampled_from(["E1", "鄂A12345", " ", ""]) | SCALARS},
        optional={"ref_type": st.sampled_from(["card_no", "plate"]), "extra": SCALARS}),
    "score": SCALARS | st.floats(0, 1),
    "value": SCALARS | st.integers(0, 400),
    "zone": SCALARS,
    "direction": SCALARS,
    "state": SCALARS,
    "attrs": st.none() | SCALARS | st.dictionaries(st.text(max_size=70), SCALARS | st.lists(SCALARS, max_size=2),
                                                    max_size=34),
    "unit": st.sampled_from(["bpm", "%LEL"]),
    "device": st.sampled_from(["door-1", "other"]),
}


VALID = st.fixed_dictionaries(
    {"kind": st.sampled_from(["passage.face", "passage.plate", "camera.fire_lane", "device.heartbeat"]),
     "time": st.sampled_from(["2026-04-23T06:20:03.120+08:00", "2026-04-23T06:20:03Z"])},
    optional={"id": st.sampled_from(["e-1", " e-2 "]), "direction": st.sampled_from(["in", "out"]),
              "score": st.floats(0, 1), "zone": st.sampled_from(["z1", ""]),
              "subject": st.fixed_dictionaries({"kind": st.just("resident"), "ref": st.just("E1")}),
              "attrs": st.dictionaries(st.sampled_from(["stationary_s", "sent", "t"]), st.integers(0, 500),
                                       max_size=3)})


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=VALID, changes=st.fixed_dictionaries({}, optional=FIELD_VALUES).filter(lambda c: len(c) <= 2),
       duplicate=st.sampled_from(["", "kind", "id", "zone", "score"]), ascii_only=st.booleans())
def test_given_any_event_object_when_parsed_then_the_event_or_the_error_of_the_full_reading(base, changes, duplicate,
                                                                                          ascii_only):
    """Mostly well-formed events (so that the fast way is taken), a field or two of any value, sometimes a key
    twice: the fast way gives what the full reading gives."""
    text = json.dumps({**base, **changes}, ensure_ascii=ascii_only)
    if duplicate:
        text = text[:-1] + f', "{duplicate}": "e-9"}}'
    body = text.encode()
    fast = outcome(lambda: parse_generic(body, default_device="door-1").events)
    assert fast == outcome(full_parse, body, "door-1"), text


@pytest.mark.parametrize("tail", [
    '"zone": "\\ud800"',  # a lone surrogate escape
    '"score": 0.930000000000000000000000000000000000000000001',  # a number text past 40 characters
    '"score": 0.9300000000000000000001',  # 22 characters: read the same by both
    '"attrs": {"n": 12345678901234567890}',  # 20 digits
    '"attrs": {"n": 1e400}',
    '"zone": "z1", "zone": "z1"',  # the same key twice with the same value
    '"score" :\t 0.930000000000000000000000000000000000000000001',  # white space around the colon
    '"attrs": {"n" : -1234567890123456789}',  # 20 characters, within 64 bits: the strict loader refuses it
    '"zone": "z:12345678901234567890123"',  # a long run of digits inside a string is no number
    '"attrs": {"t": "1234567890123456789012345", "n": 1}',
])
def test_given_texts_json_dumps_never_writes_when_parsed_then_what_the_full_reading_gives(tail):
    body = ('{"kind": "passage.face", "time": "2026-04-23T06:20:03Z", "id": "e-1", ' + tail + "}").encode()
    assert outcome(lambda: parse_generic(body, default_device="d").events) == outcome(full_parse, body, "d")
