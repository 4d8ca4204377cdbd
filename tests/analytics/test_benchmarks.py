"""The bench compares like with like: for every case, the crm function, the hand-written SQL
and the pandas baseline give the same numbers on tiny_shop (both engines), without filters,
with the bench's kind of sidebar filters, and with brand and gender filters."""

from __future__ import annotations

import inspect
import math
import typing
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine

from crm.analytics import (
    behavior,
    cohorts,
    demographics,
    loyalty,
    options,
    overview,
    revenue,
    segmentation,
    segments,
    service,
    visits,
)
from crm.analytics.bench_registry import all_cases
from crm.analytics.benchmarks import AnalyticsCase, bench_filter_passes
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)
CASES = all_cases()
FILTER_SETS = {
    "no filters": Filters(),
    # Like the bench's second pass: a period, one source, an age range. Website buyers aged 30–60 in Feb–Mar:
    # Alice (34: O2 100, O8 27) and Dan (54: O7 50); Eve has no birth date.
    "period, source and ages": Filters(
        start_date=date(2025, 2, 1),
        end_date=date(2025, 3, 31),
        sources=("website",),
        age_min=30,
        age_max=60,
        today=TODAY,
    ),
    # Brand on orders and on counted customers (nobody in tiny_shop has a brand: no customer counts).
    "brand and gender": Filters(brands=("Aurora",), genders=("female",), today=TODAY),
    # The loyalty tier filter through the shared customer clauses: Alice (silver, 1200) and Dan (gold, 6000).
    "loyalty tiers": Filters(loyalty_tiers=("silver", "gold"), today=TODAY),
}
# Modules whose public functions the pages call; clv has its own bench phase.
ANALYTICS_MODULES = (
    overview,
    revenue,
    demographics,
    behavior,
    segmentation,
    cohorts,
    options,
    segments,
    service,
    visits,
    loyalty,
)


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


@pytest.mark.parametrize("filters_name", list(FILTER_SETS))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_crm_function_hand_sql_and_pandas_agree_on_tiny_shop(
    tiny_shop: TinyShop, case: AnalyticsCase, filters_name: str
) -> None:
    filters = FILTER_SETS[filters_name]
    from_crm = case.numbers(case.run(tiny_shop.engine, filters))
    with tiny_shop.engine.connect() as connection:
        from_sql = case.hand_sql(connection, filters)
    from_pandas = case.pandas_baseline(tiny_shop.engine, filters)
    assert isinstance(from_sql, pd.DataFrame) and isinstance(from_pandas, pd.DataFrame)
    if filters_name != "brand and gender":
        assert len(from_crm) > 0, "tiny_shop must exercise every case"
    assert list(from_sql.columns) == list(from_crm.columns)
    assert _rows(from_sql) == _rows(from_crm)
    assert _rows(from_pandas[list(from_crm.columns)]) == _rows(from_crm)


def _takes_an_engine(function: object) -> bool:
    if not inspect.isfunction(function):
        return False
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters)
    return bool(parameters) and hints.get(parameters[0]) is Engine


def test_every_analytics_function_has_a_bench_case() -> None:
    # Every public function that queries (its first parameter is an Engine); dataclasses and pure helpers
    # such as summarise, segment_for or suggestions_from take no engine and need no case.
    expected = {
        getattr(module, name)
        for module in ANALYTICS_MODULES
        for name in module.__all__
        if _takes_an_engine(getattr(module, name))
    }
    benched = {case.benched for case in CASES}
    # A floor, so a broken derivation (finding no functions) cannot pass: 27 functions query today.
    assert len(expected) >= 27, sorted(function.__name__ for function in expected)
    missing = sorted(function.__name__ for function in expected - benched)
    assert not missing, f"add a bench case for {missing}"


def test_the_second_bench_pass_uses_typical_sidebar_filters(tiny_shop: TinyShop) -> None:
    (plain_name, plain), (typical_name, typical) = bench_filter_passes(tiny_shop.engine)
    assert (plain_name, plain) == ("no filters", Filters())
    # tiny_shop's last order is on 28 Mar 2025: the 365 days up to it (the sidebar's "Last 12 months",
    # 2024 has a 29 Feb), website, ages 25–44 on that day.
    assert typical_name == "UI filters"
    assert (typical.start_date, typical.end_date, typical.today) == (
        date(2024, 3, 29),
        date(2025, 3, 28),
        date(2025, 3, 28),
    )
    assert (typical.sources, typical.age_min, typical.age_max) == (("website",), 25, 44)


def test_the_bench_table_stays_aligned_when_a_step_name_is_long() -> None:
    from crm.bench import BenchRow, _table_lines

    long_step = "analytics [UI filters]: segmentation: customers of 'Lost' and a little more"
    rows = [
        BenchRow("sqlite", "analytics: cohorts", 0.5, "s", "≤ 2 s", True, 120.0, {"vs_hand_sql": 1.1}),
        BenchRow("postgresql", long_step, 12.25, "s", "≤ 1 s", False, 1300.0),
    ]
    header, rule, first, second = _table_lines(rows)
    # Every column starts at the same place on every line: the value column ends where its title ends.
    value_end = header.index("value") + len("value")
    assert first[:value_end].endswith("0.500") and second[:value_end].endswith("12.250")
    assert first.index("yes") == second.index("NO") == header.index("ok")
    assert long_step in second and len(rule) == len(header)
