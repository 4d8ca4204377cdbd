"""Configuration read from the environment, with the reason for every default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

# Embedded, zero set-up default: a file under ./data that is created on first use.
DEFAULT_DATABASE_URL = "sqlite:///data/crm.db"


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
    """Settings from ``CRM_DATABASE_URL``, ``CRM_TIMEZONE``, ``CRM_DEMO_MODE`` and ``CRM_COOKIE_SECURE``."""
    return Settings(
        database_url=os.environ.get("CRM_DATABASE_URL", DEFAULT_DATABASE_URL),
        timezone_name=os.environ.get("CRM_TIMEZONE", "UTC"),
        demo_mode=_flag("CRM_DEMO_MODE", default=False),
        cookie_secure=_flag("CRM_COOKIE_SECURE", default=False),
    )
