"""The RFM summary of counted orders, built in SQL (frequency, recency, T, monetary value in one unit)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Float, cast, func, select
from sqlalchemy.sql.expression import ColumnElement

from crm.analytics.clv.constants import UNIT_DAYS, UNITS, Unit, _day_number, _from_day_number
from crm.dialect import epoch_day, to_local
from crm.filters import Filters
from crm.schema import REVENUE_ORDER_STATUSES, customers, orders


# --- the RFM summary --------------------------------------------------------------------------
def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")


def _order_conditions(filters: Filters, end_day: date | None) -> list[ColumnElement[bool]]:
    """Revenue orders matching the filters, from the period's start up to ``end_day`` (local)."""
    window = filters.with_dates(filters.start_date, end_day)
    conditions = [orders.c.status.in_(REVENUE_ORDER_STATUSES)]
    conditions += window.period_clauses(orders.c.order_date)
    conditions += filters.brand_clauses(orders.c.brand_id)
    conditions += filters.customer_clauses(customers)
    return conditions


def _order_source(filters: Filters) -> Any:
    if filters.has_customer_filters():
        return orders.join(customers, customers.c.id == orders.c.customer_id)
    return orders


def _order_day_range(connection: Connection, filters: Filters) -> tuple[date | None, date | None]:
    day = epoch_day(to_local(orders.c.order_date, filters.timezone_name))
    query = (
        select(func.min(day), func.max(day))
        .select_from(_order_source(filters))
        .where(*_order_conditions(filters, filters.end_date))
    )
    first, last = connection.execute(query).one()
    return (None if first is None else _from_day_number(first), None if last is None else _from_day_number(last))


def order_days(engine: Engine, filters: Filters | None = None) -> tuple[date | None, date | None]:
    """(first, last) local day with a revenue order matching ``filters``; (None, None) without orders.

    The CLV page offers as-of dates between them.
    """
    with engine.connect() as connection:
        return _order_day_range(connection, filters or Filters())


def last_order_day(connection: Connection, filters: Filters) -> date | None:
    """The latest local day with a revenue order matching ``filters`` (None without orders)."""
    return _order_day_range(connection, filters)[1]


def _resolve_dates(
    connection: Connection, filters: Filters, as_of: date | None
) -> tuple[date | None, date | None, date | None]:
    """(as-of date, holdout end, first order day). The holdout end is the last order day up to the period's end."""
    first_day, last_day = _order_day_range(connection, filters)
    if last_day is None:
        return as_of, None, None
    if as_of is None or as_of >= last_day:
        return as_of or last_day, None, first_day
    return as_of, last_day, first_day


def rfm_summary(
    engine: Engine,
    filters: Filters | None = None,
    *,
    as_of: date | None = None,
    unit: Unit = "W",
    holdout_end: date | None = None,
) -> pd.DataFrame:
    """One row per customer with a revenue order on or before ``as_of`` (local day, inclusive).

    Columns: customer_id, name, email, source, first_purchase, last_purchase (dates up to as_of),
    orders (revenue orders up to as_of), purchase_days, frequency (purchase_days − 1),
    recency (last − first purchase), T (as_of − first purchase) — both in ``unit`` —,
    historic_value (spent up to as_of), monetary_value (mean value of the repeat purchase
    days, 0 for one-time buyers), holdout_purchases and holdout_value (purchase days and
    value after as_of up to ``holdout_end``; 0 without a holdout).
    ``as_of`` defaults to the last order day matching the filters. ``attrs["unit"]`` is ``unit``.
    """
    _check_unit(unit)
    filters = filters or Filters()
    with engine.connect() as connection:
        if as_of is None:
            as_of = last_order_day(connection, filters)
        if as_of is None:
            return _empty_summary(unit)
        if holdout_end is not None and holdout_end <= as_of:
            holdout_end = None
        return _summary_query(connection, filters, as_of, unit, holdout_end)


def _empty_summary(unit: str) -> pd.DataFrame:
    columns = {
        "customer_id": "int64",
        "name": "object",
        "email": "object",
        "source": "object",
        "first_purchase": "object",
        "last_purchase": "object",
        "orders": "int64",
        "purchase_days": "int64",
        "frequency": "int64",
        "recency": "float64",
        "T": "float64",
        "historic_value": "float64",
        "monetary_value": "float64",
        "holdout_purchases": "int64",
        "holdout_value": "float64",
    }
    summary = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    summary.attrs["unit"] = unit
    return summary


