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


def test_months_cut_by_the_period_end_are_partial_and_left_out_of_month_one_retention(tiny_shop: TinyShop) -> None:
    # 1 Jan – 20 Mar: O8 (28 Mar) is outside, and March is cut on the 20th.
    frame = cohort_retention(tiny_shop.engine, Filters(start_date=date(2025, 1, 1), end_date=date(2025, 3, 20)))
    assert [(row.cohort, row.months_since_first, row.active_customers, row.partial) for row in frame.itertuples()] == [
        ("2025-01-01", 0, 2, False),
        ("2025-01-01", 1, 1, False),  # Alice back in February: a complete month
        ("2025-01-01", 2, 0, True),  # March, 20 of 31 days
        ("2025-02-01", 0, 1, False),
        ("2025-02-01", 1, 0, True),  # Chloe's month 1 is the cut March
        ("2025-03-01", 0, 1, True),  # Dan's first month is March itself
    ]
    summary = summarise(frame)
    # Only January has a complete month 1: Alice of Alice and Bob. Counting the cut March would give 1 of 3.
    assert summary.month_one_retention == 1 / 2
    assert summary.partial_month_one_cohorts == 1


def test_the_month_running_today_is_partial_without_an_end_date(tiny_shop: TinyShop) -> None:
    frame = cohort_retention(tiny_shop.engine, Filters(today=date(2025, 3, 20)))
    partial = {(row.cohort, row.months_since_first) for row in frame.itertuples() if row.partial}
    assert partial == {("2025-01-01", 2), ("2025-02-01", 1), ("2025-03-01", 0)}
    assert summarise(frame).month_one_retention == 1 / 2


def test_a_month_ending_on_the_reference_day_is_complete(tiny_shop: TinyShop) -> None:
    frame = cohort_retention(tiny_shop.engine, Filters(today=date(2025, 3, 31)))
    assert not frame["partial"].any()
    assert summarise(frame).month_one_retention == 1 / 3
