import pytest

from linli.devices.adapters import DEFAULT_LIMITS, Limits, Quarantine
from linli.devices.adapters.multipart import Part, parse_header_value, parse_multipart
from linli.devices.tests.payloads import form_part, multipart, tiny_jpeg

JPEG = tiny_jpeg(b"m")


def test_given_a_hikvision_style_body_when_parsed_then_each_part_with_its_name_type_and_exact_bytes():
    body, content_type = multipart(
        [
            form_part("event_log", "application/json", b'{"a": 1}'),
            form_part("Picture", "image/jpeg", JPEG, "Picture.jpg"),
        ]
    )
    assert parse_multipart(body, content_type, DEFAULT_LIMITS) == [
        Part("event_log", "", "application/json", b'{"a": 1}'),
        Part("Picture", "Picture.jpg", "image/jpeg", JPEG),
    ]


def test_given_bare_line_feeds_a_preamble_and_a_quoted_boundary_when_parsed_then_still_read():
    body = b'preamble\n--b 1\nContent-Disposition: form-data; name="x"\n\nhello\n--b 1--\n'
    parts = parse_multipart(body, 'multipart/form-data; charset=utf-8; boundary="b 1"', DEFAULT_LIMITS)
    assert parts == [Part("x", "", "", b"hello")]


def test_given_an_empty_part_without_headers_when_parsed_then_an_empty_part():
    body = b"--xyz\r\n\r\n\r\n--xyz--"
    assert parse_multipart(body, "multipart/form-data; boundary=xyz", DEFAULT_LIMITS) == [Part("", "", "", b"")]


def test_given_a_part_that_contains_dashes_when_parsed_then_only_the_real_delimiter_ends_it():
    data = b"line\r\n--not-the-boundary\r\n-- xyz\r\n"
    body = b"--xyz\r\nContent-Type: text/plain\r\n\r\n" + data + b"\r\n--xyz--\r\n"
    assert parse_multipart(body, "multipart/form-data; boundary=xyz", DEFAULT_LIMITS)[0].data == data


@pytest.mark.parametrize(
    "body, content_type, reason",
    [
        (b"--xyz\r\n\r\nx\r\n--xyz--", "multipart/form-data", "bad_multipart"),
        (b"--xyz\r\n\r\nx\r\n--xyz--", "multipart/form-data; boundary=", "bad_multipart"),
        (b"--xyz\r\n\r\nx\r\n--xyz--", "multipart/form-data; boundary=" + "x" * 71, "bad_multipart"),
        (b"no delimiter at all", "multipart/form-data; boundary=xyz", "bad_multipart"),
        (
            b"--xyz\r\nContent-Type: text/plain\r\n\r\nhalf a pa",
            "multipart/form-data; boundary=xyz",
            "multipart_truncated",
        ),
        (b"--xyz\r\nContent-Type: text/pl", "multipart/form-data; boundary=xyz", "multipart_truncated"),
        (b"--xyz", "multipart/form-data; boundary=xyz", "multipart_truncated"),
        (b"--xyz junk\r\n\r\nx\r\n--xyz--", "multipart/form-data; boundary=xyz", "bad_multipart"),
        (b"--xyz\r\nno colon here\r\n\r\nx\r\n--xyz--", "multipart/form-data; boundary=xyz", "bad_multipart"),
    ],
)
def test_given_a_broken_multipart_body_when_parsed_then_quarantined_with_the_reason(body, content_type, reason):
    with pytest.raises(Quarantine) as caught:
        parse_multipart(body, content_type, DEFAULT_LIMITS)
    assert caught.value.reason_code == reason


def test_given_more_parts_than_allowed_when_parsed_then_too_many_parts():
    body, content_type = multipart([form_part(f"p{i}", "text/plain", b"x") for i in range(5)])
    with pytest.raises(Quarantine) as caught:
        parse_multipart(body, content_type, Limits(max_parts=4))
    assert caught.value.reason_code == "too_many_parts"
    assert len(parse_multipart(body, content_type, Limits(max_parts=5))) == 5


def test_given_a_part_over_the_size_limit_when_parsed_then_part_too_large():
    body, content_type = multipart([form_part("Picture", "image/jpeg", JPEG + b"\x00" * 100)])
    with pytest.raises(Quarantine) as caught:
        parse_multipart(body, content_type, Limits(max_part=len(JPEG)))
    assert caught.value.reason_code == "part_too_large"


def test_given_headers_longer_than_allowed_when_parsed_then_bad_multipart():
    body = b"--xyz\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\nx\r\n--xyz--"
    with pytest.raises(Quarantine) as caught:
        parse_multipart(body, "multipart/form-data; boundary=xyz", Limits(max_header=64))
    assert caught.value.reason_code == "bad_multipart"


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("Multipart/Form-Data; Boundary=abc", ("multipart/form-data", {"boundary": "abc"})),
        ('form-data; name="a;b"; filename="照片.jpg"', ("form-data", {"name": "a;b", "filename": "照片.jpg"})),
        ('x; name="say \\"hi\\""', ("x", {"name": 'say "hi"'})),
        (";;;=;", ("", {})),
        ("", ("", {})),
    ],
)
def test_given_header_values_when_split_then_type_and_parameters(value, parsed):
    assert parse_header_value(value) == parsed
