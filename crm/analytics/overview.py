"""Headline KPIs for the overview page: today, this month, the chosen period and its trends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine, and_, exists, func, select

from crm.analytics.scope import (
    counted,
    local_time,
    money,
    order_source,
    order_where,
    period_changes,
    rate,
    transaction_source,
    transaction_where,
)
from crm.dialect import Grain, period_start
from crm.filters import Filters
from crm.schema import customers, orders, transactions, visit_payments, visits

__all__ = [
    "CASH_IN_TYPES",
    "CASH_OUT_TYPES",
    "DEFINITIONS",
    "OverviewKpis",
    "PendingOrders",
    "PeriodComparison",
    "PeriodTotals",
    "Takings",
    "growth_trends",
    "overview_kpis",
    "pending_orders",
    "period_comparison",
    "period_totals",
    "takings",
]

# KPI help texts: the metric definitions of DESIGN.md, shown on every page that shows the number.
DEFINITIONS: dict[str, str] = {
    "revenue": "Revenue = totals of orders not cancelled/refunded, by order date.",
    "orders": "Orders placed in the period, any status.",
    "counted_orders": "Orders counted in revenue: status pending, processing, shipped or delivered.",
    "new_customers": (
        "Customers created in the period (customer filters apply; with a brand filter, customers whose brand "
        "is that brand)."
    ),
    "buying_customers": (
        "Customers with at least one order not cancelled/refunded in the period. With a brand filter: "
        "customers who bought the brand, whichever brand their customer record names."
    ),
    "completed_transactions": "Transactions with status completed, by processed date.",
    "average_order_value": "AOV = revenue ÷ counted orders (orders not cancelled/refunded).",
    "average_customer_value": "Average customer value = revenue ÷ customers with at least one counted order.",
    "purchase_frequency": "Purchase frequency = counted orders ÷ buying customers.",
    "conversion_rate": (
        "Conversion rate = customers created in the period who placed at least one counted order in it "
        "÷ customers created in the period (never above 100 %). With a brand filter both sides are the "
        "brand's customers (customer record's brand) and the order must be of the brand."
    ),
    "net_cash": (
        "Net cash = completed sale + payment transactions − completed refund + chargeback transactions, "
        "by processed date."
    ),
    "pending_orders": "Orders whose status is pending now, whatever their order date; value = their totals.",
    "change": "Change = (this period − the equally long previous period) ÷ previous period.",
    "visit_takings": (
        "Visit takings = payments taken at visits, by paid date (a shop that records visits sees its money here)."
    ),
    "total_takings": (
        "Total takings = revenue + visit takings not settling an order (a visit payment that names its order "
        "is already in that order's revenue, so one sale is never counted twice)."
    ),
}

# Net cash = completed money in (sales, payments) − completed money out (refunds, chargebacks).
CASH_IN_TYPES = ("sale", "payment")
CASH_OUT_TYPES = ("refund", "chargeback")


@dataclass(frozen=True)
class PeriodTotals:
    """Totals of one period.

    * new_customers: customers created in the period (customer filters and the brand rule of
      ``Filters`` applied: with a brand filter, customers whose brand is that brand).
    * converted_customers: of those, the ones with at least one counted order in the period.
    * orders: orders placed in the period, any status.
    * revenue: sum of order totals, excluding cancelled and refunded orders, by order date.
    * revenue_orders: orders counted in revenue.
    * buying_customers: distinct customers with at least one counted order.
    * completed_transactions: transactions with status completed, by processed date.
    * net_cash: completed sale + payment transactions − completed refunds + chargebacks.
    """

    new_customers: int
    orders: int
    revenue: Decimal
    revenue_orders: int
    buying_customers: int
    converted_customers: int = 0
    completed_transactions: int = 0
    net_cash: Decimal = Decimal("0.00")

    @property
    def average_order_value(self) -> Decimal:
        """AOV = revenue ÷ counted orders (0 without orders)."""
        if not self.revenue_orders:
            return Decimal("0.00")
        return (self.revenue / self.revenue_orders).quantize(Decimal("0.01"))

    @property
    def average_customer_value(self) -> Decimal:
        """Average customer value = revenue ÷ buying customers (0 without buyers)."""
        if not self.buying_customers:
            return Decimal("0.00")
        return (self.revenue / self.buying_customers).quantize(Decimal("0.01"))

    @property
    def purchase_frequency(self) -> float | None:
        """Purchase frequency = counted orders ÷ buying customers."""
        return rate(self.revenue_orders, self.buying_customers)

    @property
    def conversion_rate(self) -> float | None:
        """Conversion = customers created in the period with ≥1 counted order in it ÷ customers created in it."""
        return rate(self.converted_customers, self.new_customers)


@dataclass(frozen=True)
class PendingOrders:
    """Orders with status pending right now (any order date): how many and their total value."""

    count: int
    value: Decimal


@dataclass(frozen=True)
class OverviewKpis:
    """Today's and this month's totals in the app's time zone, pending orders, all-time customer count."""

    today: PeriodTotals
    this_month: PeriodTotals
    total_customers: int
    as_of: date
    pending: PendingOrders | None = None


