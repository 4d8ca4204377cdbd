"""Tier history for ledgers loaded in bulk (demo data): replay each customer's ledger in time order.

Live writes record tier changes as they happen (``crm.loyalty.ledger.book``); a ledger that
arrives in bulk gets the same history here, vectorised: running balance per customer, tier
of each running balance, a change wherever the tier differs from the row before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from crm.bulk import bulk_insert
from crm.loyalty.tiers import read_tiers
from crm.schema import loyalty_ledger, loyalty_settings, loyalty_tier_changes, utc_now

__all__ = ["replay_tier_changes"]


def replay_tier_changes(connection: Connection) -> dict[str, int]:
    """Write the tier changes the whole ledger implies (the table must be empty) and the default rule row.

    Returns rows written per table.
    """
    written: dict[str, int] = {}
    if connection.execute(select(loyalty_settings.c.id)).first() is None:
        now = utc_now()
        connection.execute(loyalty_settings.insert().values(id=1, created_at=now, updated_at=now))
        written["loyalty_settings"] = 1
    rows = connection.execute(
        select(loyalty_ledger.c.customer_id, loyalty_ledger.c.points, loyalty_ledger.c.created_at, loyalty_ledger.c.id)
    ).all()
    if not rows:
        written["loyalty_tier_changes"] = 0
        return written
    ledger = pd.DataFrame(rows, columns=["customer_id", "points", "created_at", "id"])
    ledger = ledger.sort_values(["customer_id", "created_at", "id"], kind="stable").reset_index(drop=True)
    tiers = read_tiers(connection)
    names = np.asarray([name for name, _minimum in tiers], dtype=object)
    thresholds = np.asarray([minimum for _name, minimum in tiers], dtype=np.int64)
    balance = ledger.groupby("customer_id", sort=False)["points"].cumsum().to_numpy(dtype=np.int64)
    tier = np.searchsorted(thresholds, balance, side="right") - 1
    tier = np.clip(tier, 0, None)  # below every threshold counts as the lowest tier
    first = ledger["customer_id"].ne(ledger["customer_id"].shift()).to_numpy()
    previous = np.where(first, 0, np.roll(tier, 1))
    changed = tier != previous
    changes = pd.DataFrame(
        {
            "customer_id": ledger["customer_id"].to_numpy()[changed],
            "from_tier": names[previous[changed]],
            "to_tier": names[tier[changed]],
            "balance": balance[changed],
            "changed_at": ledger["created_at"].to_numpy()[changed],
        }
    )
    written["loyalty_tier_changes"] = bulk_insert(connection, loyalty_tier_changes, changes)
    return written
