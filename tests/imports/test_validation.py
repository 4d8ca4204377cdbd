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
        (["1.234,50", "1.234"], [1234.5, 1234.0]),  # "1.234" follows the column: thousands here
        (["1,234", "5.50"], [1234.0, 5.5]),  # ...and here
        (["9999999999.99"], [9999999999.99]),  # the largest Numeric(12, 2)
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
    assert normalise_phone(pd.Series(["(212) 555-0199", "-"])).tolist() == ["+12125550199", None]


def test_text_longer_than_the_column_is_rejected():
    _, invalid, reasons = _parse(["x" * 81, "ok"], CUSTOMER["city"])
    assert invalid == [True, False]
    assert reasons[0] == "longer than 80 characters"


@pytest.mark.parametrize(
    ("cells", "position", "reason"),
    [
        (["12.00", "1.234,50"], 1, "written with a decimal comma, but this column uses decimal points (1,234.50)"),
        (
            ["1.234,50", "12,5", "12.00"],
            2,
            "written with a decimal point, but this column uses decimal commas (1.234,50)",
        ),
        (["1.234", "5"], 0, "more than 2 decimals"),  # never silently 1.23
        (["19.999"], 0, "more than 2 decimals"),
        (["10000000000"], 0, "too large (at most 9,999,999,999.99)"),
        (["1e20"], 0, "too large (at most 9,999,999,999.99)"),
    ],
)
def test_money_written_ambiguously_or_beyond_the_column_is_rejected_with_a_reason(cells, position, reason):
    values, invalid, reasons = _parse(cells, ORDER["total"])
    assert invalid == [index == position for index in range(len(cells))]
    assert reasons[position] == reason
    assert pd.isna(values[position])


def test_whole_numbers_beyond_a_32_bit_column_are_rejected():
    values, invalid, reasons = _parse(["2147483647", "99999999999", "99999999999999999999"], CUSTOMER["loyalty_points"])
    assert invalid == [False, True, True]
    assert values[0] == 2147483647
    assert reasons[1:].tolist() == ["too large (at most 2,147,483,647)"] * 2
    _, invalid, _ = _parse(["3", "5000000000"], ORDER["quantity"])
    assert invalid == [False, True]


def test_a_products_weight_keeps_grams_and_its_size_stays_within_numeric_10_3():
    products = fields_for("products")
    values, invalid, reasons = _parse(["1.250", "0.0005", "10000000"], products["weight_kg"])
    assert invalid == [False, True, True]
    assert values[0] == 1.25
    assert reasons[1:].tolist() == ["more than 3 decimals", "too large (at most 9,999,999.999)"]
