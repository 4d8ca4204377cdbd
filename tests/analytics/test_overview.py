"""Overview KPIs on tiny_shop; expected numbers from the fixture's docstring, by hand."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from crm.analytics.overview import growth_trends, overview_kpis, pending_orders, period_comparison, period_totals
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


def test_period_totals_over_all_time_match_the_fixture(tiny_shop: TinyShop) -> None:
    totals = period_totals(tiny_shop.engine, Filters(today=TODAY))
    assert totals.new_customers == 5
    assert totals.orders == 8
    assert totals.revenue == Decimal("302.00")  # 49 + 100 + 38 + 38 + 50 + 27
    assert totals.revenue_orders == 6  # O4 cancelled and O6 refunded are not counted
    assert totals.buying_customers == 4
    assert totals.average_order_value == Decimal("50.33")  # 302 / 6
    assert totals.average_customer_value == Decimal("75.50")  # 302 / 4
    assert totals.purchase_frequency == pytest.approx(1.5)  # 6 orders / 4 buyers
    assert totals.conversion_rate == pytest.approx(0.8)  # 4 of 5 customers bought
    assert totals.completed_transactions == 7  # T1 T2 T3 T5 T6 T7 T9
    assert totals.net_cash == Decimal("252.00")  # 362 in − 110 refunded


def test_march_totals_count_only_march_orders_and_transactions(tiny_shop: TinyShop) -> None:
    totals = period_totals(tiny_shop.engine, Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31)))
    assert totals.orders == 4  # O4 O6 O7 O8
    assert totals.revenue == Decimal("77.00")  # O7 50 + O8 27
    assert totals.new_customers == 1  # Eve
    assert totals.completed_transactions == 3  # T6 sale, T7 refund, T9 sale
    assert totals.net_cash == Decimal("27.00")  # 110 + 27 − 110


def test_conversion_never_exceeds_100_percent_when_older_customers_buy(tiny_shop: TinyShop) -> None:
    # In March Alice and Dan (created earlier) buy, but only Eve was created: naive buyers/new = 200 %.
    march = period_totals(tiny_shop.engine, Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31)))
    assert march.conversion_rate == 0.0  # Eve did not buy
    # February: Chloe and Dan were created, only Chloe bought in February (Dan in March).
    february = period_totals(tiny_shop.engine, Filters(start_date=date(2025, 2, 1), end_date=date(2025, 2, 28)))
    assert february.conversion_rate == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("filters", "expected_revenue"),
    [
        (Filters(sources=("website",), today=TODAY), "226.00"),  # Alice 176 + Dan 50
        (Filters(genders=("female",), today=TODAY), "214.00"),  # Alice 176 + Chloe 38
        (Filters(age_min=30, age_max=45, today=TODAY), "214.00"),  # Alice 34, Bob 40: 176 + 38
        (Filters(age_min=18, age_max=29, today=TODAY), "38.00"),  # Chloe 24
        (Filters(brands=("Boreal",), today=TODAY), "88.00"),  # O3 38 + O7 50
        (Filters(start_date=date(2025, 2, 1), end_date=date(2025, 2, 28)), "138.00"),  # O2 + O5
        (Filters(customer_types=("business",), today=TODAY), "50.00"),  # Dan's pending O7
        (
            Filters(brands=("Aurora",), genders=("female",), start_date=date(2025, 2, 1), end_date=date(2025, 2, 28)),
            "138.00",
        ),
        (Filters(sources=("nowhere",), today=TODAY), "0.00"),
    ],
)
def test_filters_narrow_revenue(tiny_shop: TinyShop, filters: Filters, expected_revenue: str) -> None:
    assert period_totals(tiny_shop.engine, filters).revenue == Decimal(expected_revenue)


def test_overview_uses_today_and_this_month_with_the_year(tiny_shop: TinyShop) -> None:
    kpis = overview_kpis(tiny_shop.engine, Filters(today=TODAY), now=datetime(2025, 3, 28, 15))
    assert kpis.as_of == date(2025, 3, 28)
    assert (kpis.today.orders, kpis.today.revenue, kpis.today.completed_transactions) == (1, Decimal("27.00"), 1)
    assert kpis.today.new_customers == 0
    assert kpis.this_month.revenue == Decimal("77.00")
    assert kpis.this_month.average_customer_value == Decimal("38.50")  # 77 / (Dan, Alice)
    assert kpis.pending is not None and (kpis.pending.count, kpis.pending.value) == (1, Decimal("50.00"))
    a_year_later = overview_kpis(tiny_shop.engine, Filters(today=TODAY), now=datetime(2026, 3, 28, 15))
    assert a_year_later.today.orders == 0 and a_year_later.this_month.orders == 0


def test_pending_orders_follow_brand_and_customer_filters(tiny_shop: TinyShop) -> None:
    assert pending_orders(tiny_shop.engine, Filters(brands=("Aurora",))).count == 0
    assert pending_orders(tiny_shop.engine, Filters(brands=("Boreal",))).value == Decimal("50.00")


def test_growth_trends_give_month_over_month_change(tiny_shop: TinyShop) -> None:
    trends = growth_trends(tiny_shop.engine, Filters(today=TODAY))
    assert list(trends["period"]) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert list(trends["revenue"]) == [87.0, 138.0, 77.0]
    assert list(trends["orders"]) == [2, 2, 4]
    assert list(trends["new_customers"]) == [2, 2, 1]
    assert trends["revenue_change"].iloc[1] == pytest.approx((138 - 87) / 87)
    assert trends["orders_change"].iloc[2] == pytest.approx(1.0)  # 2 → 4
    assert trends["new_customers_change"].iloc[2] == pytest.approx(-0.5)  # 2 → 1


def test_period_comparison_uses_the_equally_long_previous_period(tiny_shop: TinyShop) -> None:
    comparison = period_comparison(tiny_shop.engine, Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31)))
    # Previous 31 days: 29 Jan – 28 Feb holds O2 (100) and O5 (38).
    assert comparison.previous is not None and comparison.previous.revenue == Decimal("138.00")
    assert comparison.change("revenue") == pytest.approx((77 - 138) / 138)
    assert period_comparison(tiny_shop.engine, Filters()).previous is None
