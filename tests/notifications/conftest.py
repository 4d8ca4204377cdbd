"""Fixtures of the digest and alert tests: a real SMTP server and tiny_shop users with e-mail addresses."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from crm.exports import png_available
from crm.schema import users
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer

# A key good enough for the cookie rule; digests sign their unsubscribe links with it.
SECRET_KEY = "k3Y-for-Tests_9fQ2vX7mLp4sRt8wZc1Nb6Hd0Ju5Ey"
APP_URL = "https://crm.example.test"


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def shop_with_mail(tiny_shop: TinyShop) -> TinyShop:
    """tiny_shop whose users ada (admin) and sam (agent) have e-mail addresses, plus an analyst."""
    with tiny_shop.engine.begin() as connection:
        connection.execute(update(users).where(users.c.username == "ada").values(email="ada@shop.test"))
        connection.execute(update(users).where(users.c.username == "sam").values(email="sam@shop.test"))
    return tiny_shop


def charts_expected() -> bool:
    """Charts need chromium; CI has it (the test command installs it), so there it must work."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        return True
    return png_available()
