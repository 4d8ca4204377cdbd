"""tiny_shop with a consistent points ledger: Alice's 1200 (the one balance without ledger rows) opened.

Balances then: Alice (1) 1200 silver, Bob (2) 300, Chloe (3) 0, Dan (4) 6000 gold, Eve (5) 0.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from crm.db import reset_sequences
from crm.loyalty import balance_problems
from crm.permissions import Actor
from crm.schema import customers, loyalty_ledger
from tests.fixtures.tiny_shop import LOYALTY_LEDGER_ROWS, TinyShop

# tiny_shop's ledger rows and Alice's opening row; rows with larger ids were written by the test.
FIXTURE_LEDGER_ROWS = len(LOYALTY_LEDGER_ROWS) + 1

ADA = Actor(user_id=1, username="ada", role="admin")
SAM = Actor(user_id=2, username="sam", role="agent")
MANAGER = Actor(user_id=None, username="meg", role="manager")
ANALYST = Actor(user_id=None, username="ann", role="analyst")


@pytest.fixture
def loyal_shop(tiny_shop: TinyShop) -> Engine:
    engine = tiny_shop.engine
    with engine.begin() as connection:
        connection.execute(
            loyalty_ledger.insert().values(
                id=FIXTURE_LEDGER_ROWS,
                customer_id=1,
                points=1200,
                kind="opening",
                reason="Opening balance",
                created_at=datetime(2025, 1, 1),
            )
        )
    reset_sequences(engine)
    assert balance_problems(engine) == []
    return engine


def balance(engine: Engine, customer_id: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(customers.c.loyalty_points).where(customers.c.id == customer_id)).scalar_one()
        )


def ledger_rows(engine: Engine, customer_id: int) -> list[tuple[str, int, int | None]]:
    """(kind, points, order_id) of the customer's rows written by the test, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(loyalty_ledger.c.kind, loyalty_ledger.c.points, loyalty_ledger.c.order_id)
            .where(loyalty_ledger.c.customer_id == customer_id, loyalty_ledger.c.id > FIXTURE_LEDGER_ROWS)
            .order_by(loyalty_ledger.c.id)
        ).all()
    return [tuple(row) for row in rows]


def assert_invariant(engine: Engine) -> None:
    """Every balance equals its ledger sum and none is negative."""
    assert balance_problems(engine) == []
