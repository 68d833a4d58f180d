from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from linli.devices.adapters import Quarantine
from linli.devices.adapters.base import DEFAULT_LIMITS
from linli.devices.adapters.values import (
    digest,
    from_epoch,
    from_local_epoch,
    normalize_device_ref,
    normalize_plate,
    normalize_score,
    parse_iso_time,
    raw_text,
    sniff_picture,
)
from linli.devices.tests.payloads import tiny_jpeg

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "sent, plate",
    [
        ("鄂L12345", "鄂L12345"),
        ("鄂l12345", "鄂L12345"),
        ("鄂Ｌ１２３４５", "鄂L12345"),  # full-width letters and digits
        ("鄂L·12345", "鄂L12345"),
        ("鄂L.12345", "鄂L12345"),
        (" 京A 12345 ", "京A12345"),
        ("京A-D12345", "京AD12345"),  # new-energy plate with a dash
        ("粤B　D12345", "粤BD12345"),  # ideographic space
        ("沪A1234学", "沪A1234学"),
    ],
)
def test_given_a_plate_as_cameras_write_it_when_normalised_then_one_canonical_spelling(sent, plate):
    assert normalize_plate(sent) == plate


@pytest.mark.parametrize("sent", ["无车牌", "未识别", "", "   ", "鄂", "鄂L12345678901", "鄂L1234#5"])
def test_given_text_that_is_no_plate_when_normalised_then_none(sent):
    assert normalize_plate(sent) is None


@pytest.mark.parametrize(
    "sent, score", [(0, 0.0), (0.5, 0.5), (1, 1.0), (1.5, 0.015), (98, 0.98), (100, 1.0), (0.958984375, 0.959)]
)
def test_given_a_score_on_either_scale_when_normalised_then_between_zero_and_one(sent, score):
    assert normalize_score(sent, "score") == score


@pytest.mark.parametrize("sent", [-0.1, 100.5, float("nan"), float("inf")])
def test_given_a_score_outside_both_scales_when_normalised_then_quarantined(sent):
    with pytest.raises(Quarantine) as caught:
        normalize_score(sent, "ANPR.confidenceLevel")
    assert caught.value.reason_code == "bad_score"
    assert caught.value.message_en.startswith("ANPR.confidenceLevel: ")


@pytest.mark.parametrize(
    "sent, expected",
    [
        ("2026-04-23T07:42:18+08:00", datetime(2026, 4, 22, 23, 42, 18, tzinfo=UTC)),
        ("2026-04-23T07:42:18+0800", datetime(2026, 4, 22, 23, 42, 18, tzinfo=UTC)),
        ("2026-04-22T23:42:18Z", datetime(2026, 4, 22, 23, 42, 18, tzinfo=UTC)),
        ("2026-04-23 07:42:18.250+08:00", datetime(2026, 4, 22, 23, 42, 18, 250000, tzinfo=UTC)),
    ],
)
def test_given_an_iso_time_with_a_zone_when_parsed_then_aware_utc(sent, expected):
    parsed = parse_iso_time(sent, "time")
    assert parsed == expected and parsed.tzinfo is UTC


def test_given_an_iso_time_without_zone_when_parsed_strictly_then_quarantined_as_naive():
    with pytest.raises(Quarantine) as caught:
        parse_iso_time("2026-04-23T07:42:18", "events[2].time")
    assert caught.value.reason_code == "naive_time"
    assert caught.value.message_zh == "events[2].time：时间缺少时区（2026-04-23T07:42:18）"


def test_given_an_iso_time_without_zone_and_a_site_zone_when_parsed_then_read_as_site_local_time():
    assert parse_iso_time("2026-04-23T07:42:18", "dateTime", naive_tz=SHANGHAI) == datetime(
        2026, 4, 22, 23, 42, 18, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "sent, reason",
    [
        ("2026-13-01T00:00:00+08:00", "bad_time"),
        ("yesterday", "bad_time"),
        ("２０２６-04-23T07:42:18+08:00", "bad_time"),
        ("1970-01-01T08:00:00+08:00", "time_out_of_range"),
        ("2150-01-01T00:00:00Z", "time_out_of_range"),
    ],
)
def test_given_a_malformed_or_absurd_time_when_parsed_then_quarantined_with_the_reason(sent, reason):
    with pytest.raises(Quarantine) as caught:
        parse_iso_time(sent, "time")
    assert caught.value.reason_code == reason


def test_given_dahua_utc_which_is_local_time_when_read_then_shifted_by_the_site_zone_but_realutc_is_not():
    local_0750 = 1776930612  # 2026-04-23 07:50:12 written as if it were UTC
    assert from_local_epoch(local_0750, SHANGHAI, "UTC") == datetime(2026, 4, 22, 23, 50, 12, tzinfo=UTC)
    assert from_local_epoch(local_0750, timezone(timedelta(hours=5)), "UTC") == datetime(
        2026, 4, 23, 2, 50, 12, tzinfo=UTC
    )
    assert from_epoch(local_0750, "RealUTC") == datetime(2026, 4, 23, 7, 50, 12, tzinfo=UTC)


@pytest.mark.parametrize("seconds", [0, -5, 1e20, float("nan"), float("inf")])
def test_given_an_epoch_from_a_broken_clock_when_read_then_out_of_range(seconds):
    with pytest.raises(Quarantine) as caught:
        from_local_epoch(seconds, SHANGHAI, "UTC")
    assert caught.value.reason_code == "time_out_of_range"


def test_given_the_same_parts_when_digested_then_the_same_key_and_another_for_other_parts():
    assert digest("a", "b") == digest("a", "b") == "sha256:" + digest("a", "b")[7:]
    assert len(digest("a")) == len("sha256:") + 32
    assert digest("a", "b") != digest("ab") != digest("a", "c")


@pytest.mark.parametrize(
    "sent, ref",
    [
        ("BC:5E:33:4A:7C:21", "bc:5e:33:4a:7c:21"),
        ("bc-5e-33-4a-7c-21", "bc:5e:33:4a:7c:21"),
        (" 6J0A1B2PAZ0001 ", "6J0A1B2PAZ0001"),
        ("aabbccddeeff", "aabbccddeeff"),
    ],
)
def test_given_device_names_when_normalised_then_macs_have_one_spelling_and_serials_stay(sent, ref):
    assert normalize_device_ref(sent, "macAddress") == ref


@pytest.mark.parametrize("sent", ["", "x" * 65, "cam\nera"])
def test_given_an_unusable_device_name_when_normalised_then_quarantined(sent):
    with pytest.raises(Quarantine):
        normalize_device_ref(sent, "device")


def test_given_raw_text_with_nul_and_bad_bytes_when_kept_then_storable_and_cut_to_the_limit():
    assert raw_text(b"ab\x00c\xff", DEFAULT_LIMITS) == "ab\ufffdc\ufffd"
    assert len(raw_text("x" * 100_000, DEFAULT_LIMITS)) == DEFAULT_LIMITS.max_raw


def test_given_picture_bytes_when_sniffed_then_only_real_jpeg_and_png_are_pictures():
    assert sniff_picture(tiny_jpeg()) == "image/jpeg"
    assert sniff_picture(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_picture(b"GIF89a") is None
    assert sniff_picture(b"") is None
