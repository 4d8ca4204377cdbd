"""Loyalty tiers: thresholds from ``loyalty_tiers`` (editable by managers) and the tier history.

A customer's tier is the highest tier whose ``min_points`` the points balance reaches. Every
ledger write that moves a balance across a threshold records a ``loyalty_tier_changes`` row
(``crm.loyalty.ledger``). Editing thresholds re-tiers customers silently: the history records
balances crossing thresholds, not rule edits (the audit log records those).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select

from crm.audit import record_audit
from crm.loyalty.rules import LoyaltyError
from crm.permissions import Actor, Permission, require
from crm.schema import LOYALTY_TIERS, loyalty_tier_changes, loyalty_tiers, utc_now

__all__ = ["read_tiers", "record_tier_changes", "tier_for", "tier_history", "tier_names", "update_tiers"]

Tiers = tuple[tuple[str, int], ...]


def read_tiers(connection: Connection) -> Tiers:
    """(name, min_points) from lowest to highest; the built-in thresholds when the table is empty."""
    rows = connection.execute(select(loyalty_tiers.c.name, loyalty_tiers.c.min_points)).all()
    if not rows:
        return LOYALTY_TIERS
    return tuple(sorted(((row.name, int(row.min_points)) for row in rows), key=lambda tier: tier[1]))


def tier_names(engine: Engine) -> tuple[str, ...]:
    """Tier names from lowest to highest (the sidebar's loyalty tier choices)."""
    with engine.connect() as connection:
        return tuple(name for name, _minimum in read_tiers(connection))


def tier_for(points: int, tiers: Sequence[tuple[str, int]]) -> str:
    """The highest tier whose threshold ``points`` reaches (the lowest tier below every threshold)."""
    chosen = tiers[0][0]
    for name, min_points in tiers:
        if points >= min_points:
            chosen = name
    return chosen


def record_tier_changes(
    connection: Connection,
    moves: Sequence[tuple[int, int, int]],
    tiers: Sequence[tuple[str, int]],
    *,
    at: datetime | None = None,
) -> int:
    """Write a tier change for each (customer_id, balance before, balance after) that crosses a threshold."""
    when = at or utc_now()
    rows: list[dict[str, Any]] = []
    for customer_id, before, after in moves:
        old, new = tier_for(before, tiers), tier_for(after, tiers)
        if old != new:
            rows.append(
                {"customer_id": customer_id, "from_tier": old, "to_tier": new, "balance": after, "changed_at": when}
            )
    if rows:
        connection.execute(loyalty_tier_changes.insert(), rows)
    return len(rows)


def update_tiers(engine: Engine, actor: Actor, thresholds: Mapping[str, int]) -> Tiers:
    """Set the minimum points of existing tiers (managers); audited. Raises ``LoyaltyError``.

    The lowest tier must start at 0 and thresholds must rise strictly with the tiers' order.
    """
    require(actor, Permission.MANAGE_LOYALTY)
    with engine.begin() as connection:
        current = dict(read_tiers(connection))
        unknown = sorted(set(thresholds) - set(current))
        if unknown:
            raise LoyaltyError(f"unknown tier(s): {', '.join(unknown)}; the tiers are {', '.join(current)}.")
        wanted = {name: int(thresholds.get(name, minimum)) for name, minimum in current.items()}
        ordered = sorted(current, key=lambda name: current[name])
        if wanted[ordered[0]] != 0:
            raise LoyaltyError(f"the lowest tier ({ordered[0]}) starts at 0 points.")
        for lower, higher in itertools.pairwise(ordered):
            if wanted[higher] <= wanted[lower]:
                raise LoyaltyError(
                    f"{higher} ({wanted[higher]:,}) must need more points than {lower} ({wanted[lower]:,})."
                )
        changed = {name: value for name, value in wanted.items() if value != current[name]}
        if changed:
            # Thresholds are UNIQUE: move every changed tier out of the way first, then to its value.
            offset = max(max(current.values()), max(wanted.values())) + 1
            for position, name in enumerate(changed):
                connection.execute(
                    loyalty_tiers.update().where(loyalty_tiers.c.name == name).values(min_points=offset + position)
                )
            for name, value in changed.items():
                connection.execute(loyalty_tiers.update().where(loyalty_tiers.c.name == name).values(min_points=value))
            record_audit(
                connection,
                actor,
                "update",
                "loyalty_tiers",
                None,
                before={name: current[name] for name in changed},
                after=changed,
            )
        return read_tiers(connection)


def tier_history(engine: Engine, customer_id: int) -> pd.DataFrame:
    """One customer's tier changes, newest first: columns changed_at, from_tier, to_tier, balance."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                loyalty_tier_changes.c.changed_at,
                loyalty_tier_changes.c.from_tier,
                loyalty_tier_changes.c.to_tier,
                loyalty_tier_changes.c.balance,
            )
            .where(loyalty_tier_changes.c.customer_id == customer_id)
            .order_by(loyalty_tier_changes.c.changed_at.desc(), loyalty_tier_changes.c.id.desc())
        ).all()
    return pd.DataFrame(rows, columns=["changed_at", "from_tier", "to_tier", "balance"])
