"""Cohorts: customers grouped by the month of their first counted order, followed month by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Engine, func, select

from crm.analytics.scope import counted, data_end, month_index, month_label, order_source, order_where, period_end
from crm.filters import Filters
from crm.schema import orders

__all__ = ["CohortSummary", "cohort_retention", "summarise"]


def cohort_retention(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Retention by first-order month (local time).

    A customer's cohort is the month of their first counted order ever (orders not
    cancelled/refunded; brand and customer filters apply); cohorts whose first month lies
    in the period are shown, followed until the end of the period.

    Columns: cohort ('YYYY-MM-01'), months_since_first (0 = the first month),
    cohort_customers (size of the cohort), active_customers (with a counted order that month),
    retention (% active = active ÷ cohort size), revenue (counted order totals that month),
    cumulative_value_per_customer (revenue of months 0…n ÷ cohort size), partial (the month
    ends after the period's end or after today, so it is still running: its retention is not
    final and ``summarise`` leaves it out of the month-1 retention).
    Every month up to the last month with data is listed (0 active when nobody bought).
    """
    start, end = filters.utc_bounds()
    month = month_index(orders.c.order_date, filters).label("month")
    # One scan of orders: revenue and first order per customer and month …
    # The exact first order is needed only to drop customers who first bought before the period.
    first_in_month = [func.min(orders.c.order_date).label("first_in_month")] if start is not None else []
    per_month = (
        select(orders.c.customer_id, month, *first_in_month, func.sum(orders.c.total).label("revenue"))
        .select_from(order_source(filters))
        .where(counted(), *order_where(filters, with_period=False), *([orders.c.order_date < end] if end else []))
        .group_by(orders.c.customer_id, month)
        .subquery("per_month")
    )
    # … then each customer's first month and first order via window functions (no self-join).
    customer_window = {"partition_by": per_month.c.customer_id}
    first_date = (
        [func.min(per_month.c.first_in_month).over(**customer_window).label("first_date")] if start is not None else []
    )
    with_first = select(
        per_month.c.month,
        per_month.c.revenue,
        func.min(per_month.c.month).over(**customer_window).label("cohort_month"),
        *first_date,
    ).subquery("with_first")
    offset = (with_first.c.month - with_first.c.cohort_month).label("months_since_first")
    activity = (
        select(with_first.c.cohort_month, offset, func.count(), func.sum(with_first.c.revenue))
        .where(*([with_first.c.first_date >= start] if start is not None else []))
        .group_by(with_first.c.cohort_month, offset)
    )
    with engine.connect() as connection:
        frame = pd.DataFrame(
            connection.execute(activity).all(),
            columns=["cohort_month", "months_since_first", "active_customers", "revenue"],
        )
    columns = [
        "cohort",
        "months_since_first",
        "cohort_customers",
        "active_customers",
        "retention",
        "revenue",
        "cumulative_value_per_customer",
        "partial",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["months_since_first"] = frame["months_since_first"].astype(int)
    frame["revenue"] = frame["revenue"].astype(float)
    cohort_month = frame["cohort_month"].astype(int)
    frame["cohort"] = [month_label(index) for index in cohort_month]
    # Fill the months in which nobody of a cohort bought, up to the last month with data.
    last_month = int((cohort_month + frame["months_since_first"]).max())
    grid = pd.DataFrame(
        [
            (label, offset_)
            for label, index in zip(frame["cohort"], cohort_month, strict=True)
            for offset_ in range(last_month - index + 1)
        ],
        columns=["cohort", "months_since_first"],
    ).drop_duplicates()
    frame = grid.merge(frame.drop(columns="cohort_month"), on=["cohort", "months_since_first"], how="left")
    frame["active_customers"] = frame["active_customers"].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].fillna(0.0)
    frame = frame.sort_values(["cohort", "months_since_first"], ignore_index=True)
    sizes = frame[frame["months_since_first"] == 0].set_index("cohort")["active_customers"]
    frame["cohort_customers"] = frame["cohort"].map(sizes).astype(int)
    frame["retention"] = frame["active_customers"] / frame["cohort_customers"]
    frame["cumulative_value_per_customer"] = (
        frame.groupby("cohort")["revenue"].cumsum() / frame["cohort_customers"]
    ).round(2)
    frame["revenue"] = frame["revenue"].round(2)
    # A cell is partial when its calendar month ends after the last day data can exist for.
    last_day = data_end(filters)
    frame["partial"] = [
        period_end(date.fromisoformat(_month_after(cohort, offset_)), "month") > last_day
        for cohort, offset_ in zip(frame["cohort"], frame["months_since_first"], strict=True)
    ]
    return frame[columns]


def _month_after(cohort: str, months: int) -> str:
    """'YYYY-MM-01' of the month ``months`` after the cohort month 'YYYY-MM-01'."""
    start = date.fromisoformat(cohort)
    return month_label(start.year * 12 + start.month + months)


@dataclass(frozen=True)
class CohortSummary:
    """Headline numbers of a ``cohort_retention`` result.

    cohorts: first-order months shown; new_buyers: customers in them; month_one_retention:
    customers who ordered again in the month after their first ÷ customers of the cohorts
    whose month after the first is complete (a month still running or cut by the period's end
    is left out: one day of a month would read as a collapse; None without a complete one);
    partial_month_one_cohorts: the cohorts left out for that reason; largest_cohort and its size.
    """

    cohorts: int
    new_buyers: int
    month_one_retention: float | None
    largest_cohort: str | None
    largest_size: int
    partial_month_one_cohorts: int = 0


def summarise(retention: pd.DataFrame) -> CohortSummary:
    """Totals of a ``cohort_retention`` frame (small: cohorts × months)."""
    first_months = retention[retention["months_since_first"] == 0]
    all_month_one = retention[retention["months_since_first"] == 1]
    month_one = all_month_one[~all_month_one["partial"].astype(bool)]
    at_risk = int(month_one["cohort_customers"].sum())
    largest = first_months.loc[first_months["cohort_customers"].idxmax()] if len(first_months) else None
    return CohortSummary(
        cohorts=len(first_months),
        new_buyers=int(first_months["cohort_customers"].sum()),
        month_one_retention=int(month_one["active_customers"].sum()) / at_risk if at_risk else None,
        largest_cohort=None if largest is None else str(largest["cohort"]),
        largest_size=0 if largest is None else int(largest["cohort_customers"]),
        partial_month_one_cohorts=len(all_month_one) - len(month_one),
    )
