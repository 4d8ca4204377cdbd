"""Revenue and transactions on tiny_shop, numbers by hand from the fixture's docstring."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from crm.analytics.revenue import (
    payment_methods,
    refunds_over_time,
    revenue_by_brand,
    revenue_by_source,
    revenue_over_time,
    transaction_summary,
)
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop


def test_revenue_by_month_is_jan_87_feb_138_mar_77(tiny_shop: TinyShop) -> None:
    frame = revenue_over_time(tiny_shop.engine, Filters())
    assert list(frame["period"]) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert list(frame["revenue"]) == [87.0, 138.0, 77.0]
    assert list(frame["counted_orders"]) == [2, 2, 2]
    assert list(frame["orders"]) == [2, 2, 4]  # March also has cancelled O4 and refunded O6
    assert list(frame["average_order_value"]) == [43.5, 69.0, 38.5]
    assert frame["revenue_change"].iloc[2] == pytest.approx((77 - 138) / 138)


def test_revenue_by_week_starts_weeks_on_monday(tiny_shop: TinyShop) -> None:
    frame = revenue_over_time(tiny_shop.engine, Filters(), grain="week")
    # O1 Fri 10 Jan → week of Mon 6 Jan; O3 Sat 25 Jan → Mon 20 Jan.
    by_week = dict(zip(frame["period"], frame["revenue"], strict=True))
    assert by_week["2025-01-06"] == 49.0
    assert by_week["2025-01-20"] == 38.0
    assert frame["revenue"].sum() == pytest.approx(302.0)
    days = revenue_over_time(tiny_shop.engine, Filters(), grain="day")
    assert days["revenue"].sum() == pytest.approx(302.0) and len(days) == 8  # one order per day


def test_revenue_by_month_follows_the_date_range(tiny_shop: TinyShop) -> None:
    frame = revenue_over_time(tiny_shop.engine, Filters(start_date=date(2025, 2, 1), end_date=date(2025, 3, 31)))
    assert list(frame["revenue"]) == [138.0, 77.0]


def test_payment_methods_split_counted_orders(tiny_shop: TinyShop) -> None:
    frame = payment_methods(tiny_shop.engine, Filters()).set_index("payment_method")
    # credit_card: O1 49 + O3 38 + O8 27 (O4 cancelled); bank_transfer: only pending O7 (O6 refunded).
    assert frame.loc["credit_card", "revenue"] == 114.0 and frame.loc["credit_card", "orders"] == 3
    assert frame.loc["paypal", "revenue"] == 100.0
    assert frame.loc["stripe", "revenue"] == 38.0
    assert frame.loc["bank_transfer", "revenue"] == 50.0
    assert frame["share"].sum() == pytest.approx(1.0)


def test_transactions_by_type_and_status(tiny_shop: TinyShop) -> None:
    frame = transaction_summary(tiny_shop.engine, Filters()).set_index(["transaction_type", "status"])
    assert frame.loc[("sale", "completed"), "transactions"] == 6
    assert frame.loc[("sale", "completed"), "amount"] == 362.0  # 49 + 100 + 38 + 38 + 110 + 27
    assert frame.loc[("sale", "failed"), "amount"] == 16.0
    assert frame.loc[("refund", "completed"), "amount"] == 110.0
    assert frame.loc[("payment", "pending"), "amount"] == 50.0


def test_transactions_follow_brand_and_customer_filters(tiny_shop: TinyShop) -> None:
    boreal = transaction_summary(tiny_shop.engine, Filters(brands=("Boreal",)))
    # Boreal orders O3, O4, O7 → T3 (sale completed 38), T4 (sale failed 16), T8 (payment pending 50).
    assert sorted(boreal["amount"]) == [16.0, 38.0, 50.0]
    men = transaction_summary(tiny_shop.engine, Filters(genders=("male",), today=date(2025, 3, 31)))
    assert men["transactions"].sum() == 5  # Bob T3 T4, Dan T6 T7 T8


def test_revenue_by_source_and_brand(tiny_shop: TinyShop) -> None:
    sources = revenue_by_source(tiny_shop.engine, Filters()).set_index("source")["revenue"].to_dict()
    assert sources == {"website": 226.0, "referral": 38.0, "social_media": 38.0}
    brands = revenue_by_brand(tiny_shop.engine, Filters()).set_index("brand")
    assert brands["revenue"].to_dict() == {"Aurora": 214.0, "Boreal": 88.0}
    assert brands.loc["Aurora", "average_order_value"] == 53.5  # 214 / 4 (O1 O2 O5 O8)


def test_refunds_and_cancellations_by_month(tiny_shop: TinyShop) -> None:
    frame = refunds_over_time(tiny_shop.engine, Filters())
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["period"] == "2025-03-01"
    assert (row["refunded_orders"], row["refunded_value"]) == (1, 110.0)  # O6
    assert (row["cancelled_orders"], row["cancelled_value"]) == (1, 16.0)  # O4
    assert (row["refund_transactions"], row["refunded_cash"]) == (1, 110.0)  # T7


def test_a_filter_matching_nothing_gives_empty_frames(tiny_shop: TinyShop) -> None:
    nothing = Filters(sources=("nowhere",))
    for function in (revenue_over_time, payment_methods, transaction_summary, revenue_by_source, revenue_by_brand):
        assert function(tiny_shop.engine, nothing).empty


def test_growth_is_not_shown_next_to_a_period_the_date_range_cuts(tiny_shop: TinyShop) -> None:
    # 15 Jan – 31 Mar: January is partial (O3 38 only), so February's growth would be invented.
    frame = revenue_over_time(tiny_shop.engine, Filters(start_date=date(2025, 1, 15), end_date=date(2025, 3, 31)))
    assert list(frame["partial"]) == [True, False, False]
    assert frame["revenue_change"].isna().tolist() == [True, True, False]
    assert frame["revenue_change"].iloc[2] == pytest.approx((77 - 138) / 138)
    cut_march = revenue_over_time(tiny_shop.engine, Filters(start_date=date(2025, 1, 1), end_date=date(2025, 3, 20)))
    assert list(cut_march["partial"]) == [False, False, True]
    assert pd.isna(cut_march["revenue_change"].iloc[2])
