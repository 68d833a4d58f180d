"""The checks the form, the API and the spreadsheet import share: one set of rules, messages in zh and en."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.errors import ErrorCollector
from linli.people import validation as v


def _run(check, *args, **kwargs):
    errors = ErrorCollector()
    value = check(*args, errors, **kwargs)
    return value, [(e.field, e.code) for e in errors.errors]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (dt.date(2026, 4, 23), dt.date(2026, 4, 23)),
        (dt.datetime(2026, 4, 23, 15, 30), dt.date(2026, 4, 23)),
        (46135, dt.date(2026, 4, 23)),
        (46135.75, dt.date(2026, 4, 23)),
        ("46135", dt.date(2026, 4, 23)),
        ("46135.0", dt.date(2026, 4, 23)),
        ("2026-04-23", dt.date(2026, 4, 23)),
        ("2026/4/23", dt.date(2026, 4, 23)),
        ("2026.4.23", dt.date(2026, 4, 23)),
        ("20260423", dt.date(2026, 4, 23)),
        ("2026年4月23日", dt.date(2026, 4, 23)),
        ("２０２６－０４－２３", dt.date(2026, 4, 23)),
        ("2026-04-23 00:00:00", dt.date(2026, 4, 23)),
        (None, None),
        ("  ", None),
    ],
)
def test_given_a_date_as_sheets_write_it_when_parsed_then_the_calendar_date(raw, expected):
    assert v.parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30", "昨天", "23/04/2026", -1, 3_000_000, True])
def test_given_something_that_is_not_a_date_when_parsed_then_value_error(raw):
    with pytest.raises((ValueError, TypeError)):
        v.parse_date(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [("2026-13-01", (None, [("since", "date")])), ("1850-01-01", (None, [("since", "date_range")])),
     ("", (None, [])), ("2026年11月1日", (dt.date(2026, 11, 1), []))],
)
def test_given_a_date_field_when_checked_then_the_date_or_the_field_is_named(raw, expected):
    errors = ErrorCollector()
    value = v.check_date(raw, errors, "since", "入住日期")
    assert (value, [(e.field, e.code) for e in errors.errors]) == expected


def test_given_id_numbers_and_phones_when_checked_then_canonical_or_named_errors():
    assert _run(v.check_id_number, " 11010519491231002x ") == ("11010519491231002X", [])
    assert _run(v.check_id_number, 1.1010519491231e17) == ("", [("id_number", "length")])
    assert _run(v.check_id_number, "110105194912310021") == ("", [("id_number", "check_digit")])
    assert _run(v.check_id_number, None) == ("", [])
    assert _run(v.check_phone, "+86 138-0013-8000") == ("13800138000", [])
    assert _run(v.check_phone, "0715-8123456") == ("", [("phone", "format")])
    assert _run(v.check_id_number, "123", field="证件") == ("", [("证件", "length")])


@pytest.mark.parametrize(
    "raw, expected",
    [("男", "M"), ("女", "F"), ("m", "M"), ("Female", "F"), (" F ", "F"), ("", "U"), ("未知", "U"), ("u", "U")],
)
def test_given_a_sex_word_when_checked_then_the_stored_code(raw, expected):
    assert _run(v.check_sex, raw) == (expected, [])


def test_given_an_unknown_sex_word_when_checked_then_sex_is_named():
    assert _run(v.check_sex, "其他") == ("U", [("sex", "invalid_choice")])


@pytest.mark.parametrize(
    "raw, expected",
    [("户主", "head"), ("本人", "head"), ("妻子", "member"), ("孙女", "member"), ("业主", "owner"),
     ("租客", "tenant"), ("TENANT", "tenant"), ("member", "member"), (" 户主 ", "head")],
)
def test_given_a_relation_word_when_checked_then_the_stored_relation(raw, expected):
    assert _run(v.check_relation, raw) == (expected, [])


def test_given_an_unknown_relation_when_checked_then_relation_is_named():
    assert _run(v.check_relation, "邻居") == ("", [("relation", "invalid_choice")])


@pytest.mark.parametrize(
    "raw, expected",
    [("王秀英", ("王秀英", [])), ("  欧阳  娜娜 ", ("欧阳 娜娜", [])), ("", ("", [("name", "required")])),
     ("张三1", ("张三1", [("name", "characters")])), ("<b>李</b>", ("<b>李</b>", [("name", "characters")])),
     ("李" * 61, ("李" * 61, [("name", "too_long")]))],
)
def test_given_a_name_when_checked_then_clean_or_named_error(raw, expected):
    assert _run(v.check_name, raw) == expected


ID_F_1950 = "421202195003150027"  # a woman born 1950-03-15


def test_given_an_id_number_and_nothing_else_when_reconciled_then_sex_and_birth_come_from_it():
    errors = ErrorCollector()
    assert v.reconcile_identity(ID_F_1950, "U", None, errors, sex_given=False, birth_given=False) == (
        "F", dt.date(1950, 3, 15))
    assert errors.errors == []


def test_given_a_birth_date_and_sex_that_disagree_with_the_id_when_reconciled_then_both_fields_are_named():
    errors = ErrorCollector()
    v.reconcile_identity(ID_F_1950, "M", dt.date(1950, 3, 16), errors, sex_given=True, birth_given=True)
    assert [(e.field, e.code) for e in errors.errors] == [("birth_date", "mismatch_id"), ("sex", "mismatch_id")]
    assert "1950-03-15" in errors.errors[0].message_zh and "1950-03-15" in errors.errors[0].message_en


def test_given_agreeing_values_when_reconciled_then_no_error():
    errors = ErrorCollector()
    assert v.reconcile_identity(ID_F_1950, "F", dt.date(1950, 3, 15), errors, sex_given=True, birth_given=True) == (
        "F", dt.date(1950, 3, 15))
    assert errors.errors == []
