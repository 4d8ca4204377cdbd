"""Loyalty analytics: points issued, redeemed and outstanding over time; tier migrations.

Both read the points ledger (``loyalty_ledger``) and the tier history (``loyalty_tier_changes``)
of the customers counted as people (``Filters.customer_count_clauses``: attributes, loyalty tier
and the brand rule on ``customers.brand_id``). The date range applies to when the row was
written. Members per tier now are ``crm.analytics.segmentation.loyalty_tier_distribution``.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, case, func, literal, select

from crm.analytics.scope import local_time
from crm.dialect import Grain, period_start
from crm.filters import Filters
from crm.schema import customers, loyalty_ledger, loyalty_tier_changes, loyalty_tiers

__all__ = ["points_over_time", "tier_migrations"]

POINTS_COLUMNS = ["period", "issued", "redeemed", "reversed", "net", "outstanding"]
MIGRATION_COLUMNS = ["from_tier", "to_tier", "direction", "changes", "customers"]


def _needs_customers(filters: Filters) -> bool:
    return filters.has_customer_filters() or bool(filters.brands)


def points_over_time(engine: Engine, filters: Filters, *, grain: Grain = "month") -> pd.DataFrame:
    """Points per day/week/month/quarter/year (local time) of the ledger rows written in the period, oldest first.

    Columns: period ('YYYY-MM-DD' first day); issued (sum of positive rows: earned by delivered
    orders, opening balances, positive adjustments); redeemed (points spent: −sum of redeem
    rows); reversed (other points taken back: reversals of cancelled/refunded orders and
    negative adjustments, as a positive number); net (issued − redeemed − reversed);
    outstanding (the liability: every point of those customers not yet spent or reversed at the
    end of the period, counting rows from before the date range too). Only periods with rows appear.
    """
    points = loyalty_ledger.c.points
    redeem = loyalty_ledger.c.kind == "redeem"
    source = loyalty_ledger
    if _needs_customers(filters):
        source = loyalty_ledger.join(customers, customers.c.id == loyalty_ledger.c.customer_id)
    people = filters.customer_count_clauses(customers) if _needs_customers(filters) else []
    period = period_start(local_time(loyalty_ledger.c.created_at, filters), grain).label("period")
    query = (
        select(
            period,
            func.coalesce(func.sum(case((points > 0, points), else_=0)), 0),
            func.coalesce(func.sum(case((redeem, -points), else_=0)), 0),
            func.coalesce(func.sum(case(((points < 0) & ~redeem, -points), else_=0)), 0),
            func.coalesce(func.sum(points), 0),
        )
        .select_from(source)
        .where(*people, *filters.period_clauses(loyalty_ledger.c.created_at))
        .group_by(period)
        .order_by(period)
    )
    start, _end = filters.utc_bounds()
    opening_query = select(func.coalesce(func.sum(points), 0)).select_from(source).where(*people)
    with engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(query).all(), columns=POINTS_COLUMNS[:5])
        opening = 0
        if start is not None:
            opening = int(connection.execute(opening_query.where(loyalty_ledger.c.created_at < start)).scalar_one())
    for column in POINTS_COLUMNS[1:5]:
        frame[column] = frame[column].astype("int64")
    # The running liability over the (few) aggregated periods, from the balance before the range.
    frame["outstanding"] = opening + frame["net"].cumsum()
    return frame[POINTS_COLUMNS]


def tier_migrations(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Moves between loyalty tiers recorded in the period, most frequent first.

    Columns: from_tier, to_tier, direction ('up' when the new tier needs more points than the
    old one by the current thresholds, 'down' when fewer, 'other' for a tier no longer
    defined), changes (recorded tier changes), customers (distinct customers who made that move).
    """
    old, new = loyalty_tiers.alias("old_tier"), loyalty_tiers.alias("new_tier")
    direction = case(
        (old.c.min_points.is_(None) | new.c.min_points.is_(None), literal("other")),
        (new.c.min_points > old.c.min_points, literal("up")),
        else_=literal("down"),
    ).label("direction")
    changes = loyalty_tier_changes
    source = changes.outerjoin(old, old.c.name == changes.c.from_tier).outerjoin(new, new.c.name == changes.c.to_tier)
    people = []
    if _needs_customers(filters):
        source = source.join(customers, customers.c.id == changes.c.customer_id)
        people = filters.customer_count_clauses(customers)
    query = (
        select(
            changes.c.from_tier,
            changes.c.to_tier,
            direction,
            func.count(changes.c.id),
            func.count(func.distinct(changes.c.customer_id)),
        )
        .select_from(source)
        .where(*people, *filters.period_clauses(changes.c.changed_at))
        .group_by(changes.c.from_tier, changes.c.to_tier, direction)
    )
    with engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(query).all(), columns=MIGRATION_COLUMNS)
    return frame.sort_values(["changes", "from_tier", "to_tier"], ascending=[False, True, True], ignore_index=True)