@dataclass(frozen=True)
class PeriodComparison:
    """The filters' period and the equally long period before it (None without a full date range)."""

    current: PeriodTotals
    previous: PeriodTotals | None

    def change(self, name: str) -> float | None:
        """Relative change of a ``PeriodTotals`` attribute versus the previous period (None if undefined)."""
        if self.previous is None:
            return None
        before = getattr(self.previous, name)
        after = getattr(self.current, name)
        if before is None or after is None or not before:
            return None
        return (float(after) - float(before)) / float(before)


def period_totals(engine: Engine, filters: Filters) -> PeriodTotals:
    """Totals for the period of ``filters`` (see ``PeriodTotals`` for the definitions).

    Revenue = totals of orders not cancelled/refunded, by order date. AOV = revenue ÷ counted
    orders. Conversion = customers created in the period with ≥1 counted order in the period
    ÷ customers created in the period (so never above 100 %). Net cash = completed sale +
    payment transactions − completed refund + chargeback transactions, by processed date.
    """
    is_counted = counted()
    bought = exists().where(
        and_(orders.c.customer_id == customers.c.id, is_counted, *filters.period_clauses(orders.c.order_date)),
        *filters.brand_clauses(orders.c.brand_id),
    )
    customer_query = select(func.count(customers.c.id), func.count(customers.c.id).filter(bought)).where(
        *filters.customer_count_clauses(customers), *filters.period_clauses(customers.c.created_at)
    )
    order_query = (
        select(
            func.count(orders.c.id),
            func.coalesce(func.sum(orders.c.total).filter(is_counted), 0),
            func.count(orders.c.id).filter(is_counted),
            func.count(func.distinct(orders.c.customer_id)).filter(is_counted),
        )
        .select_from(order_source(filters))
        .where(*order_where(filters))
    )
    completed = transactions.c.status == "completed"
    cash_in = func.sum(transactions.c.amount).filter(completed, transactions.c.transaction_type.in_(CASH_IN_TYPES))
    cash_out = func.sum(transactions.c.amount).filter(completed, transactions.c.transaction_type.in_(CASH_OUT_TYPES))
    transaction_query = (
        select(
            func.count(transactions.c.id).filter(completed),
            func.coalesce(cash_in, 0) - func.coalesce(cash_out, 0),
        )
        .select_from(transaction_source(filters))
        .where(*transaction_where(filters))
    )
    with engine.connect() as connection:
        new_customers, converted = connection.execute(customer_query).one()
        order_count, revenue, revenue_orders, buyers = connection.execute(order_query).one()
        completed_count, net_cash = connection.execute(transaction_query).one()
    return PeriodTotals(
        new_customers=int(new_customers),
        orders=int(order_count),
        revenue=money(revenue),
        revenue_orders=int(revenue_orders),
        buying_customers=int(buyers),
        converted_customers=int(converted),
        completed_transactions=int(completed_count),
        net_cash=money(net_cash),
    )


def period_comparison(engine: Engine, filters: Filters) -> PeriodComparison:
    """``PeriodTotals`` of the filters' period and of the equally long period right before it.

    Period-over-period change = (this period − previous period) ÷ previous period.
    """
    previous = filters.previous_period()
    return PeriodComparison(
        current=period_totals(engine, filters),
        previous=period_totals(engine, previous) if previous else None,
    )


def pending_orders(engine: Engine, filters: Filters) -> PendingOrders:
    """Orders whose status is pending now, whatever their order date (brand and customer filters apply).

    Pending orders = count and total value of orders with status "pending".
    """
    query = (
        select(func.count(orders.c.id), func.coalesce(func.sum(orders.c.total), 0))
        .select_from(order_source(filters))
        .where(orders.c.status == "pending", *order_where(filters, with_period=False))
    )
    with engine.connect() as connection:
        count, value = connection.execute(query).one()
    return PendingOrders(count=int(count), value=money(value))


