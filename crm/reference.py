"""Fixed reference rows every database needs (loyalty tier thresholds)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from crm.schema import LOYALTY_TIERS, loyalty_tiers

__all__ = ["ensure_reference_data", "loyalty_tier_for"]


def ensure_reference_data(engine: Engine) -> None:
    """Insert the loyalty tiers if they are missing; existing rows are left as configured."""
    with engine.begin() as connection:
        present = set(connection.execute(select(loyalty_tiers.c.name)).scalars())
        missing = [
            {"name": name, "min_points": min_points} for name, min_points in LOYALTY_TIERS if name not in present
        ]
        if missing:
            connection.execute(loyalty_tiers.insert(), missing)


def loyalty_tier_for(points: int) -> str:
    """Tier name for a points balance: bronze < 1000 <= silver < 5000 <= gold < 10000 <= platinum."""
    tier = LOYALTY_TIERS[0][0]
    for name, min_points in LOYALTY_TIERS:
        if points >= min_points:
            tier = name
    return tier
