"""The brand rule on tiny_shop: a brand filter keeps the brand's orders and, where customers are
counted as people, the brand's customers (customers.brand_id), on both engines.

tiny_shop's customers have no brand, so each test first gives them one:
  Aurora: Alice (website, silver), Chloe (social_media, bronze), Eve (website, prospect, bronze)
  Boreal: Bob (referral, bronze), Dan (website, gold)
Aurora's counted orders: Alice O1 49 + O2 100 + O8 27 = 176, Chloe O5 38 (Dan's Aurora O6 is refunded).
Boreal's counted orders: Bob O3 38, Dan O7 50 (Bob's O4 is cancelled).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from crm.analytics.demographics import age_gender_distribution
from crm.analytics.overview import growth_trends, overview_kpis, period_totals
from crm.analytics.segmentation import loyalty_tier_distribution, source_effectiveness
from crm.filters import Filters
from crm.schema import customers
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)
AURORA, BOREAL = 1, 2
CUSTOMER_BRANDS = {1: AURORA, 2: BOREAL, 3: AURORA, 4: BOREAL, 5: AURORA}


@pytest.fixture
def branded_shop(tiny_shop: TinyShop) -> TinyShop:
    with tiny_shop.engine.begin() as connection:
        for customer_id, brand_id in CUSTOMER_BRANDS.items():
            connection.execute(update(customers).where(customers.c.id == customer_id).values(brand_id=brand_id))
    return tiny_shop


def test_conversion_with_a_brand_counts_the_brands_customers_on_both_sides(branded_shop: TinyShop) -> None:
    aurora = period_totals(branded_shop.engine, Filters(brands=("Aurora",), today=TODAY))
    # Alice, Chloe and Eve are Aurora's; Alice and Chloe bought Aurora: 2 of 3 (all brands' customers would give 2/5).
    assert (aurora.new_customers, aurora.converted_customers) == (3, 2)
    assert aurora.conversion_rate == pytest.approx(2 / 3)
    assert aurora.revenue == Decimal("214.00")  # revenue stays the brand's orders: 176 + 38
    boreal = period_totals(branded_shop.engine, Filters(brands=("Boreal",), today=TODAY))
    assert (boreal.new_customers, boreal.converted_customers, boreal.revenue) == (2, 2, Decimal("88.00"))


def test_conversion_in_a_period_with_a_brand(branded_shop: TinyShop) -> None:
    filters = Filters(brands=("Aurora",), start_date=date(2025, 2, 1), end_date=date(2025, 3, 31))
    totals = period_totals(branded_shop.engine, filters)
    # Created Feb–Mar and of Aurora: Chloe (10 Feb) and Eve (1 Mar); Chloe bought Aurora on 20 Feb.
    assert (totals.new_customers, totals.converted_customers) == (2, 1)


def test_a_customer_of_the_brand_converts_only_with_an_order_of_the_brand(branded_shop: TinyShop) -> None:
    # Dan belongs to Aurora now; his only Aurora order O6 is refunded, his counted O7 is Boreal's.
    with branded_shop.engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == 4).values(brand_id=AURORA))
    aurora = period_totals(branded_shop.engine, Filters(brands=("Aurora",), today=TODAY))
    assert (aurora.new_customers, aurora.converted_customers) == (4, 2)


def test_new_customers_per_month_and_the_customer_total_follow_the_brand(branded_shop: TinyShop) -> None:
    filters = Filters(brands=("Aurora",), today=TODAY)
    trends = growth_trends(branded_shop.engine, filters)
    assert list(trends["new_customers"]) == [1, 1, 1]  # Alice in Jan, Chloe in Feb, Eve in Mar
    assert overview_kpis(branded_shop.engine, filters).total_customers == 3


def test_demographics_count_the_brands_customers(branded_shop: TinyShop) -> None:
    frame = age_gender_distribution(branded_shop.engine, Filters(brands=("Aurora",), today=TODAY))
    rows = {
        (row.age_group, row.gender): (row.customers, row.buying_customers, row.revenue) for row in frame.itertuples()
    }
    assert rows == {
        ("18–24", "female"): (1, 1, 38.0),  # Chloe
        ("25–34", "female"): (1, 1, 176.0),  # Alice
        ("unknown", "female"): (1, 0, 0.0),  # Eve, no orders
    }


def test_loyalty_tiers_count_the_brands_customers(branded_shop: TinyShop) -> None:
    frame = loyalty_tier_distribution(branded_shop.engine, Filters(brands=("Aurora",), today=TODAY)).set_index("tier")
    # Chloe 0 and Eve 0 points: bronze; Alice 1200: silver; Dan (gold) is Boreal's.
    assert frame["customers"].to_dict() == {"bronze": 2, "silver": 1, "gold": 0, "platinum": 0}
    assert frame["revenue"].to_dict() == {"bronze": 38.0, "silver": 176.0, "gold": 0.0, "platinum": 0.0}


def test_source_effectiveness_counts_the_brands_new_customers(branded_shop: TinyShop) -> None:
    frame = source_effectiveness(branded_shop.engine, Filters(brands=("Aurora",), today=TODAY)).set_index("source")
    # Website: Alice and Eve are Aurora's (Dan is Boreal's), Alice bought: 1 of 2. Bob (referral) is Boreal's.
    assert frame.loc["website", ["new_customers", "converted_customers"]].tolist() == [2, 1]
    assert frame.loc["social_media", "conversion_rate"] == 1.0
    assert "referral" not in frame.index
    assert (frame["conversion_rate"].dropna() <= 1).all()


def test_customers_without_a_brand_are_left_out_by_a_brand_filter(tiny_shop: TinyShop) -> None:
    # tiny_shop as loaded: nobody has a brand, so no customer is Aurora's even though Aurora sold.
    totals = period_totals(tiny_shop.engine, Filters(brands=("Aurora",), today=TODAY))
    assert (totals.new_customers, totals.conversion_rate, totals.revenue) == (0, None, Decimal("214.00"))