def _last_day_read(filters: Filters, as_of: date, holdout_end: date | None) -> date:
    """Orders are read up to the holdout's end (or the as-of date), never past the period's end."""
    end = holdout_end or as_of
    return min(end, filters.end_date) if filters.end_date else end


def _summary_query(
    connection: Connection, filters: Filters, as_of: date, unit: str, holdout_end: date | None
) -> pd.DataFrame:
    as_of_number = _day_number(as_of)
    day_expression = epoch_day(to_local(orders.c.order_date, filters.timezone_name))
    # One row per customer and local day: same-day orders are one purchase.
    daily = (
        select(
            orders.c.customer_id.label("customer_id"),
            day_expression.label("day"),
            cast(func.sum(orders.c.total), Float).label("value"),
            func.count().label("orders"),
        )
        .select_from(_order_source(filters))
        .where(*_order_conditions(filters, _last_day_read(filters, as_of, holdout_end)))
        .group_by(orders.c.customer_id, day_expression)
        .cte("daily")
    )
    firsts = (
        select(daily.c.customer_id, func.min(daily.c.day).label("first_day"))
        .group_by(daily.c.customer_id)
        .having(func.min(daily.c.day) <= as_of_number)
        .subquery("firsts")
    )
    calibration = daily.c.day <= as_of_number
    per_customer = (
        select(
            daily.c.customer_id,
            firsts.c.first_day,
            func.max(daily.c.day).filter(calibration).label("last_day"),
            func.count().filter(calibration).label("purchase_days"),
            func.sum(daily.c.orders).filter(calibration).label("orders"),
            func.sum(daily.c.value).filter(calibration).label("historic_value"),
            func.sum(daily.c.value).filter(daily.c.day == firsts.c.first_day).label("first_value"),
            func.count().filter(~calibration).label("holdout_purchases"),
            func.coalesce(func.sum(daily.c.value).filter(~calibration), 0.0).label("holdout_value"),
        )
        .select_from(daily.join(firsts, firsts.c.customer_id == daily.c.customer_id))
        .group_by(daily.c.customer_id, firsts.c.first_day)
        .subquery("per_customer")
    )
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    query = (
        select(
            per_customer,
            func.coalesce(func.nullif(name, ""), customers.c.company, customers.c.email).label("name"),
            customers.c.email.label("email"),
            func.coalesce(customers.c.source, "unknown").label("source"),
        )
        .select_from(per_customer.join(customers, customers.c.id == per_customer.c.customer_id))
        .order_by(per_customer.c.customer_id)
    )
    rows = connection.execute(query).all()
    if not rows:
        return _empty_summary(unit)
    raw = pd.DataFrame.from_records(rows, columns=list(rows[0]._fields))
    unit_days = UNIT_DAYS[unit]
    purchase_days = raw["purchase_days"].astype("int64")
    frequency = purchase_days - 1
    first_value = raw["first_value"].astype(float).fillna(0.0)
    historic_value = raw["historic_value"].astype(float).fillna(0.0)
    repeat_value = (historic_value - first_value).clip(lower=0.0)
    monetary = np.where(frequency > 0, repeat_value / frequency.where(frequency > 0, 1), 0.0)
    first_day = raw["first_day"].astype("int64")
    last_day = raw["last_day"].astype("int64")
    summary = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "name": raw["name"].astype(object),
            "email": raw["email"].astype(object),
            "source": raw["source"].astype(object),
            "first_purchase": [_from_day_number(number) for number in first_day],
            "last_purchase": [_from_day_number(number) for number in last_day],
            "orders": raw["orders"].astype("int64"),
            "purchase_days": purchase_days,
            "frequency": frequency,
            "recency": (last_day - first_day) / unit_days,
            "T": (as_of_number - first_day) / unit_days,
            "historic_value": historic_value.round(2),
            "monetary_value": np.round(monetary, 6),
            "holdout_purchases": raw["holdout_purchases"].astype("int64"),
            "holdout_value": raw["holdout_value"].astype(float).round(2),
        }
    )
    summary.attrs["unit"] = unit
    return summary
