"""Coded values: every spelling of a known code is that code; a new value is one new code."""

from __future__ import annotations

import pandas as pd

from crm.schema import PAYMENT_METHODS
from crm.vocabulary import DEFAULT_SOURCES, SOURCE_ALIASES, code_label, normalise_code, to_code, to_codes


def test_case_and_spelling_variants_map_onto_the_known_code() -> None:
    for spelling in ("Website", " WEBSITE ", "web site", "web-site", "web"):
        assert to_code(spelling, DEFAULT_SOURCES, SOURCE_ALIASES) == "website"
    for spelling in ("Social Media", "social-media", "SocialMedia", "social_media"):
        assert to_code(spelling, DEFAULT_SOURCES, SOURCE_ALIASES) == "social_media"
    assert to_code("Credit Card", PAYMENT_METHODS) == "credit_card"


def test_a_new_value_becomes_one_lower_snake_code_and_blanks_stay_blank() -> None:
    assert to_code("Pop-up  Market!", DEFAULT_SOURCES) == "pop_up_market"
    assert normalise_code("  ") is None
    assert to_codes(pd.Series(["Trade Fair", None, "trade-fair"]), DEFAULT_SOURCES).tolist() == [
        "trade_fair",
        None,
        "trade_fair",
    ]


def test_codes_are_shown_as_readable_labels() -> None:
    assert [code_label(code) for code in ("social_media", "credit_card", "follow_up", "sms", None)] == [
        "Social media",
        "Credit card",
        "Follow up",
        "SMS",
        "",
    ]
