"""Phone and email keys: one person, one key, however the number or address is written."""

from __future__ import annotations

import pandas as pd
import phonenumbers
from phonenumbers import PhoneNumberFormat

from crm.contacts import (
    contact_keys,
    email_key,
    email_keys,
    email_problem,
    normalise_email,
    normalise_phone,
    phone_key,
    phone_keys,
)


def test_a_korean_number_with_and_without_country_code_is_one_e164_number() -> None:
    assert normalise_phone("+82 10-4645-8329", "KR") == "+821046458329"
    assert normalise_phone("010-4645-8329", "KR") == "+821046458329"
    assert normalise_phone("(212) 555-0199", "US") == "+12125550199"


def test_a_number_phonenumbers_cannot_place_keeps_its_digits_as_key() -> None:
    assert normalise_phone("+1-555-0000-0001", "US") is None
    assert phone_key("+1-555-0000-0001", "US") == "155500000001"
    assert phone_key("  ", "US") is None
    assert phone_keys(pd.Series(["010 4645 8329", None, "010-4645-8329"]), "KR").tolist() == [
        "+821046458329",
        None,
        "+821046458329",
    ]


def test_emails_are_checked_offline_and_keyed_lower_case() -> None:
    assert normalise_email(" Ada@Example.COM ") == "Ada@example.com"
    assert email_key(" Ada@Example.COM ") == "ada@example.com"
    assert email_key("a@@b.co") is None
    assert email_problem("no-at.example.com") == "An email address must have an @-sign."
    assert email_problem("") is None


def test_contact_keys_bundle_email_phone_and_name() -> None:
    keys = contact_keys("Min@Example.kr", "010-4645-8329", " Min-jun ", "Kim", region="KR")
    assert (keys.email, keys.phone, keys.name) == ("min@example.kr", "+821046458329", "min-jun kim")


def test_the_column_path_gives_the_same_keys_as_one_at_a_time() -> None:
    phones = [
        "+82 10-4645-8329",
        "010-4645-8329",
        "02-123-4567",
        "+44 20 7946 0958",
        "0082-10-4645-8329",
        "+1 (212) 555-0199",
        "12",
        "",
        None,
    ]
    emails = [" Ada@Example.COM ", "a@@b.co", "x@localhost", "ünï@exämple.com", "", None]
    for region in ("KR", "US", "GB"):
        column = phone_keys(pd.Series(phones, dtype=object), region).tolist()
        assert column == [phone_key(phone, region) for phone in phones]
    assert email_keys(pd.Series(emails, dtype=object)).tolist() == [email_key(email) for email in emails]
    assert email_keys(pd.Series(emails, dtype=object)).tolist()[:2] == ["ada@example.com", None]


def test_the_fast_paths_read_every_example_number_as_phonenumbers_parse_does() -> None:
    checked = 0
    for region in ("KR", "US", "GB", "JP", "DE", "TW", "IT", "AR", "BR", "IN"):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            for style in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164):
                text = phonenumbers.format_number(example, style)
                expected = phonenumbers.format_number(phonenumbers.parse(text, region), PhoneNumberFormat.E164)
                assert normalise_phone(text, region) == expected, (region, text)
                assert phone_keys(pd.Series([text]), region).tolist() == [expected], (region, text)
                checked += 1
    assert checked == 60
