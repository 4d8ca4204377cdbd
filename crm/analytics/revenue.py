"""Revenue and transactions: revenue over time, payment methods, sources, brands, refunds.

Revenue = totals of orders not cancelled/refunded, by order date (DESIGN.md). The page's
headline totals come from ``crm.analytics.overview.period_totals`` so they equal the overview's.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, Select, func, literal, select

from crm.analytics.scope import (
    counted,
    local_time,
    order_source,
    order_where,
    period_changes,
    transaction_source,
    transaction_where,
)
from crm.dialect import Grain, period_start
from crm.filters import Filters
from crm.schema import brands, customers, orders, transactions

__all__ = [
    "payment_methods",
    "refunds_over_time",
    "revenue_by_brand",
    "revenue_by_source",
    "revenue_over_time",
    "transaction_summary",
]


def _frame(engine: Engine, query: Select, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=columns)


def _money_columns(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        frame[name] = frame[name].fillna(0).astype(float).round(2)
    return frame


def _add_share(frame: pd.DataFrame, column: str = "revenue") -> pd.DataFrame:
    total = frame[column].sum()
    frame["share"] = frame[column] / total if total else 0.0
    return frame


def revenue_over_time(engine: Engine, filters: Filters, *, grain: Grain = "month") -> pd.DataFrame:
    """Revenue per day/week/month/quarter/year (local time), oldest first.

    Columns: period ('YYYY-MM-DD' first day), revenue (totals of orders not cancelled/refunded,
    by order date), counted_orders, orders (any status), buying_customers,
    average_order_value (AOV = revenue ÷ counted orders), partial (period cut by the date
    range), revenue_change and orders_change (period-over-period growth = (this − previous)
    ÷ previous; NaN for the first period and next to a partial one).
    """
    is_counted = counted()
    period = period_start(local_time(orders.c.order_date, filters), grain).label("period")
    query = (
        select(
            period,
            func.coalesce(func.sum(orders.c.total).filter(is_counted), 0),
            func.count(orders.c.id).filter(is_counted),
            func.count(orders.c.id),
            func.count(func.distinct(orders.c.customer_id)).filter(is_counted),
        )
        .select_from(order_source(filters))
        .where(*order_where(filters))
        .group_by(period)
        .order_by(period)
    )
    frame = _frame(engine, query, ["period", "revenue", "counted_orders", "orders", "buying_customers"])
    frame = _money_columns(frame, "revenue")
    frame["average_order_value"] = (
        frame["revenue"] / frame["counted_orders"].where(frame["counted_orders"] > 0)
    ).round(2)
    return period_changes(frame, ("revenue", "orders"), grain, filters)


def payment_methods(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Revenue by the order's payment method, largest first.

    Columns: payment_method ("unknown" when not recorded), orders (counted orders),
    revenue (totals of orders not cancelled/refunded), share (of revenue).
    """
    method = func.coalesce(orders.c.payment_method, literal("unknown")).label("payment_method")
    revenue = func.sum(orders.c.total)
    query = (
        select(method, func.count(orders.c.id), revenue)
        .select_from(order_source(filters))
        .where(counted(), *order_where(filters))
        .group_by(method)
        .order_by(revenue.desc(), method)
    )
    frame = _money_columns(_frame(engine, query, ["payment_method", "orders", "revenue"]), "revenue")
    return _add_share(frame)


