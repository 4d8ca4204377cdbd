"""Fixed reference rows every database needs (loyalty tier thresholds, default SLA targets)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from crm.schema import DEFAULT_SLA_HOURS, LOYALTY_TIERS, loyalty_tiers, sla_policies, utc_now

__all__ = ["ensure_reference_data", "loyalty_tier_for"]


def ensure_reference_data(engine: Engine) -> None:
    """Insert the loyalty tiers and SLA targets that are missing; existing rows are left as configured."""
    with engine.begin() as connection:
        present = set(connection.execute(select(loyalty_tiers.c.name)).scalars())
        missing = [
            {"name": name, "min_points": min_points} for name, min_points in LOYALTY_TIERS if name not in present
        ]
        if missing:
            connection.execute(loyalty_tiers.insert(), missing)
        configured = set(connection.execute(select(sla_policies.c.priority)).scalars())
        now = utc_now()
        targets = [
            {
                "priority": priority,
                "first_response_hours": first_response,
                "resolution_hours": resolution,
                "created_at": now,
                "updated_at": now,
            }
            for priority, first_response, resolution in DEFAULT_SLA_HOURS
            if priority not in configured
        ]
        if targets:
            connection.execute(sla_policies.insert(), targets)


def loyalty_tier_for(points: int) -> str:
    """Tier name for a points balance: bronze < 1000 <= silver < 5000 <= gold < 10000 <= platinum."""
    tier = LOYALTY_TIERS[0][0]
    for name, min_points in LOYALTY_TIERS:
        if points >= min_points:
            tier = name
    return tier
