"""Phone numbers and email addresses: checked, normalised, and turned into duplicate keys.

One place for the rules, used by imports, grid edits, the New customer form, its duplicate
warning and the stored key columns (``customers.email_normalized`` / ``phone_normalized``):

* a phone becomes E.164 (``+821046458329``) with ``phonenumbers``, read in the shop's default
  region (``CRM_PHONE_REGION``) when it has no country code, so "+82 10-4645-8329" and
  "010-4645-8329" are one key in Korea. A number ``phonenumbers`` cannot place keeps its digits
  as the key, so two identical odd numbers still match each other;
* an email is checked with ``email-validator`` (syntax only, never DNS: the app runs offline)
  and its key is the normalised address, lower-cased (mail providers ignore the case).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm.settings import get_settings

__all__ = [
    "ContactKeys",
    "contact_keys",
    "default_region",
    "email_key",
    "email_keys",
    "email_problem",
    "name_key",
    "normalise_email",
    "normalise_phone",
    "phone_key",
    "phone_keys",
]

# Common, plain addresses (ASCII, dot-separated words, a letters-only top-level domain) are
# accepted by email-validator unchanged except for case; they skip the library's ~90 µs
# per address so a 100k-row import stays fast. Anything else goes through the library.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
# Top-level domains email-validator refuses (special use, RFC 6761): always asked to the library.
_SPECIAL_TOP_LEVEL = ("arpa", "invalid", "local", "localhost", "onion", "test")
_EMAIL_CACHE = 100_000


def default_region() -> str:
    """The two-letter region a phone without a country code is read in (``CRM_PHONE_REGION``)."""
    return get_settings().phone_region


@lru_cache(maxsize=_EMAIL_CACHE)
def _checked_email(text: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, why it is not an email address)."""
    stripped = text.strip()
    if not stripped:
        return None, None
    lowered = stripped.lower()
    if len(lowered) <= 254 and _PLAIN_EMAIL.fullmatch(lowered) and lowered.rsplit(".", 1)[1] not in _SPECIAL_TOP_LEVEL:
        local, domain = stripped.rsplit("@", 1)
        return f"{local}@{domain.lower()}", None
    try:
        return validate_email(stripped, check_deliverability=False).normalized, None
    except EmailNotValidError as error:
        return None, str(error)


def normalise_email(text: str | None) -> str | None:
    """The address as email-validator normalises it (trimmed, domain lower-cased); None when blank or invalid."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    return _checked_email(str(text))[0]


def email_problem(text: str | None) -> str | None:
    """Why ``text`` is not an email address (email-validator's words); None when it is fine or blank."""
    if text is None or not str(text).strip():
        return None
    return _checked_email(str(text))[1]


def email_key(text: str | None) -> str | None:
    """The duplicate key of an email: the normalised address, lower-cased; None when blank or invalid."""
    normalised = normalise_email(text)
    return normalised.lower() if normalised else None


@lru_cache(maxsize=_EMAIL_CACHE)
def _phone(text: str, region: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        number = phonenumbers.parse(stripped, region.upper() or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def normalise_phone(text: str | None, region: str | None = None) -> str | None:
    """The number in E.164 (``+821046458329``), read in ``region`` (default ``CRM_PHONE_REGION``)
    when it has no country code; None when blank or not a possible phone number there."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    return _phone(str(text), region or default_region())


def phone_key(text: str | None, region: str | None = None) -> str | None:
    """The duplicate key of a phone: its E.164 form, else its digits (an odd number still matches
    the same odd number); None when it has no digits."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    e164 = normalise_phone(text, region)
    if e164:
        return e164
    digits = re.sub(r"\D", "", str(text))
    return digits or None


def _mapped(values: pd.Series, function: object) -> pd.Series:
    # A column holds repeats (an orders file names each customer many times): work per distinct value.
    text = values.astype("string")
    distinct = text.dropna().unique()
    found = {value: function(value) for value in distinct}  # type: ignore[operator]
    mapped = [None if value is pd.NA else found[value] for value in text.tolist()]
    return pd.Series(mapped, index=values.index, dtype=object)


def email_keys(values: pd.Series) -> pd.Series:
    """``email_key`` of every value (None for blanks and invalid addresses)."""
    return _mapped(values, email_key)


def phone_keys(values: pd.Series, region: str | None = None) -> pd.Series:
    """``phone_key`` of every value, all read in one region (default ``CRM_PHONE_REGION``)."""
    chosen = region or default_region()
    return _mapped(values, lambda value: phone_key(value, chosen))


@dataclass(frozen=True)
class ContactKeys:
    """The keys a customer is recognised by; equal keys mean "probably the same person"."""

    email: str | None
    phone: str | None
    name: str | None


def name_key(first_name: str | None, last_name: str | None) -> str | None:
    """Full name, lower-cased with single spaces (a weak key: a duplicate *warning*, never a merge)."""
    words: Iterable[str] = " ".join(part for part in (first_name, last_name) if part).split()
    joined = " ".join(words).casefold()
    return joined or None


def contact_keys(
    email: str | None = None,
    phone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    *,
    region: str | None = None,
) -> ContactKeys:
    """Email, phone and name keys of one customer, as stored and compared everywhere."""
    return ContactKeys(email_key(email), phone_key(phone, region), name_key(first_name, last_name))