def growth_trends(engine: Engine, filters: Filters, *, grain: Grain = "month") -> pd.DataFrame:
    """Revenue, order and customer growth per period of ``grain`` (local time), oldest first.

    Columns: period ('YYYY-MM-DD' start of the period), revenue (orders not cancelled/refunded,
    by order date), orders (any status), new_customers (customers created), partial (the
    date range covers the period only in part), and revenue_change, orders_change,
    new_customers_change: period-over-period change = (this period − previous period) ÷
    previous period (NaN for the first period, after 0, and when either period is partial).
    """
    order_period = period_start(local_time(orders.c.order_date, filters), grain).label("period")
    order_query = (
        select(
            order_period,
            func.coalesce(func.sum(orders.c.total).filter(counted()), 0).label("revenue"),
            func.count(orders.c.id).label("orders"),
        )
        .select_from(order_source(filters))
        .where(*order_where(filters))
        .group_by(order_period)
    )
    customer_period = period_start(local_time(customers.c.created_at, filters), grain).label("period")
    customer_query = (
        select(customer_period, func.count(customers.c.id).label("new_customers"))
        .where(*filters.customer_count_clauses(customers), *filters.period_clauses(customers.c.created_at))
        .group_by(customer_period)
    )
    with engine.connect() as connection:
        order_rows = pd.DataFrame(connection.execute(order_query).all(), columns=["period", "revenue", "orders"])
        customer_rows = pd.DataFrame(connection.execute(customer_query).all(), columns=["period", "new_customers"])
    frame = order_rows.merge(customer_rows, on="period", how="outer").sort_values("period", ignore_index=True)
    frame["revenue"] = frame["revenue"].fillna(0).astype(float).round(2)
    frame["orders"] = frame["orders"].fillna(0).astype(int)
    frame["new_customers"] = frame["new_customers"].fillna(0).astype(int)
    return period_changes(frame, ("revenue", "orders", "new_customers"), grain, filters)


def overview_kpis(engine: Engine, filters: Filters, *, now: datetime | None = None) -> OverviewKpis:
    """Today's and this month's ``PeriodTotals``; "today" uses the full date in the filters' time zone.

    Also the pending orders now and the number of customers matching the customer filters.
    """
    local_now = now.astimezone(filters.zone) if now and now.tzinfo else now or datetime.now(filters.zone)
    today = local_now.date()
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    with engine.connect() as connection:
        total_customers = connection.execute(
            select(func.count(customers.c.id)).where(*filters.customer_count_clauses(customers))
        ).scalar_one()
    return OverviewKpis(
        today=period_totals(engine, filters.with_dates(today, today)),
        this_month=period_totals(engine, filters.with_dates(month_start, next_month - timedelta(days=1))),
        total_customers=int(total_customers),
        as_of=today,
        pending=pending_orders(engine, filters),
    )


@dataclass(frozen=True)
class Takings:
    """Money of the period from orders and from visits, each sale once.

    * order_revenue: revenue (totals of orders not cancelled/refunded, by order date);
    * visit_takings: payments taken at visits, by paid date;
    * visit_takings_for_orders: the part of them that names the order it settles (already in revenue);
    * total: order_revenue + visit_takings − visit_takings_for_orders.
    """

    order_revenue: Decimal
    visit_takings: Decimal
    visit_takings_for_orders: Decimal

    @property
    def total(self) -> Decimal:
        return self.order_revenue + self.visit_takings - self.visit_takings_for_orders


def takings(engine: Engine, filters: Filters) -> Takings:
    """Order revenue, visit takings and total takings of the filters' period (see ``Takings``).

    Visit payments count by ``paid_at``; customer filters apply to the visiting customer and a
    brand filter keeps customers of that brand (visits have no brand; orders keep their own rule).
    """
    revenue_query = (
        select(func.coalesce(func.sum(orders.c.total).filter(counted()), 0))
        .select_from(order_source(filters))
        .where(*order_where(filters))
    )
    needs_customers = filters.has_customer_filters() or bool(filters.brands)
    source = visit_payments.join(visits, visits.c.id == visit_payments.c.visit_id)
    if needs_customers:
        source = source.join(customers, customers.c.id == visits.c.customer_id)
    people = filters.customer_count_clauses(customers) if needs_customers else []
    visit_query = (
        select(
            func.coalesce(func.sum(visit_payments.c.amount), 0),
            func.coalesce(func.sum(visit_payments.c.amount).filter(visit_payments.c.order_id.is_not(None)), 0),
        )
        .select_from(source)
        .where(*filters.period_clauses(visit_payments.c.paid_at), *people)
    )
    with engine.connect() as connection:
        revenue = connection.execute(revenue_query).scalar_one()
        visit_total, for_orders = connection.execute(visit_query).one()
    return Takings(
        order_revenue=money(revenue), visit_takings=money(visit_total), visit_takings_for_orders=money(for_orders)
    )
