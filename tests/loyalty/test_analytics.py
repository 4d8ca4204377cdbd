"""Loyalty analytics and the tier filter on tiny_shop, numbers computed by hand (both engines).

tiny_shop's ledger (tests/fixtures/tiny_shop.py): Bob +1262 (20 Jan), +38 (25 Jan), −1000 redeem (20 Feb);
Dan +6500 (15 Feb), +110 (15 Mar), −500 redeem (18 Mar), −110 reversal (20 Mar). Balances now:
Alice 1200 silver, Bob 300 bronze, Chloe 0, Dan 6000 gold, Eve 0.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select

from crm.analytics.loyalty import points_over_time, tier_migrations
from crm.analytics.revenue import revenue_over_time
from crm.filters import Filters
from crm.loyalty import update_tiers
from crm.schema import customers
from tests.fixtures.tiny_shop import TinyShop
from tests.loyalty.conftest import MANAGER

TODAY = date(2025, 3, 31)


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_points_issued_redeemed_reversed_and_outstanding_per_month(tiny_shop: TinyShop) -> None:
    frame = points_over_time(tiny_shop.engine, Filters(today=TODAY))
    assert _rows(frame) == [
        ("2025-01-01", 1300, 0, 0, 1300, 1300),
        ("2025-02-01", 6500, 1000, 0, 5500, 6800),
        ("2025-03-01", 110, 500, 110, -500, 6300),
    ]


def test_the_outstanding_balance_counts_points_from_before_the_date_range(tiny_shop: TinyShop) -> None:
    frame = points_over_time(tiny_shop.engine, Filters(start_date=date(2025, 3, 1), end_date=TODAY, today=TODAY))
    # January and February leave 6800 outstanding; March nets −500.
    assert _rows(frame) == [("2025-03-01", 110, 500, 110, -500, 6300)]


def test_tier_migrations_in_a_period_with_their_direction(tiny_shop: TinyShop) -> None:
    everything = tier_migrations(tiny_shop.engine, Filters(today=TODAY))
    assert sorted(_rows(everything)) == [
        ("bronze", "gold", "up", 1, 1),
        ("bronze", "silver", "up", 1, 1),
        ("silver", "bronze", "down", 1, 1),
    ]
    february = tier_migrations(tiny_shop.engine, Filters(start_date=date(2025, 2, 1), end_date=date(2025, 2, 28)))
    assert sorted(_rows(february)) == [("bronze", "gold", "up", 1, 1), ("silver", "bronze", "down", 1, 1)]


def _customers_in(tiny_shop: TinyShop, *tiers: str) -> list[str]:
    clauses = Filters(loyalty_tiers=tiers).customer_clauses(customers)
    with tiny_shop.engine.connect() as connection:
        return list(
            connection.execute(select(customers.c.first_name).where(*clauses).order_by(customers.c.id)).scalars()
        )


def test_the_tier_filter_keeps_the_customers_whose_balance_is_in_the_tiers(tiny_shop: TinyShop) -> None:
    assert _customers_in(tiny_shop, "silver") == ["Alice"]
    assert _customers_in(tiny_shop, "gold", "platinum") == ["Dan"]
    assert _customers_in(tiny_shop, "bronze") == ["Bob", "Chloe", "Eve"]
    # Thresholds come from the table: with silver from 200, Bob's 300 is silver.
    update_tiers(tiny_shop.engine, MANAGER, {"silver": 200})
    assert _customers_in(tiny_shop, "silver") == ["Alice", "Bob"]


def test_analytics_functions_honour_the_tier_filter_through_the_shared_clauses(tiny_shop: TinyShop) -> None:
    # Gold is Dan: his counted order is O7 (pending, 50.00, March); O6 was refunded.
    gold = revenue_over_time(tiny_shop.engine, Filters(loyalty_tiers=("gold",), today=TODAY))
    assert list(zip(gold["period"], gold["revenue"], strict=True)) == [("2025-03-01", 50.0)]
    points = points_over_time(tiny_shop.engine, Filters(loyalty_tiers=("gold",), today=TODAY))
    assert _rows(points) == [("2025-02-01", 6500, 0, 0, 6500, 6500), ("2025-03-01", 110, 500, 110, -500, 6000)]
