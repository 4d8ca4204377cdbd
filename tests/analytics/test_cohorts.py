"""Cohorts on tiny_shop. First counted orders: Alice and Bob in January, Chloe in February,
Dan in March (his refunded O6 does not count, his pending O7 does)."""

from __future__ import annotations

from datetime import date

from crm.analytics.cohorts import cohort_retention, summarise
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop


def _cells(frame):  # type: ignore[no-untyped-def]
    return [
        (row.cohort, row.months_since_first, row.cohort_customers, row.active_customers, row.revenue)
        for row in frame.itertuples()
    ]


def test_retention_by_first_order_month(tiny_shop: TinyShop) -> None:
    frame = cohort_retention(tiny_shop.engine, Filters())
    assert _cells(frame) == [
        ("2025-01-01", 0, 2, 2, 87.0),  # Alice 49 + Bob 38
        ("2025-01-01", 1, 2, 1, 100.0),  # Alice O2
        ("2025-01-01", 2, 2, 1, 27.0),  # Alice O8
        ("2025-02-01", 0, 1, 1, 38.0),  # Chloe
        ("2025-02-01", 1, 1, 0, 0.0),  # nobody of February bought in March
        ("2025-03-01", 0, 1, 1, 50.0),  # Dan O7
    ]
    january = frame[frame["cohort"] == "2025-01-01"]
    assert list(january["retention"]) == [1.0, 0.5, 0.5]
    assert list(january["cumulative_value_per_customer"]) == [43.5, 93.5, 107.0]  # 87/2, 187/2, 214/2


def test_cohorts_follow_the_period_and_brand(tiny_shop: TinyShop) -> None:
    february = cohort_retention(tiny_shop.engine, Filters(start_date=date(2025, 2, 1), end_date=date(2025, 2, 28)))
    assert _cells(february) == [("2025-02-01", 0, 1, 1, 38.0)]  # Alice first bought in January: not a Feb cohort
    boreal = cohort_retention(tiny_shop.engine, Filters(brands=("Boreal",)))
    assert _cells(boreal) == [
        ("2025-01-01", 0, 1, 1, 38.0),  # Bob O3
        ("2025-01-01", 1, 1, 0, 0.0),
        ("2025-01-01", 2, 1, 0, 0.0),
        ("2025-03-01", 0, 1, 1, 50.0),  # Dan O7
    ]


def test_no_orders_give_an_empty_frame_with_the_columns(tiny_shop: TinyShop) -> None:
    frame = cohort_retention(tiny_shop.engine, Filters(sources=("nowhere",)))
    assert frame.empty and "retention" in frame.columns


def test_summary_counts_cohorts_and_month_one_retention(tiny_shop: TinyShop) -> None:
    summary = summarise(cohort_retention(tiny_shop.engine, Filters()))
    assert (summary.cohorts, summary.new_buyers) == (3, 4)
    # Month 1 exists for January (Alice back of Alice and Bob) and February (Chloe not back): 1 of 3.
    assert summary.month_one_retention == 1 / 3
    assert (summary.largest_cohort, summary.largest_size) == ("2025-01-01", 2)
