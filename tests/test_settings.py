"""Settings: the cookie key rule (missing, published, short or predictable keys are refused)."""

from __future__ import annotations

import secrets

import pytest

from crm.settings import MAKE_COOKIE_KEY_COMMAND, MIN_COOKIE_KEY_BITS, cookie_key_problem, cookie_key_strength

WEAK_KEYS = [
    "a" * 32,
    "a" * 200,
    "ab" * 16,
    "abcd" * 8,
    "0123456789abcdef" * 2,
    "abcdefghijklmnopqrstuvwxyz012345",
    "zyxwvutsrqponmlkjihgfedcba987654",
    "password1234567890password12345678",
    "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3xx",
    "0" * 16 + "1" * 16,
]


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_a_long_but_predictable_key_is_refused_with_how_to_make_one(key: str) -> None:
    problem = cookie_key_problem(key)
    assert problem is not None and "too predictable" in problem
    assert MAKE_COOKIE_KEY_COMMAND in problem
    assert cookie_key_strength(key) < MIN_COOKIE_KEY_BITS


def test_keys_made_as_the_readme_says_always_pass() -> None:
    # 2,000 fresh keys: the estimate of a 256-bit key stays far above the bar, never near it.
    strengths = [cookie_key_strength(secrets.token_urlsafe(32)) for _ in range(2_000)]
    assert min(strengths) > 2 * MIN_COOKIE_KEY_BITS
    assert all(cookie_key_problem(secrets.token_urlsafe(32)) is None for _ in range(200))


def test_a_128_bit_hex_key_passes() -> None:
    assert all(cookie_key_problem(secrets.token_hex(16)) is None for _ in range(2_000))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "will not start without a cookie key"),
        ("some_key", "published example key"),
        ("short-key", "at least 32"),
    ],
)
def test_missing_published_and_short_keys_are_refused_with_how_to_make_one(key: str, message: str) -> None:
    problem = cookie_key_problem(key)
    assert problem is not None and message in problem and MAKE_COOKIE_KEY_COMMAND in problem


def test_a_hand_written_passphrase_with_enough_variety_is_accepted() -> None:
    assert cookie_key_problem("my-pulse-crm-cookie-key-2026-prod!") is None


def test_repeats_count_once_so_a_doubled_key_is_barely_stronger_than_its_half() -> None:
    half = "k3Y-9xQ_f7Lm2PzR"
    # 16 symbols + one for the repeat, at about 4 bits each; doubling the length does not double it.
    assert cookie_key_strength(half * 2) < 1.15 * cookie_key_strength(half)
