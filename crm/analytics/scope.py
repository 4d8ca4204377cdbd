"""Building blocks shared by the analytics modules: which orders and transactions count.

Every analytics function starts from the same "scope" so that numbers agree across
pages: orders inside the filters' period (on ``order_date``) and brands, of customers
matching the customer filters; *counted* orders are those whose status counts as
revenue (not cancelled or refunded, DESIGN.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, FromClause

from crm.dialect import month_number, to_local
from crm.filters import Filters
from crm.schema import REVENUE_ORDER_STATUSES, customers, orders, transactions

__all__ = [
    "AGE_BUCKETS",
    "age_bucket",
    "counted",
    "data_end",
    "local_time",
    "money",
    "month_index",
    "month_label",
    "order_source",
    "order_where",
    "partial_periods",
    "period_changes",
    "period_end",
    "rate",
    "transaction_source",
    "transaction_where",
]

# Age groups used by demographics and behaviour (labels sort in age order).
AGE_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("under 18", None, 17),
    ("18–24", 18, 24),
    ("25–34", 25, 34),
    ("35–44", 35, 44),
    ("45–54", 45, 54),
    ("55–64", 55, 64),
    ("65+", 65, None),
)
UNKNOWN_AGE = "unknown"
CENT = Decimal("0.01")


def counted() -> ColumnElement[bool]:
    """Orders whose total counts as revenue (status not cancelled/refunded)."""
    return orders.c.status.in_(REVENUE_ORDER_STATUSES)


def order_source(filters: Filters, *, always_join: bool = False) -> FromClause:
    """``orders`` joined to ``customers`` when customer filters need it (or when asked)."""
    if always_join or filters.has_customer_filters():
        return orders.join(customers, customers.c.id == orders.c.customer_id)
    return orders


def order_where(filters: Filters, *, with_period: bool = True) -> list[ColumnElement[bool]]:
    """Filter conditions on ``orders`` (period, brand) and ``customers`` (attributes)."""
    return filters.order_clauses(orders, customers, with_period=with_period)


def transaction_source(filters: Filters) -> FromClause:
    """``transactions`` joined to what the filters need: customers for attributes, orders for brand."""
    source: FromClause = transactions
    if filters.has_customer_filters():
        source = source.join(customers, customers.c.id == transactions.c.customer_id)
    if filters.brands:
        source = source.join(orders, orders.c.id == transactions.c.order_id)
    return source


def transaction_where(filters: Filters) -> list[ColumnElement[bool]]:
    """Period on ``processed_at``, brand of the transaction's order, customer attributes."""
    return (
        filters.period_clauses(transactions.c.processed_at)
        + filters.brand_clauses(orders.c.brand_id)
        + filters.customer_clauses(customers)
    )


def local_time(column: ColumnElement[Any], filters: Filters) -> ColumnElement[Any]:
    """A stored UTC datetime in the app's time zone (for day/hour/month grouping)."""
    return to_local(column, filters.timezone_name)


def month_index(column: ColumnElement[Any], filters: Filters) -> ColumnElement[int]:
    """year × 12 + month of a datetime in the app's time zone (month arithmetic for cohorts)."""
    return month_number(local_time(column, filters))


def month_label(index: int) -> str:
    """'YYYY-MM-01' of a ``month_index`` value."""
    year, month = divmod(index - 1, 12)
    return f"{year:04d}-{month + 1:02d}-01"


def age_bucket(filters: Filters) -> ColumnElement[str]:
    """The customer's age group on ``filters.reference_day()`` (SQL CASE on birth_date)."""
    from sqlalchemy import case, literal

    today = filters.reference_day()

    def born_on_or_before(years: int) -> Any:
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 Feb
            return today.replace(year=today.year - years, day=28)

    birth = customers.c.birth_date
    whens = []
    # Oldest group first: aged ≥ N ⇔ born on or before today − N years.
    for label, low, _high in reversed(AGE_BUCKETS):
        if low is None:
            whens.append((birth.is_not(None), literal(label)))
        else:
            whens.append((birth <= born_on_or_before(low), literal(label)))
    return case(*whens, else_=literal(UNKNOWN_AGE))


def period_end(start: date, grain: str) -> date:
    """The last day of the day/week/month/quarter/year starting on ``start``."""
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1) - timedelta(days=1)


def data_end(filters: Filters) -> date:
    """The last day data can exist for: the end of the date range, but never after the reference day.

    A period (or cohort month) ending after it is still running, so its numbers are partial.
    """
    today = filters.reference_day()
    return min(filters.end_date, today) if filters.end_date else today


def partial_periods(periods: pd.Series, grain: str, filters: Filters) -> pd.Series:
    """True for periods ('YYYY-MM-DD' starts) covered only in part: cut by the date range or still running."""
    starts = [date.fromisoformat(str(label)) for label in periods]
    last_day = data_end(filters)
    return pd.Series(
        [
            bool((filters.start_date and start < filters.start_date) or period_end(start, grain) > last_day)
            for start in starts
        ],
        index=periods.index,
        dtype=bool,
    )


def period_changes(frame: pd.DataFrame, columns: tuple[str, ...], grain: str, filters: Filters) -> pd.DataFrame:
    """Add ``partial`` and ``<column>_change`` = (this − previous) ÷ previous period.

    A change is left empty (NaN) after a zero and when either period is cut by the date
    range: a partial first or last period would show a growth that did not happen.
    """
    frame["partial"] = partial_periods(frame["period"], grain, filters) if len(frame) else pd.Series(dtype=bool)
    comparable = ~frame["partial"] & ~frame["partial"].shift(1, fill_value=True)
    for column in columns:
        previous = frame[column].shift(1).astype(float)
        change = (frame[column] - previous) / previous.where(previous != 0)
        frame[f"{column}_change"] = change.where(comparable)
    return frame


def money(value: object) -> Decimal:
    """A SQL sum (Decimal, float or None) as Decimal cents."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT)


def rate(part: float | int | Decimal, whole: float | int | Decimal) -> float | None:
    """part ÷ whole as a float, None when whole is zero."""
    return float(part) / float(whole) if whole else None
