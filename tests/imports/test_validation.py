"""Typing text cells per field kind; every bad cell gets a reason. No database needed."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from crm.imports.fields import fields_for
from crm.imports.validation import normalise_email, normalise_phone, parse_column

CUSTOMER = fields_for("customers")
ORDER = fields_for("orders")


def _parse(values, spec):
    result = parse_column(pd.Series(values, dtype=object), spec)
    return result.values.tolist(), result.errors.mask.tolist(), result.errors.reasons


@pytest.mark.parametrize(
    "text",
    ["1990-05-10", "1990/5/10", "1990.05.10", "19900510", "1990年5月10日", "1990년 5월 10일", "05/10/1990"],
)
def test_birth_dates_in_common_spellings_parse(text):
    values, invalid, _ = _parse([text], CUSTOMER["birth_date"])
    assert invalid == [False]
    assert values[0].date() == date(1990, 5, 10)


def test_day_first_dates_are_recognised_when_the_column_proves_it():
    values, invalid, _ = _parse(["31/12/1990", "01/02/1990"], CUSTOMER["birth_date"])
    assert invalid == [False, False]
    assert [value.date() for value in values] == [date(1990, 12, 31), date(1990, 2, 1)]


def test_impossible_and_future_birth_dates_are_rejected_with_reasons():
    _, invalid, reasons = _parse(["1990-13-01", "2999-01-01", "1850-01-01", ""], CUSTOMER["birth_date"])
    assert invalid == [True, True, True, False]
    assert reasons[:3].tolist() == ["not a date (use YYYY-MM-DD)", "in the future", "before 1900"]


def test_order_dates_with_time_zones_become_naive_utc():
    values, invalid, _ = _parse(["2025-01-10T12:00:00+09:00", "2025-01-10 12:00"], ORDER["order_date"])
    assert invalid == [False, False]
    assert values == [pd.Timestamp("2025-01-10 03:00"), pd.Timestamp("2025-01-10 12:00")]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["$1,234.50", "12.5", "₩15000"], [1234.5, 12.5, 15000.0]),
        (["12,50", "1.234,50", "3"], [12.5, 1234.5, 3.0]),  # decimal commas
        (["19.999"], [20.0]),  # money is rounded to cents
    ],
)
def test_money_accepts_currency_symbols_and_both_decimal_marks(cells, expected):
    values, invalid, _ = _parse(cells, ORDER["total"])
    assert values == expected
    assert not any(invalid)


def test_negative_or_non_numeric_money_is_rejected():
    _, invalid, reasons = _parse(["-5", "(3.00)", "abc"], ORDER["total"])
    assert invalid == [True, True, True]
    assert reasons.tolist() == ["must not be negative", "must not be negative", "not a number"]


def test_whole_numbers_accept_thousands_separators_but_not_fractions():
    values, invalid, _ = _parse(["1.250", "1,250", "80", "2.5"], CUSTOMER["loyalty_points"])
    assert values[:3] == [1250.0, 1250.0, 80.0]
    assert invalid == [False, False, False, True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("M", "male"),
        ("f", "female"),
        ("女", "female"),
        ("남", "male"),
        ("여성", "female"),
        ("男性", "male"),
        ("x", "other"),
    ],
)
def test_gender_spellings_map_to_the_stored_values(text, expected):
    values, invalid, _ = _parse([text], CUSTOMER["gender"])
    assert (values[0], invalid[0]) == (expected, False)


def test_unknown_choices_list_the_allowed_values():
    _, invalid, reasons = _parse(["maybe"], CUSTOMER["status"])
    assert invalid == [True]
    assert reasons[0] == "must be one of active, inactive, prospect"


def test_emails_and_phones_are_checked_and_normalised():
    _, invalid, _ = _parse(["a@b.co", "a@@b", "no-at.example.com"], CUSTOMER["email"])
    assert invalid == [False, True, True]
    _, invalid, _ = _parse(["+82 10-1234-5678", "123", "call me"], CUSTOMER["phone"])
    assert invalid == [False, True, True]
    assert normalise_email(pd.Series([" Ada@Example.COM ", ""])).tolist() == ["ada@example.com", None]
    assert normalise_phone(pd.Series(["(212) 555-0199", "-"])).tolist() == ["2125550199", None]


def test_text_longer_than_the_column_is_rejected():
    _, invalid, reasons = _parse(["x" * 81, "ok"], CUSTOMER["city"])
    assert invalid == [True, False]
    assert reasons[0] == "longer than 80 characters"