def transaction_summary(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Transactions by type and status in the period (by processed date).

    Columns: transaction_type (sale/refund/payment/chargeback), status
    (pending/completed/failed/cancelled/refunded), transactions (count), amount (sum).
    Net cash = completed sale + payment − completed refund + chargeback.
    """
    query = (
        select(
            transactions.c.transaction_type,
            transactions.c.status,
            func.count(transactions.c.id),
            func.sum(transactions.c.amount),
        )
        .select_from(transaction_source(filters))
        .where(*transaction_where(filters))
        .group_by(transactions.c.transaction_type, transactions.c.status)
        .order_by(transactions.c.transaction_type, transactions.c.status)
    )
    frame = _frame(engine, query, ["transaction_type", "status", "transactions", "amount"])
    return _money_columns(frame, "amount")


def revenue_by_source(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Revenue by the customer's acquisition source, largest first.

    Columns: source ("unknown" when empty), revenue (orders not cancelled/refunded),
    orders (counted), buying_customers, share (of revenue).
    """
    source = func.coalesce(customers.c.source, literal("unknown")).label("source")
    revenue = func.sum(orders.c.total)
    query = (
        select(source, revenue, func.count(orders.c.id), func.count(func.distinct(orders.c.customer_id)))
        .select_from(order_source(filters, always_join=True))
        .where(counted(), *order_where(filters))
        .group_by(source)
        .order_by(revenue.desc(), source)
    )
    frame = _money_columns(_frame(engine, query, ["source", "revenue", "orders", "buying_customers"]), "revenue")
    return _add_share(frame)


def revenue_by_brand(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Revenue by the order's brand, largest first.

    Columns: brand ("no brand" when empty), revenue (orders not cancelled/refunded), orders
    (counted), average_order_value (revenue ÷ counted orders), share (of revenue).
    """
    brand = func.coalesce(brands.c.name, literal("no brand")).label("brand")
    revenue = func.sum(orders.c.total)
    query = (
        select(brand, revenue, func.count(orders.c.id))
        .select_from(order_source(filters).outerjoin(brands, brands.c.id == orders.c.brand_id))
        .where(counted(), *order_where(filters))
        .group_by(brand)
        .order_by(revenue.desc(), brand)
    )
    frame = _money_columns(_frame(engine, query, ["brand", "revenue", "orders"]), "revenue")
    frame["average_order_value"] = (frame["revenue"] / frame["orders"].where(frame["orders"] > 0)).round(2)
    return _add_share(frame)


def refunds_over_time(engine: Engine, filters: Filters, *, grain: Grain = "month") -> pd.DataFrame:
    """Refunds and cancellations per period (local time), oldest first.

    Columns: period, refunded_orders and refunded_value (orders with status refunded, by
    order date), cancelled_orders and cancelled_value (status cancelled, by order date),
    refund_transactions and refunded_cash (completed refund + chargeback transactions, by
    processed date; the "out" side of net cash).
    """
    order_period = period_start(local_time(orders.c.order_date, filters), grain).label("period")
    is_refunded = orders.c.status == "refunded"
    is_cancelled = orders.c.status == "cancelled"
    order_query = (
        select(
            order_period,
            func.count(orders.c.id).filter(is_refunded),
            func.coalesce(func.sum(orders.c.total).filter(is_refunded), 0),
            func.count(orders.c.id).filter(is_cancelled),
            func.coalesce(func.sum(orders.c.total).filter(is_cancelled), 0),
        )
        .select_from(order_source(filters))
        .where(orders.c.status.in_(("refunded", "cancelled")), *order_where(filters))
        .group_by(order_period)
    )
    cash_period = period_start(local_time(transactions.c.processed_at, filters), grain).label("period")
    cash_query = (
        select(cash_period, func.count(transactions.c.id), func.sum(transactions.c.amount))
        .select_from(transaction_source(filters))
        .where(
            transactions.c.status == "completed",
            transactions.c.transaction_type.in_(("refund", "chargeback")),
            *transaction_where(filters),
        )
        .group_by(cash_period)
    )
    order_frame = _frame(
        engine,
        order_query,
        ["period", "refunded_orders", "refunded_value", "cancelled_orders", "cancelled_value"],
    )
    cash_frame = _frame(engine, cash_query, ["period", "refund_transactions", "refunded_cash"])
    frame = order_frame.merge(cash_frame, on="period", how="outer").sort_values("period", ignore_index=True)
    for column in ("refunded_orders", "cancelled_orders", "refund_transactions"):
        frame[column] = frame[column].fillna(0).astype(int)
    return _money_columns(frame, "refunded_value", "cancelled_value", "refunded_cash")
