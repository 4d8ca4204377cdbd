"""Bench cases of the loyalty analytics (``crm.analytics.loyalty``).

Same shape as ``crm.analytics.benchmarks``: the crm function, hand-written SQL (aliases l =
loyalty_ledger, tc = loyalty_tier_changes, c = customers) and a pandas baseline loading whole
tables; ``tests/analytics/test_benchmarks.py`` checks that all three agree on tiny_shop.
The hand SQL always joins customers, the crm functions only when a customer filter needs it.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from crm.analytics import loyalty
from crm.analytics.benchmarks import AnalyticsCase, _hand, _in_period, _load, _people, _Spelling
from crm.filters import Filters
from crm.schema import loyalty_ledger, loyalty_tier_changes, loyalty_tiers

__all__ = ["CASES"]

LEDGER_FROM = "loyalty_ledger l JOIN customers c ON c.id = l.customer_id"


# --- points over time ------------------------------------------------------------------------------
def _hand_points_sql(s: _Spelling) -> str:
    start, _end = s.filters.utc_bounds()
    opening = "0"
    if start is not None:
        opening = (
            f"(SELECT COALESCE(SUM(l.points), 0) FROM {LEDGER_FROM} WHERE l.created_at < {s.bind(start)}{s.people()})"
        )
    monthly = f"""
        SELECT {s.month("l.created_at")} AS period,
               SUM(CASE WHEN l.points > 0 THEN l.points ELSE 0 END) AS issued,
               SUM(CASE WHEN l.kind = 'redeem' THEN -l.points ELSE 0 END) AS redeemed,
               SUM(CASE WHEN l.points < 0 AND l.kind <> 'redeem' THEN -l.points ELSE 0 END) AS reversed,
               SUM(l.points) AS net
        FROM {LEDGER_FROM}
        WHERE 1 = 1{s.period("l.created_at")}{s.people()}
        GROUP BY 1"""
    # The outstanding balance: the opening balance plus every month's net up to this one.
    return f"""
        SELECT m.period, m.issued, m.redeemed, m.reversed, m.net,
               {opening} + (SELECT SUM(earlier.net) FROM ({monthly}) earlier WHERE earlier.period <= m.period)
        FROM ({monthly}) m ORDER BY m.period"""


def _ledger_of_people(engine: Engine, filters: Filters) -> pd.DataFrame:
    (ledger,) = _load(engine, loyalty_ledger)
    return ledger[ledger["customer_id"].isin(_people(engine, filters)["id"])].copy()


def _pandas_points(engine: Engine, filters: Filters) -> pd.DataFrame:
    ledger = _ledger_of_people(engine, filters)
    start, _end = filters.utc_bounds()
    opening = 0 if start is None else int(ledger[pd.to_datetime(ledger["created_at"]) < start]["points"].sum())
    rows = ledger[_in_period(ledger["created_at"], filters)]
    rows = rows.assign(
        period=pd.to_datetime(rows["created_at"]).dt.strftime("%Y-%m-01"),
        issued=rows["points"].clip(lower=0),
        redeemed=-rows["points"].where(rows["kind"] == "redeem", 0),
        reversed=-rows["points"].where((rows["points"] < 0) & (rows["kind"] != "redeem"), 0),
    )
    frame = (
        rows.groupby("period")
        .agg(
            issued=("issued", "sum"), redeemed=("redeemed", "sum"), reversed=("reversed", "sum"), net=("points", "sum")
        )
        .reset_index()
        .sort_values("period")
    )
    frame["outstanding"] = opening + frame["net"].cumsum()
    return frame[loyalty.POINTS_COLUMNS]


# --- tier migrations --------------------------------------------------------------------------------
def _hand_migrations_sql(s: _Spelling) -> str:
    return f"""
        SELECT tc.from_tier, tc.to_tier,
               CASE WHEN o.min_points IS NULL OR n.min_points IS NULL THEN 'other'
                    WHEN n.min_points > o.min_points THEN 'up' ELSE 'down' END,
               COUNT(*), COUNT(DISTINCT tc.customer_id)
        FROM loyalty_tier_changes tc JOIN customers c ON c.id = tc.customer_id
        LEFT JOIN loyalty_tiers o ON o.name = tc.from_tier LEFT JOIN loyalty_tiers n ON n.name = tc.to_tier
        WHERE 1 = 1{s.period("tc.changed_at")}{s.people()}
        GROUP BY 1, 2, 3"""


def _pandas_migrations(engine: Engine, filters: Filters) -> pd.DataFrame:
    changes, tiers = _load(engine, loyalty_tier_changes, loyalty_tiers)
    changes = changes[changes["customer_id"].isin(_people(engine, filters)["id"])]
    changes = changes[_in_period(changes["changed_at"], filters)]
    thresholds = dict(zip(tiers["name"], tiers["min_points"], strict=True))
    old, new = changes["from_tier"].map(thresholds), changes["to_tier"].map(thresholds)
    changes = changes.assign(
        direction=[
            "other" if pd.isna(a) or pd.isna(b) else "up" if b > a else "down" for a, b in zip(old, new, strict=True)
        ]
    )
    frame = (
        changes.groupby(["from_tier", "to_tier", "direction"])
        .agg(changes=("id", "count"), customers=("customer_id", "nunique"))
        .reset_index()
    )
    return frame[loyalty.MIGRATION_COLUMNS]


CASES = [
    AnalyticsCase(
        "loyalty: points issued, redeemed, outstanding",
        loyalty.points_over_time,
        _hand(loyalty.POINTS_COLUMNS, _hand_points_sql),
        _pandas_points,
    ),
    AnalyticsCase(
        "loyalty: tier migrations",
        loyalty.tier_migrations,
        _hand(loyalty.MIGRATION_COLUMNS, _hand_migrations_sql),
        _pandas_migrations,
    ),
]
