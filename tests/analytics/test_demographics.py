"""Demographics on tiny_shop, looked at on 31 Mar 2025 (ages: Alice 34, Bob 40, Chloe 24, Dan 54)."""

from __future__ import annotations

from datetime import date

from crm.analytics.demographics import age_gender_distribution, summarise, top_locations
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


def test_age_groups_and_genders_with_spending(tiny_shop: TinyShop) -> None:
    frame = age_gender_distribution(tiny_shop.engine, Filters(today=TODAY))
    rows = {
        (row.age_group, row.gender): (row.customers, row.buying_customers, row.orders, row.revenue)
        for row in frame.itertuples()
    }
    assert rows == {
        ("18–24", "female"): (1, 1, 1, 38.0),  # Chloe O5
        ("25–34", "female"): (1, 1, 3, 176.0),  # Alice O1 + O2 + O8
        ("35–44", "male"): (1, 1, 1, 38.0),  # Bob O3
        ("45–54", "male"): (1, 1, 1, 50.0),  # Dan O7
        ("unknown", "female"): (1, 0, 0, 0.0),  # Eve has no birth date and no orders
    }
    assert list(frame["age_group"]) == ["18–24", "25–34", "35–44", "45–54", "unknown"]


def test_demographics_follow_gender_and_date_filters(tiny_shop: TinyShop) -> None:
    men = age_gender_distribution(tiny_shop.engine, Filters(genders=("male",), today=TODAY))
    assert set(men["gender"]) == {"male"} and men["revenue"].sum() == 88.0
    january = age_gender_distribution(
        tiny_shop.engine, Filters(start_date=date(2025, 1, 1), end_date=date(2025, 1, 31), today=TODAY)
    )
    # Customers created by the end of January: Alice and Bob; both bought in January (49, 38).
    assert january["customers"].sum() == 2 and january["revenue"].sum() == 87.0


def test_top_locations_rank_cities_by_revenue(tiny_shop: TinyShop) -> None:
    frame = top_locations(tiny_shop.engine, Filters())
    assert frame.to_dict("records") == [
        {
            "country": "KR",
            "city": "Seoul",
            "buying_customers": 4,
            "orders": 6,
            "revenue": 302.0,
            "revenue_per_buyer": 75.5,
        }
    ]
    assert top_locations(tiny_shop.engine, Filters(brands=("nowhere",))).empty


def test_summary_gives_the_headline_numbers(tiny_shop: TinyShop) -> None:
    summary = summarise(age_gender_distribution(tiny_shop.engine, Filters(today=TODAY)))
    assert (summary.customers, summary.buying_customers, summary.revenue) == (5, 4, 302.0)
    assert summary.revenue_per_buyer == 75.5  # 302 / 4
    assert summary.top_age_group == "25–34"  # Alice's 176
