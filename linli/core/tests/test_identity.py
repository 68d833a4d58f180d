import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.core.identity import (
    IdNumberError,
    birth_date_from_id,
    clean_prose,
    clean_text,
    id_check_digit,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_mobile,
    sex_from_id,
)

VALID = "11010519491231002X"  # the GB 11643 example number


def test_given_the_standard_example_when_checked_then_it_is_valid_and_decodes_birth_and_sex():
    assert normalize_id_number(VALID) == VALID
    assert birth_date_from_id(VALID) == dt.date(1949, 12, 31)
    assert sex_from_id(VALID) == "F"


def test_given_full_width_digits_and_a_lower_x_when_normalized_then_canonical():
    assert normalize_id_number("１１０１０５１９４９１２３１００２ｘ ") == VALID


@pytest.mark.parametrize(
    "value, code",
    [
        ("", "required"),
        ("11010519491231002", "length"),
        ("1101051949123100X2", "format"),
        ("99010519491231002X", "region"),
        ("110105194913310028", "birth_date"),
        ("110105194912310021", "check_digit"),
    ],
)
def test_given_a_bad_id_number_when_checked_then_the_reason_is_named_in_both_languages(value, code):
    with pytest.raises(IdNumberError) as exc:
        normalize_id_number(value)
    assert exc.value.code == code
    assert exc.value.zh and exc.value.en


@given(st.text(max_size=30))
def test_any_text_either_normalizes_to_a_valid_number_or_raises_id_error(text):
    try:
        out = normalize_id_number(text)
    except IdNumberError:
        return
    assert len(out) == 18 and id_check_digit(out[:17]) == out[17]


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_every_well_formed_mobile_survives_prefixes_and_separators(phone):
    assert normalize_mobile("+86 " + phone[:3] + "-" + phone[3:]) == phone


def test_masks_show_region_and_last_four_only():
    assert mask_id_number("420102199001011234") == "420102********1234"
    assert mask_phone("13812345678") == "138****5678"


def test_clean_text_folds_full_width_and_blanks():
    assert clean_text("\u3000王\u3000秀英  ") == "王 秀英"
    assert clean_text("ＡＢＣ１２３") == "ABC123"


def test_clean_prose_keeps_chinese_punctuation_and_lines():
    written = "  厨房水管漏水，已经三天了。\r\n楼下（302）也渗水：\u200b请尽快！\n\n\n\n谢谢  "
    assert clean_prose(written) == "厨房水管漏水，已经三天了。\n楼下（302）也渗水：请尽快！\n\n谢谢"
    assert clean_prose("a \t\u3000 b") == "a b"
    assert clean_prose(None) == ""


def test_bad_mobile_is_rejected():
    with pytest.raises(IdNumberError):
        normalize_mobile("12345")
