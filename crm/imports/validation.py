"""Turning text columns into typed values, column at a time, with a reason for every bad cell.

Validation is vectorised (pandas string and datetime operations on whole columns) so a
100k-row file validates in well under a second; every invalid cell still gets its own
row number, column and reason. Blank cells are not errors: the field's default is used
and reported as "not provided" (required fields excepted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from crm.contacts import email_keys, phone_keys
from crm.imports.fields import FieldSpec

__all__ = ["ColumnErrors", "Parsed", "latest_allowed_day", "normalise_email", "normalise_phone", "parse_column"]

NOT_PROVIDED = "not provided"
NUL_REASON = "contains a NUL character (\\x00), which cannot be stored"

# A phone number has between 5 (short extensions) and 20 digits (international with prefixes).
PHONE_MIN_DIGITS = 5
PHONE_MAX_DIGITS = 20
# Currency symbols, codes and words stripped from money cells before parsing.
_CURRENCY = re.compile(r"[$€£¥₩\s]|USD|EUR|KRW|TWD|NTD|JPY|CNY|RMB|원|元|円", re.IGNORECASE)
EARLIEST_BIRTH_YEAR = 1900
# What the columns can hold: Integer is 32-bit on PostgreSQL (the stricter engine), money is
# Numeric(12, 2): below 10^10. A bigger value is a rejected cell, never a refused import.
INTEGER_MAXIMUM = 2_147_483_647
MONEY_MAXIMUM = 1e10
_DEFAULT_SCALE = {"integer": 0, "money": 2, "decimal": 2}

# Spellings of choice values in the languages we import from.
_CHOICE_ALIASES: dict[str, str] = {
    # gender
    "m": "male",
    "man": "male",
    "men": "male",
    "男": "male",
    "男性": "male",
    "남": "male",
    "남자": "male",
    "남성": "male",
    "f": "female",
    "w": "female",
    "woman": "female",
    "women": "female",
    "女": "female",
    "女性": "female",
    "여": "female",
    "여자": "female",
    "여성": "female",
    "o": "other",
    "x": "other",
    "diverse": "other",
    "其他": "other",
    "기타": "other",
    "その他": "other",
    # payment methods
    "card": "credit_card",
    "creditcard": "credit_card",
    "visa": "credit_card",
    "mastercard": "credit_card",
    "信用卡": "credit_card",
    "신용카드": "credit_card",
    "카드": "credit_card",
    "クレジットカード": "credit_card",
    "transfer": "bank_transfer",
    "wire": "bank_transfer",
    "banktransfer": "bank_transfer",
    "轉帳": "bank_transfer",
    "转账": "bank_transfer",
    "계좌이체": "bank_transfer",
    "현금": "cash",
    "現金": "cash",
    "现金": "cash",
    # statuses
    "complete": "completed",
    "done": "completed",
    "paid": "completed",
    "canceled": "cancelled",
    "완료": "completed",
    "취소": "cancelled",
    "배송완료": "delivered",
    "배송중": "shipped",
    "已完成": "completed",
    "已取消": "cancelled",
    "已出貨": "shipped",
    "已发货": "shipped",
    "已送達": "delivered",
    # customer types
    "b2b": "business",
    "company": "business",
    "b2c": "individual",
    "person": "individual",
    "personal": "individual",
}
_TRUE = {"true", "yes", "y", "1", "t", "是", "예", "네", "はい", "on", "active"}
_FALSE = {"false", "no", "n", "0", "f", "否", "아니오", "아니요", "いいえ", "off", "inactive"}


@dataclass
class ColumnErrors:
    """Invalid cells of one column: a boolean mask and the reason for each flagged cell."""

    mask: np.ndarray
    reasons: pd.Series  # same index as the column; meaningful where mask is True


@dataclass
class Parsed:
    values: pd.Series  # typed values; None/NaN/NaT where blank or invalid
    errors: ColumnErrors
    blank: np.ndarray  # cells left blank by the file
    extra: dict[str, pd.Series] = field(default_factory=dict)
    # Values read one of several possible ways, that the user should check: (rows, what was assumed).
    warnings: list[tuple[np.ndarray, str]] = field(default_factory=list)


def normalise_email(values: pd.Series) -> pd.Series:
    """The duplicate key of every email (crm.contacts.email_key: normalised, lower-cased); None when blank."""
    return email_keys(values)


def normalise_phone(values: pd.Series) -> pd.Series:
    """The duplicate key of every phone (crm.contacts.phone_key: E.164 in CRM_PHONE_REGION, else digits)."""
    return phone_keys(values)


def _errors(index: pd.Index, mask: np.ndarray, reason: str | pd.Series) -> ColumnErrors:
    reasons = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=index, dtype=object)
    return ColumnErrors(mask=np.asarray(mask, dtype=bool), reasons=reasons)


def _combine(first: ColumnErrors, second: ColumnErrors) -> ColumnErrors:
    reasons = first.reasons.where(first.mask, second.reasons)
    return ColumnErrors(first.mask | second.mask, reasons)


def _parse_text(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    values = text.where(~blank, None).astype(object)
    mask = np.zeros(len(text), dtype=bool)
    if spec.max_length:
        mask = (text.str.len() > spec.max_length).to_numpy()
    return Parsed(
        values.where(~mask, None), _errors(text.index, mask, f"longer than {spec.max_length} characters"), blank
    )


def _parse_email(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    # email-validator (syntax only, offline) decides; each distinct address is checked once.
    keys = email_keys(text.where(~blank, None))
    mask = ~blank & keys.isna().to_numpy()
    too_long = (text.str.len() > (spec.max_length or 254)).to_numpy() & ~mask
    errors = _combine(_errors(text.index, mask, "not an email address"), _errors(text.index, too_long, "too long"))
    values = text.where(~blank & ~errors.mask, None).astype(object)
    normalized = pd.Series(np.where(errors.mask, None, keys.to_numpy()), index=text.index, dtype=object)
    return Parsed(values, errors, blank, {"normalized": normalized})


def _parse_phone(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    digits = text.str.replace(r"\D", "", regex=True)
    count = digits.str.len().to_numpy()
    letters = text.str.contains(r"[^\d\s()+\-./#xX*]", regex=True).to_numpy()
    mask = ~blank & ((count < PHONE_MIN_DIGITS) | (count > PHONE_MAX_DIGITS) | letters)
    too_long = (text.str.len() > (spec.max_length or 40)).to_numpy() & ~mask
    errors = _combine(
        _errors(text.index, mask, f"not a phone number (needs {PHONE_MIN_DIGITS}–{PHONE_MAX_DIGITS} digits)"),
        _errors(text.index, too_long, "too long"),
    )
    values = text.where(~blank & ~errors.mask, None).astype(object)
    return Parsed(values, errors, blank, {"normalized": phone_keys(values)})


def _normalise_date_text(text: pd.Series) -> pd.Series:
    # 1990年5月10日 / 1990년 5월 10일 / 1990.05.10 / 1990/5/10 -> 1990-5-10
    result = text.str.replace(r"\s*[年년월月]\s*", "-", regex=True).str.replace(r"\s*[日일]\s*", " ", regex=True)
    result = result.str.replace(r"(?<=\d)[./](?=\d)", "-", regex=True).str.strip().str.rstrip("-.")
    # Compact 19900510
    return result.str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)


def _to_datetimes(text: pd.Series) -> tuple[pd.Series, list[tuple[np.ndarray, str]]]:
    """Parse dates/datetimes (ISO, year first, or day/month first decided per column) to naive UTC.

    Also returns the warnings: dates like 03/04/1990 read month-first because no date of the
    column shows the order (a number above 12), with the rows that could be read either way.
    """
    warnings: list[tuple[np.ndarray, str]] = []
    # Most files already use ISO dates: parse them as they are, normalise only the others.
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    unparsed = parsed.isna() & text.ne("")
    normalised = text.copy()
    if unparsed.any():
        normalised[unparsed] = _normalise_date_text(text[unparsed])
        retried = pd.to_datetime(normalised[unparsed], format="ISO8601", errors="coerce", utc=True)
        parsed = parsed.where(~unparsed, retried)
    missing = parsed.isna() & normalised.ne("")
    if missing.any():
        rest = normalised[missing]
        year_first = pd.to_datetime(rest, format="%Y-%m-%d %H:%M:%S", errors="coerce", utc=True)
        year_first = year_first.fillna(pd.to_datetime(rest, format="%Y-%m-%d", errors="coerce", utc=True))
        parsed = parsed.where(~missing, year_first)
        missing = parsed.isna() & normalised.ne("")
    if missing.any():
        rest = normalised[missing].str.split(" ").str[0]
        # Day-first only when the column proves it (a first number above 12); US order otherwise.
        first_numbers = pd.to_numeric(rest.str.extract(r"^(\d{1,2})-", expand=False), errors="coerce")
        second_numbers = pd.to_numeric(rest.str.extract(r"^\d{1,2}-(\d{1,2})-", expand=False), errors="coerce")
        day_first = bool((first_numbers > 12).any())
        order = "%d-%m-%Y" if day_first else "%m-%d-%Y"
        full = normalised[missing].str.replace(r"\s+", " ", regex=True)
        other = pd.to_datetime(rest, format=order, errors="coerce", utc=True)
        has_time = full.ne(rest)
        if has_time.any():
            # "03/04/2020 10:30" keeps its time; a time in a spelling we cannot read is dropped, and said so.
            timed = pd.Series(pd.NaT, index=full.index, dtype="datetime64[ns, UTC]")
            for clock in _CLOCK_FORMATS:
                timed = timed.fillna(pd.to_datetime(full, format=f"{order} {clock}", errors="coerce", utc=True))
            other = other.where(~has_time | timed.isna(), timed)
            dropped = (has_time & timed.isna() & other.notna()).to_numpy(dtype=bool)
            if dropped.any():
                rows = np.zeros(len(text), dtype=bool)
                rows[np.flatnonzero(missing.to_numpy())[dropped]] = True
                warnings.append(
                    (
                        rows,
                        f"the time of day in values such as {text[rows].iloc[0]!r} could not be read: "
                        "only the date is kept",
                    )
                )
        parsed = parsed.where(~missing, other)
        proven = day_first or bool((second_numbers > 12).any())
        either_way = (first_numbers <= 12) & (second_numbers <= 12) & (first_numbers != second_numbers)
        if not proven and either_way.any():
            rows = np.zeros(len(text), dtype=bool)
            rows[np.flatnonzero(missing.to_numpy())[either_way.to_numpy()]] = True
            example = text[rows].iloc[0]
            month, day = int(first_numbers[either_way].iloc[0]), int(second_numbers[either_way].iloc[0])
            warnings.append(
                (
                    rows,
                    f"dates such as {example!r} could be day/month or month/day; read as month/day/year "
                    f"({_MONTHS[month - 1]} {day}), because no date in the column has a number above 12 "
                    "to tell the order. If the file means day/month, write the dates as YYYY-MM-DD",
                )
            )
    return parsed.dt.tz_convert(None), warnings


# Times of day after a day/month date: 24-hour and 12-hour clocks, with or without seconds.
_CLOCK_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def latest_allowed_day() -> pd.Timestamp:
    """The last day an order, payment or sign-up may carry: today in the app's time zone.

    Or today in UTC when that is later (zones west of UTC), since imported times are read as UTC:
    a payment stamped just now is never "in the future", and clocks a few hours apart are tolerated.
    """
    from crm.settings import get_settings

    local_today = datetime.now(get_settings().timezone).date()
    utc_today = datetime.now(UTC).date()
    return pd.Timestamp(max(local_today, utc_today))


def _parse_datetime(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    parsed, warnings = _to_datetimes(text.where(~pd.Series(blank, index=text.index), ""))
    mask = ~blank & parsed.isna().to_numpy()
    errors = _errors(text.index, mask, "not a date (use YYYY-MM-DD)")
    if spec.not_future:
        latest = latest_allowed_day()
        future = (parsed.dt.normalize() > latest).fillna(False).to_numpy(dtype=bool)
        errors = _combine(errors, _errors(text.index, future, f"in the future (after {latest.date().isoformat()})"))
        parsed = parsed.where(~future)
    return Parsed(parsed, errors, blank, warnings=warnings)


def _parse_date(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    result = _parse_datetime(text, spec, blank)
    dates = result.values
    if spec.name == "birth_date":
        today = pd.Timestamp(date.today())
        future = (dates > today).fillna(False).to_numpy()
        ancient = (dates.dt.year < EARLIEST_BIRTH_YEAR).fillna(False).to_numpy()
        errors = _combine(
            result.errors,
            _combine(
                _errors(text.index, future, "in the future"),
                _errors(text.index, ancient, f"before {EARLIEST_BIRTH_YEAR}"),
            ),
        )
        dates = dates.where(~errors.mask)
        result = Parsed(dates, errors, blank, warnings=result.warnings)
    return Parsed(result.values.dt.normalize(), result.errors, blank, warnings=result.warnings)


# Number spellings after currency signs and spaces are removed: "1,234.50" (decimal point,
# comma groups) or "1.234,50" (decimal comma, dot groups); plain digits fit both.
_POINT_STYLE = r"-?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?"
_COMMA_STYLE = r"-?(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d+)?"


def _number_text(text: pd.Series, scale: int) -> tuple[pd.Series, ColumnErrors]:
    """Cells as text ``pd.to_numeric`` reads, and the cells whose spelling is wrong.

    The decimal mark is decided per column: decimal commas when more cells can only be read
    that way (1.234,50 / 12,5) than only with a decimal point (1,234.50 / 12.00); "1.234" and
    "1,234" fit both and follow the column. A cell written the other way is rejected (never
    misread as 1.23), and so is one with more decimals than the column keeps.
    """
    cleaned = text.str.replace(_CURRENCY, "", regex=True).str.replace("\u00a0", "")
    # (12.50) is accounting notation for a negative amount.
    cleaned = cleaned.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    point = cleaned.str.fullmatch(_POINT_STYLE).fillna(False).to_numpy(dtype=bool)
    comma = cleaned.str.fullmatch(_COMMA_STYLE).fillna(False).to_numpy(dtype=bool)
    decimal_comma = (comma & ~point).sum() > (point & ~comma).sum()
    if decimal_comma:
        fits, other = comma, point & ~comma
        digits = cleaned.str.replace(".", "", regex=False)
        decimals = digits.str.extract(r",(\d+)$", expand=False).str.len()
        numeric = digits.str.replace(",", ".", regex=False)
        wrong_way = "written with a decimal point, but this column uses decimal commas (1.234,50)"
    else:
        fits, other = point, comma & ~point
        numeric = cleaned.str.replace(",", "", regex=False)
        decimals = numeric.str.extract(r"\.(\d+)$", expand=False).str.len()
        wrong_way = "written with a decimal comma, but this column uses decimal points (1,234.50)"
    numeric = numeric.where(fits | ~other, None)  # other spellings ("1e5", "abc") go to to_numeric as they are
    numeric = numeric.where(fits | other, cleaned)
    too_precise = fits & (decimals.fillna(0).to_numpy() > scale)
    reason = "not a whole number" if scale == 0 else f"more than {scale} decimals"
    errors = _combine(_errors(text.index, other, wrong_way), _errors(text.index, too_precise, reason))
    return numeric, errors


def _digits_only(match: re.Match[str]) -> str:
    return re.sub(r"\D", "", match.group(0))


def _parse_number(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    scale = spec.scale if spec.scale is not None else _DEFAULT_SCALE[spec.kind]
    if spec.kind == "integer":
        # 1.250 / 1,250 / 1 250 in a whole-number column: thousands separators.
        text = text.str.replace(r"^(\d{1,3})(?:[.,\s\u00a0](\d{3}))+$", _digits_only, regex=True)
    numeric, spelling = _number_text(text, scale)
    spelling = ColumnErrors(spelling.mask & ~blank, spelling.reasons)
    numbers = pd.to_numeric(numeric.where(~pd.Series(blank, index=text.index), None), errors="coerce")
    numbers = numbers.astype(float)
    not_number = ~blank & np.isnan(numbers.to_numpy()) & ~spelling.mask
    errors = _combine(spelling, _errors(text.index, not_number, "not a number"))
    negative = (numbers < 0).to_numpy() & ~errors.mask
    errors = _combine(errors, _errors(text.index, negative, "must not be negative"))
    if spec.kind == "integer":
        fractional = (~np.isnan(numbers.to_numpy())) & (numbers.to_numpy() != np.floor(numbers.fillna(0).to_numpy()))
        errors = _combine(errors, _errors(text.index, fractional & ~errors.mask, "not a whole number"))
        maximum = spec.maximum if spec.maximum is not None else INTEGER_MAXIMUM
        too_big = (numbers > maximum).to_numpy()
        limit = f"{maximum:,.0f}"
    else:
        maximum = spec.maximum if spec.maximum is not None else MONEY_MAXIMUM
        # The column holds values below ``maximum``: 10^10 for Numeric(12, 2) is 9,999,999,999.99.
        too_big = (numbers.abs() >= maximum).to_numpy()
        limit = f"{maximum - 10**-scale:,.{scale}f}"
    errors = _combine(errors, _errors(text.index, too_big & ~errors.mask, f"too large (at most {limit})"))
    numbers = numbers.round(scale).where(~errors.mask)
    return Parsed(numbers, errors, blank)


def _choice_key(text: pd.Series) -> pd.Series:
    return text.str.lower().str.strip().str.replace(r"[\s\-/]+", "_", regex=True)


def _parse_choice(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    aliases = {key: value for key, value in _CHOICE_ALIASES.items() if value in spec.choices}
    aliases |= {choice.replace("_", ""): choice for choice in spec.choices}
    aliases |= {choice: choice for choice in spec.choices}
    # A choice column holds a handful of distinct spellings: look each up once.
    distinct = pd.Series(text.unique())
    keys = _choice_key(distinct)
    found = {
        original: aliases.get(key, aliases.get(key.replace("_", "")))
        for original, key in zip(distinct, keys, strict=True)
    }
    values = text.map(found)
    mask = ~blank & values.isna().to_numpy()
    return Parsed(values.astype(object), _errors(text.index, mask, f"must be one of {', '.join(spec.choices)}"), blank)


def _parse_boolean(text: pd.Series, spec: FieldSpec, blank: np.ndarray) -> Parsed:
    keys = text.str.lower().str.strip()
    values = pd.Series(
        np.where(keys.isin(_TRUE), True, np.where(keys.isin(_FALSE), False, None)), index=text.index, dtype=object
    )
    mask = ~blank & values.isna().to_numpy()
    return Parsed(values, _errors(text.index, mask, "must be yes or no"), blank)


_PARSERS = {
    "text": _parse_text,
    "email": _parse_email,
    "phone": _parse_phone,
    "date": _parse_date,
    "datetime": _parse_datetime,
    "money": _parse_number,
    "integer": _parse_number,
    "decimal": _parse_number,
    "choice": _parse_choice,
    "boolean": _parse_boolean,
}


def parse_column(text: pd.Series, spec: FieldSpec) -> Parsed:
    """Typed values of one text column for ``spec``, with its invalid cells and blanks.

    A cell holding a NUL character is invalid whatever the field: PostgreSQL cannot store it
    (it refused the whole import) and SQLite would keep it where no one can see it.
    """
    text = text.fillna("").astype(str)
    nul = text.str.contains("\x00", regex=False).to_numpy(dtype=bool)
    if nul.any():
        text = text.str.replace("\x00", "", regex=False)
    text = text.str.strip()
    blank = (text == "").to_numpy()
    result = _PARSERS[spec.kind](text, spec, blank)
    if nul.any():
        # Reported as the NUL, not as a blank or a misspelt value: the cell was not empty.
        result.errors = _combine(_errors(text.index, nul, NUL_REASON), result.errors)
        result.blank = result.blank & ~nul
        result.values = result.values.where(~nul)
        result.extra = {name: extra.where(~nul, None) for name, extra in result.extra.items()}
    values = result.values
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        # One missing marker downstream: None (pandas' string columns would say pd.NA).
        values = values.astype(object)
        result.values = values.where(values.notna().to_numpy(dtype=bool), None)
    return result
