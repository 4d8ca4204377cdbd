"""Shared set-up of the campaign tests: tiny_shop with consent, a saved segment, a campaign."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from crm.marketing.campaigns import create_campaign
from crm.marketing.segments import save_segment
from crm.marketing.templates import Template
from crm.permissions import Actor
from crm.schema import campaign_recipients, customers

ADMIN = Actor(user_id=1, username="ada", role="admin")
MANAGER = Actor(user_id=None, username="mia", role="manager")
ANALYST = Actor(user_id=None, username="ann", role="analyst")
AGENT = Actor(user_id=2, username="sam", role="agent")
SECRET = "a-test-cookie-key-that-is-long-enough-0123456789"
APP_URL = "http://crm.test"
EVERYONE = {"any": [{"field": "status", "op": "in", "value": ["active", "prospect", "inactive"]}]}
GREETING = Template(
    subject="Hello {first_name}",
    body="Dear {first_name} {last_name},\nyou have {loyalty_points} points ({loyalty_tier}).\n"
    "Favourite: {favourite_category|none}. Last order: {last_order_date|never}.\n"
    "Unsubscribe: {unsubscribe_url}",
)


def prepare_consent(engine: Engine) -> None:
    """Consent for Alice, Bob, Chloe and Dan; Eve (5) has none; Chloe (3) has no email address."""
    with engine.begin() as connection:
        connection.execute(customers.update().where(customers.c.id != 5).values(marketing_consent=True))
        connection.execute(customers.update().where(customers.c.id == 3).values(email=None, email_normalized=None))


def make_campaign(
    engine: Engine,
    *,
    channel: str = "email",
    holdout: int = 0,
    seed: int = 7,
    rules: dict[str, Any] | None = None,
    template: Template = GREETING,
    segment_name: str = "Everyone",
) -> int:
    save_segment(engine, ADMIN, segment_name, rules or EVERYONE)
    return create_campaign(
        engine,
        ADMIN,
        name=f"Test {channel}",
        segment=segment_name,
        channel=channel,
        template=template,
        holdout_percent=holdout,
        seed=seed,
    )


def recipient_statuses(engine: Engine, campaign_id: int) -> dict[int, tuple[str, str | None]]:
    """customer id → (status, reason or error)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                campaign_recipients.c.customer_id,
                campaign_recipients.c.status,
                campaign_recipients.c.reason,
                campaign_recipients.c.error,
            ).where(campaign_recipients.c.campaign_id == campaign_id)
        ).all()
    return {row.customer_id: (row.status, row.reason or row.error) for row in rows}
