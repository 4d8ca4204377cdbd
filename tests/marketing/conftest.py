"""Fixtures of the marketing tests: a real local SMTP server (tests/mail_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mail_server import LocalSmtpServer


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    """aiosmtpd on 127.0.0.1 keeping every message it receives (``smtp_server.messages``)."""
    with LocalSmtpServer() as server:
        yield server
