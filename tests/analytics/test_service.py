"""Service analytics on tiny_shop's four tickets, every number computed by hand (both engines).

Default SLA targets (hours, first response / resolution): urgent 1/24, high 4/48, medium 8/96, low 24/168.
  T1 Alice medium created 01-11 09:00, answered after 1.5 h, resolved after 24 h, CSAT 5, sam   → met
  T2 Bob   high   created 03-04 12:00, answered after 4 h (on target), still open              → missed once 48 h pass
  T3 Dan   urgent created 03-16 09:00, answered after 0.5 h, resolved after 30 h, CSAT 2, ada  → missed (resolution)
  T4 Dan   low    created 03-25 10:00, answered after 30 h, still open, unassigned             → missed (first response)
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Float, cast, literal, select, union_all

from crm.analytics import service
from crm.analytics.service import ServiceSummary
from crm.dialect import percentile
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

LATER = datetime(2026, 1, 1)  # long after every ticket: every SLA clock has run out


def test_the_whole_history_in_numbers(tiny_shop: TinyShop) -> None:
    summary = service.service_summary(tiny_shop.engine, Filters(), now=LATER)
    # First responses 0.5, 1.5, 4, 30: median (1.5 + 4) / 2 = 2.75; p90 at rank 0.9 × 3 = 2.7 → 4 + 0.7 × 26 = 22.2.
    # Resolutions 24, 30: median 27; p90 at rank 0.9 → 24 + 0.9 × 6 = 29.4. SLA: T1 met, T2-T4 missed.
    assert summary == ServiceSummary(
        opened=4,
        resolved=2,
        backlog=2,
        first_response_hours_median=2.75,
        first_response_hours_p90=22.2,
        resolution_hours_median=27.0,
        resolution_hours_p90=29.4,
        sla_met=1,
        sla_missed=3,
        sla_attainment=0.25,
        rated=2,
        csat_average=3.5,
    )


def test_march_is_read_as_of_its_end_and_open_tickets_within_target_are_not_decided(tiny_shop: TinyShop) -> None:
    # Period 03-01..03-17 ends 03-18 00:00: T2 (open 132 h > 48) missed, T3 resolved 03-17 15:00 after 30 h missed.
    summary = service.service_summary(
        tiny_shop.engine, Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 17))
    )
    assert (summary.opened, summary.resolved, summary.backlog) == (2, 1, 1)
    assert (summary.first_response_hours_median, summary.first_response_hours_p90) == (2.25, 3.65)
    assert (summary.resolution_hours_median, summary.resolution_hours_p90) == (30.0, 30.0)
    assert (summary.sla_met, summary.sla_missed, summary.sla_attainment) == (0, 2, 0.0)
    # T3 seen on 03-16 only (period ends 03-17 00:00): answered, open for 15 h of its 24: not decided.
    early = service.service_summary(tiny_shop.engine, Filters(start_date=date(2025, 3, 16), end_date=date(2025, 3, 16)))
    assert (early.opened, early.resolved, early.backlog) == (1, 0, 1)
    assert (early.first_response_hours_median, early.resolution_hours_median) == (0.5, None)
    assert (early.sla_met, early.sla_missed, early.sla_attainment) == (0, 0, None)
    assert early.csat_average == 2.0


def test_a_response_after_the_period_end_does_not_count_yet(tiny_shop: TinyShop) -> None:
    # T4 is answered 03-26 16:00; the period 03-25..03-25 ends before: 14 h old, within its 24 h target.
    summary = service.service_summary(
        tiny_shop.engine, Filters(start_date=date(2025, 3, 25), end_date=date(2025, 3, 25))
    )
    assert (summary.opened, summary.first_response_hours_median, summary.sla_attainment) == (1, None, None)


def test_customer_filters_keep_the_tickets_of_matching_customers(tiny_shop: TinyShop) -> None:
    # Referral customers: Bob's T2 only.
    summary = service.service_summary(tiny_shop.engine, Filters(sources=("referral",)), now=LATER)
    assert (summary.opened, summary.backlog, summary.first_response_hours_median, summary.sla_missed) == (1, 1, 4.0, 1)


def test_a_period_without_tickets_has_zero_counts_and_no_times(tiny_shop: TinyShop) -> None:
    summary = service.service_summary(
        tiny_shop.engine, Filters(start_date=date(2024, 1, 1), end_date=date(2024, 1, 31))
    )
    assert (summary.opened, summary.resolved, summary.backlog, summary.rated) == (0, 0, 0, 0)
    assert summary.first_response_hours_p90 is None and summary.csat_average is None
    assert summary.sla_attainment is None


def test_csat_distribution_lists_every_score(tiny_shop: TinyShop) -> None:
    frame = service.csat_distribution(tiny_shop.engine, Filters())
    assert frame.to_dict("list") == {"score": [1, 2, 3, 4, 5], "tickets": [0, 1, 0, 0, 1], "share": [0, 0.5, 0, 0, 0.5]}


def test_volume_counts_tickets_per_month_category_and_priority(tiny_shop: TinyShop) -> None:
    frame = service.ticket_volume(tiny_shop.engine, Filters())
    assert [tuple(row) for row in frame.itertuples(index=False)] == [
        ("2025-01-01", "shipping", "medium", 1),
        ("2025-03-01", "billing", "high", 1),
        ("2025-03-01", "billing", "urgent", 1),
        ("2025-03-01", "other", "low", 1),
    ]


def test_the_agent_table_counts_each_assignees_tickets(tiny_shop: TinyShop) -> None:
    frame = service.agent_performance(tiny_shop.engine, Filters(), now=LATER)
    # sam: T1 (1.5 h, resolved 24 h, CSAT 5) and T2 (4 h, open); ada: T3 (0.5 h, 30 h, CSAT 2). T4 unassigned.
    assert frame.to_dict("records") == [
        {
            "agent": "Sam Agent",
            "assigned": 2,
            "resolved": 1,
            "first_response_hours_median": 2.75,
            "resolution_hours_median": 24.0,
            "rated": 1,
            "csat_average": 5.0,
        },
        {
            "agent": "Ada Admin",
            "assigned": 1,
            "resolved": 1,
            "first_response_hours_median": 0.5,
            "resolution_hours_median": 30.0,
            "rated": 1,
            "csat_average": 2.0,
        },
    ]


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([3.0, 1.0, 2.0, 4.0], 0.5, 2.5), ([3.0, 1.0, 2.0, 4.0], 0.9, 3.7), ([5.0], 0.9, 5.0), ([], 0.5, None)],
)
def test_the_percentile_aggregate_interpolates_like_percentile_cont(
    tiny_shop: TinyShop, values: list[float], fraction: float, expected: float | None
) -> None:
    # A NULL row too: the aggregate skips NULLs as percentile_cont does.
    numbers = union_all(*(select(cast(literal(value), Float).label("x")) for value in [*values, None])).subquery()
    rows = select(percentile(numbers.c.x, fraction))
    with tiny_shop.engine.connect() as connection:
        result = connection.execute(rows).scalar_one()
    assert (None if result is None else round(result, 6)) == expected
