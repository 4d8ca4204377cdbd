"""Bench cases of the one-scan functions the pages share: ``item_sales`` and ``rfm_cells``.

Each is compared at its own grain (product × month × age group; segment × source) with hand SQL
and a pandas baseline, so ``tests/analytics/test_benchmarks.py`` checks the base numbers the
``*_from`` derivations roll up; ``tests/analytics/test_shared_scans.py`` checks the roll-ups.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Engine

from crm.analytics import behavior, segmentation
from crm.analytics.benchmarks import (
    COUNTED_O,
    AnalyticsCase,
    _hand,
    _items,
    _load,
    _pandas_rfm_scored,
    _query,
    _rfm_with_segment,
    _Spelling,
)
from crm.filters import Filters
from crm.schema import customers

__all__ = ["CASES"]

CELL_COLUMNS = ["product_id", "month", "age_group", "quantity", "item_revenue", "order_lines"]
RFM_CELL_COLUMNS = ["segment", "source", "customers", "revenue", "frequency_total"]


def _cells_numbers(result: object) -> pd.DataFrame:
    sales: behavior.ItemSales = result  # type: ignore[assignment]
    return sales.cells[CELL_COLUMNS]


HAND_ITEM_CELLS = _hand(
    CELL_COLUMNS,
    lambda s: (
        f"""
        SELECT oi.product_id, {s.month_of_year("o.order_date")}, {s.age_group()}, SUM(oi.quantity),
               SUM(oi.quantity * oi.unit_price), COUNT(*)
        FROM orders o{s.join(always=True)} JOIN order_items oi ON oi.order_id = o.id
        WHERE {COUNTED_O}{s.orders()} GROUP BY 1, 2, 3"""
    ),
)


def _pandas_item_cells(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _items(engine, filters, with_customers=True)
    frame["month"] = pd.to_datetime(frame["order_date"]).dt.month
    return (
        frame.groupby(["product_id", "month", "age_group"])
        .agg(quantity=("quantity", "sum"), item_revenue=("item_revenue", "sum"), order_lines=("id", "count"))
        .reset_index()
    )


def _hand_rfm_cells(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    query = f"""
        SELECT x.segment, COALESCE(c.source, 'unknown'), COUNT(*), SUM(x.monetary), SUM(x.frequency)
        FROM ({_rfm_with_segment(s)}) x JOIN customers c ON c.id = x.customer_id GROUP BY 1, 2"""
    return _query(connection, s, query, RFM_CELL_COLUMNS)


def _pandas_rfm_cells(engine: Engine, filters: Filters) -> pd.DataFrame:
    scored = _pandas_rfm_scored(engine, filters)
    (customer_frame,) = _load(engine, customers)
    scored["source"] = scored["customer_id"].map(customer_frame.set_index("id")["source"].fillna("unknown"))
    return (
        scored.groupby(["segment", "source"])
        .agg(customers=("customer_id", "count"), revenue=("monetary", "sum"), frequency_total=("frequency", "sum"))
        .reset_index()
    )


CASES: list[AnalyticsCase] = [
    AnalyticsCase(
        "behaviour: item sales (one scan)",
        behavior.item_sales,
        HAND_ITEM_CELLS,
        _pandas_item_cells,
        _cells_numbers,
    ),
    AnalyticsCase(
        "segmentation: RFM cells (one scoring)",
        segmentation.rfm_cells,
        _hand_rfm_cells,
        _pandas_rfm_cells,
        lambda result: result[RFM_CELL_COLUMNS],  # type: ignore[index]
    ),
]
