"""Phone and email keys: one person, one key, however the number or address is written."""

from __future__ import annotations

import pandas as pd

from crm.contacts import contact_keys, email_key, email_problem, normalise_email, normalise_phone, phone_key, phone_keys


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
