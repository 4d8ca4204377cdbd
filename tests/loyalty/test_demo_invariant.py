"""Demo data keeps the ledger invariant, and its tier history ends in each customer's current tier."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, select

from crm.demo import DemoSize, generate_demo
from crm.loyalty import balance_problems, read_tiers, tier_for
from crm.schema import customers, loyalty_ledger, loyalty_tier_changes


def test_demo_balances_equal_their_ledgers_and_the_tier_history_ends_in_the_current_tier(engine: Engine) -> None:
    generate_demo(engine, DemoSize(customers=120, orders=900), seed=5, end_date=date(2025, 6, 30))
    assert balance_problems(engine) == []
    with engine.connect() as connection:
        tiers = read_tiers(connection)
        balances = dict(connection.execute(select(customers.c.id, customers.c.loyalty_points)).all())
        history = pd.DataFrame(
            connection.execute(
                select(loyalty_tier_changes.c.customer_id, loyalty_tier_changes.c.to_tier).order_by(
                    loyalty_tier_changes.c.changed_at, loyalty_tier_changes.c.id
                )
            ).all(),
            columns=["customer_id", "to_tier"],
        )
        kinds = set(connection.execute(select(loyalty_ledger.c.kind).distinct()).scalars())
    last = history.groupby("customer_id")["to_tier"].last()
    for customer_id, points in balances.items():
        assert last.get(customer_id, tiers[0][0]) == tier_for(points, tiers)
    assert kinds <= {"earn", "reversal"}
    assert (last != tiers[0][0]).sum() > 0
