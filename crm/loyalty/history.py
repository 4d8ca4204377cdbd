"""Tier history for ledgers built in bulk (demo data): replay each customer's ledger in time order.

Live writes record tier changes as they happen (``crm.loyalty.ledger.book``); a ledger generated
in bulk gets the same history here, vectorised with numpy (a second for millions of rows): the
running balance per customer in ledger order, the tier of each running balance, and a change
wherever that tier differs from the row before (the first row is compared with the lowest tier).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["tier_changes_frame"]


def tier_changes_frame(
    customer_ids: np.ndarray, points: np.ndarray, moments: np.ndarray, tiers: Sequence[tuple[str, int]]
) -> pd.DataFrame:
    """``loyalty_tier_changes`` rows for ledger rows given in ledger order (time, then id).

    Columns: customer_id, from_tier, to_tier, balance, changed_at.
    """
    ordered = sorted(tiers, key=lambda tier: tier[1])
    names = np.asarray([name for name, _minimum in ordered], dtype=object)
    thresholds = np.asarray([minimum for _name, minimum in ordered], dtype=np.int64)
    by_customer = np.argsort(customer_ids, kind="stable")  # keeps each customer's rows in ledger order
    customer = np.asarray(customer_ids)[by_customer]
    change = np.asarray(points, dtype=np.int64)[by_customer]
    balance = np.cumsum(change)
    first = np.ones(customer.size, dtype=bool)
    first[1:] = customer[1:] != customer[:-1]
    # Running sum per customer: the overall running sum minus what the customers before had.
    starts = np.flatnonzero(first)
    before = np.concatenate([[0], balance[starts[1:] - 1]]) if starts.size else np.zeros(0, dtype=np.int64)
    balance = balance - np.repeat(before, np.diff(np.append(starts, customer.size)))
    tier = np.clip(np.searchsorted(thresholds, balance, side="right") - 1, 0, None)
    previous = np.zeros_like(tier)
    previous[1:] = tier[:-1]
    previous[first] = 0
    changed = tier != previous
    return pd.DataFrame(
        {
            "customer_id": customer[changed],
            "from_tier": names[previous[changed]],
            "to_tier": names[tier[changed]],
            "balance": balance[changed],
            "changed_at": np.asarray(moments)[by_customer][changed],
        }
    )
