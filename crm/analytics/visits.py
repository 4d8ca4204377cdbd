"""Visits and the money taken at them: per month, busiest times, returning visitors.

Definitions (DESIGN.md "Visits and relationship work"):
* a visit counts in the period of its ``visited_at`` (local time); visitors = distinct customers;
* a visit payment counts in the period of its ``paid_at`` (cash is counted when it is taken);
  ``paid`` next to visits is the sum of the payments *of those visits*, whenever paid;
* average payment per visit = paid ÷ visits (visits without a payment count, as 0);
* a returning visitor is a visitor of the period with more than one visit up to the period's end
  (one earlier visit, or two in the period); returning share = returning visitors ÷ visitors;
* the sidebar's customer attributes apply to the visiting customer; a brand filter keeps the
  customers of that brand (``customers.brand_id``: visits have no brand of their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from sqlalchemy import ColumnElement, Engine, FromClause, Select, func, select

from crm.analytics.scope import local_time, money, rate
from crm.dialect import day_of_week, hour_of_day, period_start
from crm.filters import Filters
from crm.schema import customers, visit_payments, visits

__all__ = [
    "VisitSummary",
    "busiest_visit_times",
    "visit_payments_by_month",
    "visit_summary",
    "visits_by_month",
]


@dataclass(frozen=True)
class VisitSummary:
    """Visits of the period: visits, visitors, returning_visitors, paid (payments of those visits)."""

    visits: int
    visitors: int
    returning_visitors: int
    paid: Decimal

    @property
    def returning_share(self) -> float | None:
        """Returning visitors ÷ visitors (None without visitors)."""
        return rate(self.returning_visitors, self.visitors)

    @property
    def average_payment(self) -> Decimal | None:
        """Paid ÷ visits (None without visits)."""
        if not self.visits:
            return None
        return (self.paid / self.visits).quantize(Decimal("0.01"))


def _needs_customers(filters: Filters) -> bool:
    return filters.has_customer_filters() or bool(filters.brands)


def visit_source(filters: Filters) -> FromClause:
    """``visits`` joined to ``customers`` when the filters look at the customer."""
    if _needs_customers(filters):
        return visits.join(customers, customers.c.id == visits.c.customer_id)
    return visits


def visit_people(filters: Filters) -> list[ColumnElement[bool]]:
    """The visiting customer's attributes and brand (empty without customer filters)."""
    return filters.customer_count_clauses(customers) if _needs_customers(filters) else []


def _paid_per_visit() -> Select:
    return select(
        visit_payments.c.visit_id, func.sum(visit_payments.c.amount).label("paid"), func.count().label("payments")
    ).group_by(visit_payments.c.visit_id)


def _frame(engine: Engine, query: Select, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=columns)


def visits_by_month(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Visits per local month of ``visited_at``, oldest first.

    Columns: period ('YYYY-MM-01'), visits, visitors (distinct customers), paid (sum of the
    payments of those visits), average_payment (paid ÷ visits).
    """
    paid = _paid_per_visit().subquery()
    period = period_start(local_time(visits.c.visited_at, filters), "month").label("period")
    query = (
        select(
            period,
            func.count(visits.c.id),
            func.count(func.distinct(visits.c.customer_id)),
            func.coalesce(func.sum(paid.c.paid), 0),
        )
        .select_from(visit_source(filters).outerjoin(paid, paid.c.visit_id == visits.c.id))
        .where(*filters.period_clauses(visits.c.visited_at), *visit_people(filters))
        .group_by(period)
        .order_by(period)
    )
    frame = _frame(engine, query, ["period", "visits", "visitors", "paid"])
    frame["paid"] = frame["paid"].astype(float).round(2)
    frame["average_payment"] = (frame["paid"] / frame["visits"].where(frame["visits"] > 0)).round(2)
    return frame


def visit_payments_by_month(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Visit payments per local month of ``paid_at``, oldest first.

    Columns: period ('YYYY-MM-01'), payments (count), amount (sum), for_orders (the part that
    settles an order, already in order revenue).
    """
    period = period_start(local_time(visit_payments.c.paid_at, filters), "month").label("period")
    source = visit_payments.join(visits, visits.c.id == visit_payments.c.visit_id)
    if _needs_customers(filters):
        source = source.join(customers, customers.c.id == visits.c.customer_id)
    query = (
        select(
            period,
            func.count(visit_payments.c.id),
            func.coalesce(func.sum(visit_payments.c.amount), 0),
            func.coalesce(func.sum(visit_payments.c.amount).filter(visit_payments.c.order_id.is_not(None)), 0),
        )
        .select_from(source)
        .where(*filters.period_clauses(visit_payments.c.paid_at), *visit_people(filters))
        .group_by(period)
        .order_by(period)
    )
    frame = _frame(engine, query, ["period", "payments", "amount", "for_orders"])
    for column in ("amount", "for_orders"):
        frame[column] = frame[column].astype(float).round(2)
    return frame


def visit_summary(engine: Engine, filters: Filters) -> VisitSummary:
    """Visits, visitors, returning visitors and paid in the period (see the module's definitions)."""
    _start, end = filters.utc_bounds()
    in_period = filters.where(filters.period_clauses(visits.c.visited_at))
    before_end = [visits.c.visited_at < end] if end is not None else []
    per_customer = (
        select(
            visits.c.customer_id,
            func.count(visits.c.id).filter(in_period).label("in_period"),
            func.count(visits.c.id).label("up_to_end"),
        )
        .select_from(visit_source(filters))
        .where(*before_end, *visit_people(filters))
        .group_by(visits.c.customer_id)
        .subquery()
    )
    visited = per_customer.c.in_period > 0
    people_query = select(
        func.coalesce(func.sum(per_customer.c.in_period), 0),
        func.count().filter(visited),
        func.count().filter(visited, per_customer.c.up_to_end > 1),
    )
    paid_query = (
        select(func.coalesce(func.sum(visit_payments.c.amount), 0))
        .select_from(visit_source(filters).join(visit_payments, visit_payments.c.visit_id == visits.c.id))
        .where(*filters.period_clauses(visits.c.visited_at), *visit_people(filters))
    )
    with engine.connect() as connection:
        visit_count, visitors, returning = connection.execute(people_query).one()
        paid = connection.execute(paid_query).scalar_one()
    return VisitSummary(
        visits=int(visit_count), visitors=int(visitors), returning_visitors=int(returning), paid=money(paid)
    )


def busiest_visit_times(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Visits per local weekday and hour of ``visited_at``.

    Columns: day_of_week (0 = Monday … 6 = Sunday), hour (0–23), visits; only cells with visits.
    """
    local = local_time(visits.c.visited_at, filters)
    day, hour = day_of_week(local).label("day_of_week"), hour_of_day(local).label("hour")
    query = (
        select(day, hour, func.count(visits.c.id))
        .select_from(visit_source(filters))
        .where(*filters.period_clauses(visits.c.visited_at), *visit_people(filters))
        .group_by(day, hour)
        .order_by(day, hour)
    )
    frame = _frame(engine, query, ["day_of_week", "hour", "visits"])
    return frame.astype({"day_of_week": int, "hour": int, "visits": int})
