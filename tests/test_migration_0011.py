"""Migration 0011 folds spelling variants of sources and recomputes the stored contact keys."""

from __future__ import annotations

from sqlalchemy import Engine, select

from crm.db import init_database
from crm.schema import customers
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.test_migrations import database_at_0001  # noqa: F401 - the fixture, on both engines


def test_upgrading_folds_source_variants_and_rekeys_phones_and_emails(database_at_0001: Engine) -> None:  # noqa: F811
    engine = database_at_0001
    load_tiny_shop(engine)
    old_values = {
        1: {"source": "Website", "email": "Alice@Example.com", "email_normalized": "alice@example.com"},
        2: {"source": " web site ", "phone": "+82 10-4645-8329", "phone_normalized": "821046458329"},
        3: {"source": "Social Media"},
        4: {"source": "social-media"},
        5: {"source": "Pop-up Market"},
    }
    with engine.begin() as connection:
        for customer_id, values in old_values.items():
            connection.execute(customers.update().where(customers.c.id == customer_id).values(**values))
    init_database(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                customers.c.id, customers.c.source, customers.c.email_normalized, customers.c.phone_normalized
            ).order_by(customers.c.id)
        ).all()
    assert [row.source for row in rows] == ["website", "website", "social_media", "social_media", "pop_up_market"]
    assert rows[0].email_normalized == "alice@example.com"
    assert rows[1].phone_normalized == "+821046458329"
    # A number phonenumbers cannot place in the default region (US) keeps its digits as the key.
    assert rows[2].phone_normalized == "01000000003"
