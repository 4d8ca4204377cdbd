"""Configuration read from the environment, with the reason for every default."""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

# Embedded, zero set-up default: a file under ./data that is created on first use.
DEFAULT_DATABASE_URL = "sqlite:///data/crm.db"
# The command the messages about the cookie key suggest (a 43-character key, 256 random bits).
MAKE_COOKIE_KEY_COMMAND = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
# A phone without a country code is read as a US number unless CRM_PHONE_REGION says otherwise.
DEFAULT_PHONE_REGION = "US"
# A key shorter than this is guessable enough to forge session HMACs offline.
MIN_COOKIE_KEY_LENGTH = 32
# Least estimated strength (bits, see cookie_key_strength) of an accepted key. A
# secrets.token_urlsafe(32) key estimates at 170 bits or more, a secrets.token_hex(16) key
# (128 random bits) at 80 or more; 32 times one letter is 0, "ab" repeated 3.
MIN_COOKIE_KEY_BITS = 64
# streamlit-authenticator's documented example keys; anyone could forge cookies signed with them.
LIBRARY_DEFAULT_KEYS = frozenset({"some_key", "some_signature_key", "abcdef", "random_signature_key"})
# Repeats of at least this many characters count once (LZ77-style), however long they are.
_REPEAT_MINIMUM = 3
# Only the start of a very long key is analysed (the estimate grows with length anyway).
_ANALYSED_CHARACTERS = 256


@dataclass(frozen=True)
class Settings:
    # SQLAlchemy URL of the CRM database (SQLite file or PostgreSQL).
    database_url: str
    # IANA time zone in which "today" and "this month" are meant; storage is always UTC.
    timezone_name: str
    # Demo mode shows the demo accounts on the login page; never enable it in production.
    demo_mode: bool
    # CRM_COOKIE_SECURE=1 marks the sign-in and device cookies Secure (sent over HTTPS only) even when
    # the app itself sees plain http, as behind a TLS-terminating proxy. Without it they are Secure
    # only when the browser's address is https://. Never set it when users reach the app over http:
    # their browsers would drop the cookie and "remember me" would not work.
    cookie_secure: bool = False
    # CRM_SMTP_URL: where campaign (and later digest) mail goes, smtp://user:password@host:587 (STARTTLS
    # when the server offers it) or smtps://user:password@host:465 (TLS from the start). Unset: no mail
    # is sent and email campaigns are exported as CSV for the user's own mail tool.
    smtp_url: str | None = None
    # CRM_MAIL_FROM: the From address of every message; required as soon as CRM_SMTP_URL is set.
    mail_from: str | None = None
    # CRM_APP_URL: the address users open the app at; unsubscribe links in messages point there.
    app_url: str = "http://localhost:8501"
    # Region (ISO 3166 two letters, e.g. KR, US) a phone number without a country code is read in,
    # so "010-4645-8329" and "+82 10-4645-8329" are one number to a Korean shop (crm/contacts.py).
    phone_region: str = DEFAULT_PHONE_REGION
    # CRM_DATABASE_READ_URL: a read replica for analytics pages (never written to); empty: database_url.
    database_read_url: str = ""

    @property
    def analytics_url(self) -> str:
        """Where analytics pages read: the read replica when one is configured, else the main database."""
        return self.database_read_url or self.database_url

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from ``CRM_DATABASE_URL``, ``CRM_DATABASE_READ_URL``, ``CRM_TIMEZONE``, ``CRM_DEMO_MODE``,
    ``CRM_COOKIE_SECURE``, ``CRM_SMTP_URL``, ``CRM_MAIL_FROM``, ``CRM_APP_URL`` and ``CRM_PHONE_REGION``."""
    return Settings(
        database_url=os.environ.get("CRM_DATABASE_URL", DEFAULT_DATABASE_URL),
        timezone_name=os.environ.get("CRM_TIMEZONE", "UTC"),
        demo_mode=_flag("CRM_DEMO_MODE", default=False),
        cookie_secure=_flag("CRM_COOKIE_SECURE", default=False),
        smtp_url=os.environ.get("CRM_SMTP_URL", "").strip() or None,
        mail_from=os.environ.get("CRM_MAIL_FROM", "").strip() or None,
        app_url=os.environ.get("CRM_APP_URL", "").strip().rstrip("/") or "http://localhost:8501",
        phone_region=(os.environ.get("CRM_PHONE_REGION") or DEFAULT_PHONE_REGION).strip().upper(),
        database_read_url=os.environ.get("CRM_DATABASE_READ_URL", "").strip(),
    )


def _shannon_bits_per_symbol(symbols: list[object]) -> float:
    if not symbols:
        return 0.0
    counts = Counter(symbols)
    total = len(symbols)
    return -sum(count / total * math.log2(count / total) for count in counts.values())


def _symbols_after_repeats(text: str) -> int:
    """How many symbols ``text`` is, when a repeat of an earlier run of 3+ characters counts as one."""
    position, symbols = 0, 0
    while position < len(text):
        longest = 0
        for start in range(position):
            length = 0
            while position + length < len(text) and text[start + length] == text[position + length]:
                length += 1
            longest = max(longest, length)
        position += longest if longest >= _REPEAT_MINIMUM else 1
        symbols += 1
    return symbols


def cookie_key_strength(key: str) -> float:
    """A conservative estimate of the key's randomness in bits.

    Symbols × bits per symbol, where repeats of earlier runs (``abcabcabc``) count as one
    symbol each, and bits per symbol is the lower of two empirical Shannon entropies: of the
    characters themselves (few distinct characters, ``aaaa…``) and of the steps between
    neighbours (runs like ``abcdef…`` or ``0123…``, whose steps are all 1).
    """
    text = key[:_ANALYSED_CHARACTERS]
    steps = [ord(after) - ord(before) for before, after in pairwise(text)]
    bits_per_symbol = min(_shannon_bits_per_symbol(list(text)), _shannon_bits_per_symbol(steps))
    return _symbols_after_repeats(text) * bits_per_symbol


def cookie_key_problem(key: str) -> str | None:
    """Why ``key`` may not sign cookies (missing, a published example, too short, too little
    randomness), with how to make a good one; None when it is fine."""
    how = f"Make one with {MAKE_COOKIE_KEY_COMMAND} and set CRM_COOKIE_KEY (or cookie_key in .streamlit/secrets.toml)."
    if not key:
        return f"Pulse CRM will not start without a cookie key. {how}"
    if key in LIBRARY_DEFAULT_KEYS:
        return f"CRM_COOKIE_KEY is streamlit-authenticator's published example key; use a random one. {how}"
    if len(key) < MIN_COOKIE_KEY_LENGTH:
        length = f"at least {MIN_COOKIE_KEY_LENGTH}"
        return f"CRM_COOKIE_KEY has {len(key)} characters; use a random string of {length}. {how}"
    strength = cookie_key_strength(key)
    if strength < MIN_COOKIE_KEY_BITS:
        return (
            f"CRM_COOKIE_KEY is too predictable (about {strength:.0f} bits of randomness, at least "
            f"{MIN_COOKIE_KEY_BITS} needed: repeated or sequential characters). {how}"
        )
    return None
