"""Headline KPIs for the overview page: customers, orders and revenue, today and this month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from crm.filters import Filters
from crm.schema import REVENUE_ORDER_STATUSES, customers, orders

__all__ = ["OverviewKpis", "PeriodTotals", "overview_kpis", "period_totals"]


@dataclass(frozen=True)
class PeriodTotals:
    """Totals of one period.

    * new_customers: customers created in the period (customer filters applied).
    * orders: orders placed in the period, any status.
    * revenue: sum of order totals, excluding cancelled and refunded orders, by order date.
    * revenue_orders: orders counted in revenue.
    * buying_customers: distinct customers with at least one counted order.
    """

    new_customers: int
    orders: int
    revenue: Decimal
    revenue_orders: int
    buying_customers: int

    @property
    def average_order_value(self) -> Decimal:
        """AOV = revenue ÷ counted orders (0 without orders)."""
        if not self.revenue_orders:
            return Decimal("0.00")
        return (self.revenue / self.revenue_orders).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class OverviewKpis:
    """Today's and this month's totals in the app's time zone, plus all-time customer count."""

    today: PeriodTotals
    this_month: PeriodTotals
    total_customers: int
    as_of: date


def period_totals(engine: Engine, filters: Filters) -> PeriodTotals:
    """Totals for the period of ``filters`` (see ``PeriodTotals`` for the definitions)."""
    customer_conditions = filters.customer_clauses(customers) + filters.period_clauses(customers.c.created_at)
    order_conditions = filters.order_clauses(orders, customers)
    counted = orders.c.status.in_(REVENUE_ORDER_STATUSES)
    order_query = (
        select(
            func.count(orders.c.id),
            func.coalesce(func.sum(orders.c.total).filter(counted), 0),
            func.count(orders.c.id).filter(counted),
            func.count(func.distinct(orders.c.customer_id)).filter(counted),
        )
        .select_from(orders.join(customers, customers.c.id == orders.c.customer_id))
        .where(*order_conditions)
    )
    with engine.connect() as connection:
        new_customers = connection.execute(select(func.count(customers.c.id)).where(*customer_conditions)).scalar_one()
        order_count, revenue, revenue_orders, buyers = connection.execute(order_query).one()
    return PeriodTotals(
        new_customers=int(new_customers),
        orders=int(order_count),
        revenue=Decimal(str(revenue)).quantize(Decimal("0.01")),
        revenue_orders=int(revenue_orders),
        buying_customers=int(buyers),
    )


def overview_kpis(engine: Engine, filters: Filters, *, now: datetime | None = None) -> OverviewKpis:
    """Today's and this month's ``PeriodTotals``; "today" uses the full date in the filters' time zone."""
    local_now = now.astimezone(filters.zone) if now and now.tzinfo else now or datetime.now(filters.zone)
    today = local_now.date()
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    with engine.connect() as connection:
        total_customers = connection.execute(
            select(func.count(customers.c.id)).where(*filters.customer_clauses(customers))
        ).scalar_one()
    return OverviewKpis(
        today=period_totals(engine, filters.with_dates(today, today)),
        this_month=period_totals(engine, filters.with_dates(month_start, next_month - timedelta(days=1))),
        total_customers=int(total_customers),
        as_of=today,
    )
