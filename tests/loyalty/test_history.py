"""The demo's tier history replays each customer's ledger in order, whatever the customers' interleaving."""

from __future__ import annotations

import numpy as np

from crm.loyalty.history import tier_changes_frame
from crm.schema import LOYALTY_TIERS


def test_each_customers_running_balance_records_a_change_only_when_the_tier_differs() -> None:
    # Ledger order: A +600, B +1200 (silver), A +500 (1100 silver), A -200 (900 bronze), B +4000 (5200 gold).
    customers = np.array([7, 8, 7, 7, 8])
    points = np.array([600, 1200, 500, -200, 4000])
    moments = np.arange(5).astype("datetime64[s]")
    frame = tier_changes_frame(customers, points, moments, LOYALTY_TIERS)
    rows = sorted(
        zip(
            frame["changed_at"].astype("int64"),
            frame["customer_id"],
            frame["from_tier"],
            frame["to_tier"],
            frame["balance"],
            strict=True,
        )
    )
    assert rows == [
        (1, 8, "bronze", "silver", 1200),
        (2, 7, "bronze", "silver", 1100),
        (3, 7, "silver", "bronze", 900),
        (4, 8, "silver", "gold", 5200),
    ]
