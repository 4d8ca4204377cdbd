"""The bench compares like with like: for every case, the crm function, the hand-written SQL
and the pandas baseline give the same numbers on tiny_shop (both engines)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from crm.analytics.benchmarks import CASES, AnalyticsCase
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Rows as sorted tuples: numbers as floats rounded to cents, everything else as text."""

    def cell(value: object) -> object:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        try:
            return round(float(value), 2)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)

    rows = [tuple(cell(value) for value in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=repr)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_crm_function_hand_sql_and_pandas_agree_on_tiny_shop(tiny_shop: TinyShop, case: AnalyticsCase) -> None:
    filters = Filters()
    from_crm = case.numbers(case.run(tiny_shop.engine, filters))
    with tiny_shop.engine.connect() as connection:
        from_sql = case.hand_sql(connection)
    from_pandas = case.pandas_baseline(tiny_shop.engine, filters)
    assert isinstance(from_sql, pd.DataFrame) and isinstance(from_pandas, pd.DataFrame)
    assert len(from_crm) > 0, "tiny_shop must exercise every case"
    assert list(from_sql.columns) == list(from_crm.columns)
    assert _rows(from_sql) == _rows(from_crm)
    assert _rows(from_pandas[list(from_crm.columns)]) == _rows(from_crm)


def test_every_analytics_function_has_a_bench_case() -> None:
    from crm.analytics import behavior, cohorts, demographics, overview, revenue, segmentation

    benched = {case.run for case in CASES}
    expected = {
        overview.period_totals, overview.growth_trends, overview.pending_orders,
        revenue.revenue_over_time, revenue.payment_methods, revenue.transaction_summary,
        revenue.revenue_by_source, revenue.revenue_by_brand, revenue.refunds_over_time,
        demographics.age_gender_distribution, demographics.top_locations,
        behavior.category_preference, behavior.product_preference, behavior.seasonal_pattern,
        behavior.weekly_pattern, behavior.category_by_age_group, behavior.repeat_purchases,
        segmentation.rfm_segments, segmentation.rfm_scores, segmentation.segment_source_matrix,
        segmentation.source_effectiveness, segmentation.loyalty_tier_distribution,
        cohorts.cohort_retention,
    }  # fmt: skip
    assert expected <= benched
