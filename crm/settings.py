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
    # CRM_SMTP_URL: where campaign (and later digest) mail goes, smtp://user:password@host:587 (STARTTLS
    # when the server offers it) or smtps://user:password@host:465 (TLS from the start). Unset: no mail
    # is sent and email campaigns are exported as CSV for the user's own mail tool.
    smtp_url: str | None = None
    # CRM_MAIL_FROM: the From address of every message; required as soon as CRM_SMTP_URL is set.
    mail_from: str | None = None
    # CRM_APP_URL: the address users open the app at; unsubscribe links in messages point there.
    app_url: str = "http://localhost:8501"

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
    """Settings from ``CRM_DATABASE_URL``, ``CRM_TIMEZONE``, ``CRM_DEMO_MODE``, ``CRM_COOKIE_SECURE``,
    ``CRM_SMTP_URL``, ``CRM_MAIL_FROM`` and ``CRM_APP_URL``."""
    return Settings(
        database_url=os.environ.get("CRM_DATABASE_URL", DEFAULT_DATABASE_URL),
        timezone_name=os.environ.get("CRM_TIMEZONE", "UTC"),
        demo_mode=_flag("CRM_DEMO_MODE", default=False),
        cookie_secure=_flag("CRM_COOKIE_SECURE", default=False),
        smtp_url=os.environ.get("CRM_SMTP_URL", "").strip() or None,
        mail_from=os.environ.get("CRM_MAIL_FROM", "").strip() or None,
        app_url=os.environ.get("CRM_APP_URL", "").strip().rstrip("/") or "http://localhost:8501",
    )
