"""One scan per page: the ``*_from`` roll-ups of ``item_sales`` and ``rfm_cells`` equal the functions
that query on their own, for several filters, on both engines."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from crm.analytics import behavior, segmentation
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)
FILTER_SETS = {
    "no filters": Filters(),
    "period, source and ages": Filters(
        start_date=date(2025, 2, 1),
        end_date=date(2025, 3, 31),
        sources=("website",),
        age_min=30,
        age_max=60,
        today=TODAY,
    ),
    "brand and gender": Filters(brands=("Aurora",), genders=("female",), today=TODAY),
    "one month": Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31), today=TODAY),
}


def _same(derived: pd.DataFrame, direct: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(derived.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("filters_name", list(FILTER_SETS))
def test_the_behaviour_results_rolled_up_from_one_scan_equal_their_own_queries(
    tiny_shop: TinyShop, filters_name: str
) -> None:
    engine, filters = tiny_shop.engine, FILTER_SETS[filters_name]
    sales = behavior.item_sales(engine, filters)
    _same(behavior.category_preference_from(sales), behavior.category_preference(engine, filters))
    _same(behavior.product_preference_from(sales, limit=3), behavior.product_preference(engine, filters, limit=3))
    _same(behavior.seasonal_pattern_from(sales), behavior.seasonal_pattern(engine, filters))
    _same(behavior.category_by_age_group_from(sales), behavior.category_by_age_group(engine, filters))


def test_item_sales_counts_every_item_of_counted_orders_once(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    sales = behavior.item_sales(engine, Filters())
    categories = behavior.category_preference(engine, Filters())
    # The cells hold every order line and every unit of the counted orders exactly once.
    assert sales.cells["order_lines"].sum() == categories["order_lines"].sum() > 0
    assert sales.cells["quantity"].sum() == categories["quantity"].sum()
    assert round(sales.cells["item_revenue"].sum(), 2) == round(categories["item_revenue"].sum(), 2)


@pytest.mark.parametrize("filters_name", list(FILTER_SETS))
def test_the_rfm_results_rolled_up_from_one_scoring_equal_their_own_queries(
    tiny_shop: TinyShop, filters_name: str
) -> None:
    engine, filters = tiny_shop.engine, FILTER_SETS[filters_name]
    cells = segmentation.rfm_cells(engine, filters)
    _same(segmentation.rfm_segments_from(cells), segmentation.rfm_segments(engine, filters))
    _same(segmentation.segment_source_matrix_from(cells), segmentation.segment_source_matrix(engine, filters))
