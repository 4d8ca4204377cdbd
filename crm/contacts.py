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
from phonenumbers.phonemetadata import PhoneMetadata

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


# Separators people write inside a phone number; anything else (letters, "x123") takes the library's path.
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
# The answer "ask phonenumbers.parse", as opposed to a number or None.
_SLOW = "slow"


def _national_fast(national: str, metadata: PhoneMetadata) -> bool:
    """True when ``parse`` would keep ``national`` as it is (no prefix to strip, a plausible national number)."""
    if not national or national.startswith("0"):  # a leading zero may be kept (Italy): the library decides
        return False
    return re.fullmatch(metadata.general_desc.national_number_pattern, national) is not None


def _fast_phone(text: str, region: str) -> str | None:
    """E.164 of plain numbers ("+1 555 0101234", "010-4645-8329") without ``phonenumbers.parse`` (~100 µs).

    Builds the number from the library's metadata and keeps it only where ``parse`` provably reads
    it the same way (no carrier code, no transform rule, no international prefix, no prefix left to
    strip); everything else returns ``_SLOW``. tests/test_contacts.py compares both paths.
    """
    compact = _PHONE_SEPARATORS.sub("", text)
    if compact.startswith("+") and compact[1:].isdigit():
        digits = compact[1:]
        for length in (1, 2, 3):
            country_code = int(digits[:length] or 0)
            if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return _SLOW
        national = digits[length:]
        main_region = phonenumbers.region_code_for_country_code(country_code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main_region)
        rule = metadata.national_prefix_for_parsing if metadata else None
        if metadata is None or (rule and re.match(rule, national)):
            return _SLOW
    elif compact.isdigit():
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.national_prefix_transform_rule:
            return _SLOW
        if metadata.international_prefix and re.match(metadata.international_prefix, compact):
            return _SLOW
        country_code, national = metadata.country_code, compact
        rule = metadata.national_prefix_for_parsing
        match = re.match(rule, national) if rule else None
        if match:
            if match.group(0) != metadata.national_prefix:
                return _SLOW
            national = national[match.end() :]
    else:
        return _SLOW
    if not _national_fast(national, metadata):
        return _SLOW
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    return f"+{country_code}{national}" if phonenumbers.is_possible_number(number) else _SLOW


@lru_cache(maxsize=_EMAIL_CACHE)
def _phone(text: str, region: str) -> str | None:
    stripped = text.strip()
    if not stripped:
        return None
    fast = _fast_phone(stripped, region.upper())
    if fast != _SLOW:
        return fast
    return _parsed_phone(stripped, region)


def _parsed_phone(stripped: str, region: str) -> str | None:
    """E.164 by ``phonenumbers.parse`` (the reference; None when not a possible number)."""
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
    """``email_key`` of every value (None for blanks and invalid addresses); plain addresses column at a time."""
    lowered = values.astype("string").str.strip().str.lower()
    top_level = lowered.str.rsplit(".", n=1).str[-1]
    plain = (
        lowered.str.fullmatch(_PLAIN_EMAIL.pattern).fillna(False)
        & (lowered.str.len() <= 254).fillna(False)
        & ~top_level.isin(_SPECIAL_TOP_LEVEL).fillna(False)
    ).to_numpy(dtype=bool)
    keys = lowered.astype(object).where(plain, None)
    rest = ~plain & lowered.notna().to_numpy() & (lowered != "").fillna(False).to_numpy()
    if rest.any():
        keys[rest] = _mapped(values[rest], email_key).to_numpy()
    return pd.Series(keys.tolist(), index=values.index, dtype=object)


def phone_keys(values: pd.Series, region: str | None = None) -> pd.Series:
    """``phone_key`` of every value, all read in one region (default ``CRM_PHONE_REGION``).

    Column at a time: plain numbers get the same E.164 as ``phone_key`` through pandas string
    operations on the library's metadata (the ``_fast_phone`` rules); only the rest is parsed one
    by one, so 100k phones take well under a second instead of ~10 s.
    """
    chosen = (region or default_region()).upper()
    text = values.astype("string").str.strip()
    compact = text.str.replace(_PHONE_SEPARATORS.pattern, "", regex=True)
    found = pd.Series(pd.NA, index=values.index, dtype="string")
    plus = compact.str.fullmatch(r"\+\d+").fillna(False).to_numpy(dtype=bool)
    plain = compact.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
    metadata = PhoneMetadata.metadata_for_region(chosen)
    if plain.any() and metadata is not None and not metadata.national_prefix_transform_rule:
        found[plain] = _column_e164(_national_column(compact[plain], metadata), metadata.country_code, metadata)
    if plus.any():
        digits = compact[plus].str.slice(1)
        codes = pd.Series(pd.NA, index=digits.index, dtype="string")
        for length in (3, 2, 1):  # a code is never the start of a longer one, so the order does not matter
            start = digits.str.slice(0, length)
            codes = codes.where(~start.isin([str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]), start)
        for code in codes.dropna().unique():
            country_code = int(code)
            rows = codes == code
            main_region = phonenumbers.region_code_for_country_code(country_code)
            data = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main_region)
            if data is None:
                continue
            national = digits[rows].str.slice(len(code))
            if data.national_prefix_for_parsing:
                # A national number that starts like a prefix to strip is the library's to read.
                national = national.where(~national.str.match(data.national_prefix_for_parsing).fillna(True))
            found[rows[rows].index] = _column_e164(national, country_code, data)
    keys = found.astype(object).where(found.notna(), None)
    rest = keys.isna().to_numpy() & text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
    if rest.any():
        keys[rest] = _mapped(values[rest], lambda value: phone_key(value, chosen)).to_numpy()
    return pd.Series(keys.tolist(), index=values.index, dtype=object)


def _national_column(compact: pd.Series, metadata: PhoneMetadata) -> pd.Series:
    """National numbers of plain digit strings in ``metadata``'s region (NA where the library must decide)."""
    national = compact.copy()
    if metadata.international_prefix:
        national = national.where(~national.str.match(metadata.international_prefix).fillna(True))
    rule = metadata.national_prefix_for_parsing
    if rule:
        prefix = national.str.extract(f"^({rule})", expand=True)[0]
        stripped = pd.Series(
            [
                value if isinstance(match, float) or match is pd.NA else value[len(match) :]
                for value, match in zip(national.tolist(), prefix.tolist(), strict=True)
            ],
            index=national.index,
            dtype="string",
        )
        carrier = prefix.notna() & (prefix != (metadata.national_prefix or ""))
        national = stripped.where(~carrier.fillna(False))
    return national


def _column_e164(national: pd.Series, country_code: int, metadata: PhoneMetadata) -> pd.Series:
    """ "+<code><national>" where ``_national_fast`` holds and the length is possible; NA elsewhere."""
    national = national.astype("string")
    ok = (
        national.notna()
        & (national.str.len() > 0)
        & ~national.str.startswith("0").fillna(True)
        & national.str.fullmatch(metadata.general_desc.national_number_pattern).fillna(False)
    )
    # Possible or not depends on the length alone (is_possible_number with an unknown type).
    lengths = national[ok].str.len()
    possible_lengths = {
        int(length)
        for length in lengths.unique()
        if phonenumbers.is_possible_number(
            phonenumbers.PhoneNumber(country_code=country_code, national_number=int("9" * int(length)))
        )
    }
    ok = ok & national.str.len().isin(possible_lengths).fillna(False)
    return ("+" + str(country_code) + national).where(ok)


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
