"""Purchase behaviour on tiny_shop. Item revenue = quantity × unit price of counted orders:
Apparel = O1 2×20 + O2 100 + O5 20 + O8 20 = 180; Home = O3 3×10 + O5 10 + O7 5×10 = 90."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine

from crm.analytics.behavior import (
    RepeatPurchases,
    Suggestion,
    category_by_age_group,
    category_preference,
    product_preference,
    repeat_purchases,
    seasonal_pattern,
    suggestions_from,
    weekly_pattern,
)
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


def test_category_preference_counts_items_of_counted_orders(tiny_shop: TinyShop) -> None:
    frame = category_preference(tiny_shop.engine, Filters())
    assert frame[["category", "quantity", "item_revenue", "order_lines"]].to_dict("records") == [
        {"category": "Apparel", "quantity": 5, "item_revenue": 180.0, "order_lines": 4},
        {"category": "Home", "quantity": 9, "item_revenue": 90.0, "order_lines": 3},
    ]
    assert frame["share"].tolist() == pytest.approx([2 / 3, 1 / 3])


def test_category_preference_follows_the_brand_filter(tiny_shop: TinyShop) -> None:
    boreal = category_preference(tiny_shop.engine, Filters(brands=("Boreal",)))
    # Boreal counted orders: O3 (3 mugs) and O7 (5 mugs).
    assert boreal[["category", "quantity", "item_revenue"]].to_dict("records") == [
        {"category": "Home", "quantity": 8, "item_revenue": 80.0}
    ]


def test_products_are_ranked_by_item_revenue(tiny_shop: TinyShop) -> None:
    frame = product_preference(tiny_shop.engine, Filters())
    assert list(frame["product"]) == ["Jacket", "Mug", "T-shirt"]
    assert list(frame["item_revenue"]) == [100.0, 90.0, 80.0]
    assert list(product_preference(tiny_shop.engine, Filters(), limit=1)["product"]) == ["Jacket"]


def test_seasonal_pattern_is_month_by_category(tiny_shop: TinyShop) -> None:
    frame = seasonal_pattern(tiny_shop.engine, Filters())
    cells = {(row.month_name, row.category): row.item_revenue for row in frame.itertuples()}
    assert cells == {
        ("Jan", "Apparel"): 40.0,
        ("Jan", "Home"): 30.0,
        ("Feb", "Apparel"): 120.0,  # Jacket 100 + T-shirt 20
        ("Feb", "Home"): 10.0,
        ("Mar", "Apparel"): 20.0,
        ("Mar", "Home"): 50.0,
    }


def test_weekly_pattern_uses_local_weekday_and_hour(tiny_shop: TinyShop) -> None:
    frame = weekly_pattern(tiny_shop.engine, Filters())
    # All orders at noon UTC: Thu O5 O7, Fri O1 O2 O8, Sat O3.
    assert frame[["day_name", "hour", "orders", "revenue"]].to_dict("records") == [
        {"day_name": "Thursday", "hour": 12, "orders": 2, "revenue": 88.0},
        {"day_name": "Friday", "hour": 12, "orders": 3, "revenue": 176.0},
        {"day_name": "Saturday", "hour": 12, "orders": 1, "revenue": 38.0},
    ]
    seoul = weekly_pattern(tiny_shop.engine, Filters(timezone_name="Asia/Seoul"))
    assert set(seoul["hour"]) == {21}  # noon UTC is 21:00 in Seoul (UTC+9, no daylight saving)


def test_category_by_age_group(tiny_shop: TinyShop) -> None:
    frame = category_by_age_group(tiny_shop.engine, Filters(today=TODAY))
    top = frame.groupby("age_group", sort=False).first()["category"].to_dict()
    # Chloe 18–24 T-shirt 20 > Mug 10; Alice 25–34 Apparel only; Bob 35–44 and Dan 45–54 mugs.
    assert top == {"18–24": "Apparel", "25–34": "Apparel", "35–44": "Home", "45–54": "Home"}
    # One buyer in each age group (Chloe, Alice, Bob, Dan).
    assert frame.groupby("age_group")["age_group_buyers"].first().to_dict() == dict.fromkeys(top, 1)


def test_repeat_purchases_measure_days_between_orders(tiny_shop: TinyShop) -> None:
    repeat = repeat_purchases(tiny_shop.engine, Filters())
    assert (repeat.buying_customers, repeat.repeat_customers) == (4, 1)
    assert repeat.repeat_rate == pytest.approx(0.25)
    # Alice: 10 Jan → 14 Feb (35 days) → 28 Mar (42 days): average 38.5 days.
    assert repeat.average_days == pytest.approx(38.5)
    counts = dict(zip(repeat.intervals["interval"], repeat.intervals["customers"], strict=True))
    assert counts["31–60 days"] == 1 and sum(counts.values()) == 1


def _suggestions(engine: Engine, filters: Filters) -> list[Suggestion]:
    """What the Behaviour page writes: its four cached results turned into words."""
    return suggestions_from(
        seasonal_pattern(engine, filters),
        weekly_pattern(engine, filters),
        category_by_age_group(engine, filters),
        repeat_purchases(engine, filters),
        timezone_name=filters.timezone_name,
    )


def test_suggestions_are_derived_from_the_data(tiny_shop: TinyShop) -> None:
    suggestions = {s.topic: s for s in _suggestions(tiny_shop.engine, Filters(today=TODAY))}
    assert "Feb" in suggestions["Seasonality"].finding  # Feb: 130 of 270 item revenue
    assert "48%" in suggestions["Seasonality"].finding
    assert "Friday" in suggestions["Timing"].finding
    # Every age group holds one buyer: one basket is no group's taste, so no age-group suggestion.
    assert "Age groups" not in suggestions
    assert "38 days" in suggestions["Repeat purchases"].finding or "39 days" in suggestions["Repeat purchases"].finding
    boreal = {s.topic: s for s in _suggestions(tiny_shop.engine, Filters(brands=("Boreal",), today=TODAY))}
    assert "Mar" in boreal["Seasonality"].finding  # O7: 50 in March beats O3: 30 in January
    assert _suggestions(tiny_shop.engine, Filters(sources=("nowhere",))) == []


def _age_mix(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["age_group", "category", "item_revenue", "age_group_buyers"])
    frame["share"] = frame["item_revenue"] / frame.groupby("age_group")["item_revenue"].transform("sum")
    return frame


NO_REPEATS = RepeatPurchases(pd.DataFrame(columns=["interval", "customers"]), 0, 0, None)
NOTHING = pd.DataFrame()


def test_age_groups_with_too_few_buyers_are_left_out_of_the_suggestion() -> None:
    by_age = _age_mix(
        [
            ("25–34", "Apparel", 600.0, 40),
            ("25–34", "Home", 400.0, 40),
            ("35–44", "Apparel", 100.0, 35),
            ("35–44", "Home", 400.0, 35),
            ("under 18", "Toys", 50.0, 1),  # one child's basket: 100 % Toys
        ]
    )
    (suggestion,) = suggestions_from(NOTHING, NOTHING, by_age, NO_REPEATS, timezone_name="UTC")
    assert suggestion.finding == (
        "Top category per age group — 25–34 (40 buyers): Apparel (60%); 35–44 (35 buyers): Home (80%) "
        "(under 18 left out: fewer than 30 buyers; a group needs 30 buyers and 5% of all buyers)."
    )
    # Overall: Apparel 700, Home 800, Toys 50 of 1550 → 45 %, 52 %; 60 % ≥ 1.2 × 45 %, 80 % ≥ 1.2 × 52 %.
    assert "Apparel for 25–34 (60% vs 45% overall); Home for 35–44 (80% vs 52% overall)" in suggestion.action
    assert "Toys" not in suggestion.action


def test_in_a_large_shop_an_age_group_needs_five_percent_of_the_buyers() -> None:
    # 2,000 buyers: 5 % is 100, so the 60 buyers aged 65+ are left out though they pass the floor of 30.
    by_age = _age_mix([("25–34", "Apparel", 900.0, 1_940), ("65+", "Home", 100.0, 60)])
    (suggestion,) = suggestions_from(NOTHING, NOTHING, by_age, NO_REPEATS, timezone_name="UTC")
    assert suggestion.finding.startswith("Top category per age group — 25–34 (1,940 buyers): Apparel (100%)")
    assert "65+ left out: fewer than 100 buyers" in suggestion.finding
    only_small = _age_mix([("65+", "Home", 100.0, 29)])
    assert suggestions_from(NOTHING, NOTHING, only_small, NO_REPEATS, timezone_name="UTC") == []


def test_when_every_age_group_likes_the_same_category_the_page_does_not_suggest_personalising_by_age() -> None:
    by_age = _age_mix(
        [
            ("25–34", "Apparel", 600.0, 40),
            ("25–34", "Home", 400.0, 40),
            ("35–44", "Apparel", 300.0, 35),
            ("35–44", "Home", 200.0, 35),
        ]
    )
    (suggestion,) = suggestions_from(NOTHING, NOTHING, by_age, NO_REPEATS, timezone_name="UTC")
    assert "Personalise" not in suggestion.action
    assert suggestion.action.startswith("Age does not change the favourite: feature Apparel for every age group")
