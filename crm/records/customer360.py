"""Customer 360: one customer's profile, activity and value on one page.

Metrics follow DESIGN.md: total spent = sum of totals of the customer's orders that are not
cancelled or refunded (historic CLV); order count counts those orders; AOV = total spent ÷
order count; first/last purchase are the first/last of those orders. Loyalty tier from the
points balance (thresholds of ``loyalty_tiers``, ``crm.loyalty.tiers``). Predicted CLV, expected purchases, P(alive)
and churn risk come from ``crm.analytics.clv.customer_value`` of the CLV page's cached fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, func, select

from crm.loyalty.tiers import read_tiers, tier_for
from crm.schema import (
    REVENUE_ORDER_STATUSES,
    brands,
    customers,
    interactions,
    orders,
    tickets,
    transactions,
    users,
    utc_now,
    visit_payments,
    visits,
)

__all__ = ["Customer360", "CustomerSummary", "customer_360", "customer_labels", "recently_changed_customers"]

# Rows per activity table; older activity is one click away in the record grids.
ACTIVITY_LIMIT = 200


def _tier_now(engine: Engine, points: int) -> str:
    """The tier of a balance by the loyalty_tiers thresholds (editable by managers)."""
    with engine.connect() as connection:
        return tier_for(points, read_tiers(connection))


@dataclass(frozen=True)
class CustomerSummary:
    total_spent: Decimal
    order_count: int
    all_orders: int
    average_order_value: Decimal | None
    first_purchase: datetime | None
    last_purchase: datetime | None
    loyalty_points: int
    loyalty_tier: str
    open_tickets: int
    follow_ups_due: int


@dataclass(frozen=True)
class Customer360:
    profile: dict[str, Any]
    summary: CustomerSummary
    # Columns: order_number, order_date, status, items, total, payment_method
    orders: pd.DataFrame
    # Columns: transaction_number, processed_at, transaction_type, status, method, amount, order_number
    transactions: pd.DataFrame
    # Columns: visit id, visited_at, location, purpose, paid (sum of its payments)
    visits: pd.DataFrame
    # Columns: visit_id, paid_at, amount, method, order_number (the order it settles)
    visit_payments: pd.DataFrame
    # Columns: occurred_at, interaction_type, subject, priority, status, duration_minutes, follow_up_at, outcome,
    # agent (the owner)
    interactions: pd.DataFrame
    # Interactions with a follow-up date, soonest first, with ``due`` (follow-up time has come).
    follow_ups: pd.DataFrame
    # Columns: ticket_number, created_at, subject, category, priority, status, satisfaction
    tickets: pd.DataFrame


def _frame(engine: Engine, statement: Select[Any]) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(statement)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    return frame


def _money_columns(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        frame[name] = frame[name].map(lambda value: None if value is None else float(value))
    return frame


def customer_360(engine: Engine, customer_id: int, *, now: datetime | None = None) -> Customer360 | None:
    """Everything about one customer, or None when there is no such customer."""
    now = now or utc_now()
    with engine.connect() as connection:
        profile_row = (
            connection.execute(
                select(customers, brands.c.name.label("brand"))
                .select_from(customers.outerjoin(brands, brands.c.id == customers.c.brand_id))
                .where(customers.c.id == customer_id)
            )
            .mappings()
            .first()
        )
        if profile_row is None:
            return None
        counted = orders.c.status.in_(REVENUE_ORDER_STATUSES)
        spent, count, first, last = connection.execute(
            select(
                func.coalesce(func.sum(orders.c.total), 0),
                func.count(),
                func.min(orders.c.order_date),
                func.max(orders.c.order_date),
            ).where(orders.c.customer_id == customer_id, counted)
        ).one()
        all_orders = connection.execute(
            select(func.count()).select_from(orders).where(orders.c.customer_id == customer_id)
        ).scalar_one()
        open_tickets = connection.execute(
            select(func.count())
            .select_from(tickets)
            .where(tickets.c.customer_id == customer_id, tickets.c.status.in_(("open", "in_progress", "waiting")))
        ).scalar_one()
    profile = dict(profile_row)
    total_spent = Decimal(spent).quantize(Decimal("0.01"))
    order_count = int(count)

    order_frame = _money_columns(
        _frame(
            engine,
            select(
                orders.c.order_number,
                orders.c.order_date,
                orders.c.status,
                orders.c.subtotal,
                orders.c.total,
                orders.c.payment_method,
            )
            .where(orders.c.customer_id == customer_id)
            .order_by(orders.c.order_date.desc(), orders.c.id.desc())
            .limit(ACTIVITY_LIMIT),
        ),
        "subtotal",
        "total",
    )
    transaction_frame = _money_columns(
        _frame(
            engine,
            select(
                transactions.c.transaction_number,
                transactions.c.processed_at,
                transactions.c.transaction_type,
                transactions.c.status,
                transactions.c.method,
                transactions.c.amount,
                orders.c.order_number,
            )
            .select_from(transactions.outerjoin(orders, orders.c.id == transactions.c.order_id))
            .where(transactions.c.customer_id == customer_id)
            .order_by(transactions.c.processed_at.desc(), transactions.c.id.desc())
            .limit(ACTIVITY_LIMIT),
        ),
        "amount",
    )
    paid = (
        select(func.coalesce(func.sum(visit_payments.c.amount), 0))
        .where(visit_payments.c.visit_id == visits.c.id)
        .scalar_subquery()
    )
    visit_frame = _money_columns(
        _frame(
            engine,
            select(visits.c.id, visits.c.visited_at, visits.c.location, visits.c.purpose, paid.label("paid"))
            .where(visits.c.customer_id == customer_id)
            .order_by(visits.c.visited_at.desc())
            .limit(ACTIVITY_LIMIT),
        ),
        "paid",
    )
    payment_frame = _money_columns(
        _frame(
            engine,
            select(
                visit_payments.c.visit_id,
                visit_payments.c.paid_at,
                visit_payments.c.amount,
                visit_payments.c.method,
                # The order a payment settles (already in revenue), if any.
                orders.c.order_number,
            )
            .select_from(
                visit_payments.join(visits, visits.c.id == visit_payments.c.visit_id).outerjoin(
                    orders, orders.c.id == visit_payments.c.order_id
                )
            )
            .where(visits.c.customer_id == customer_id)
            .order_by(visit_payments.c.paid_at.desc())
            .limit(ACTIVITY_LIMIT),
        ),
        "amount",
    )
    interaction_frame = _frame(
        engine,
        select(
            interactions.c.occurred_at,
            interactions.c.interaction_type,
            interactions.c.subject,
            interactions.c.priority,
            interactions.c.status,
            interactions.c.duration_minutes,
            interactions.c.follow_up_at,
            interactions.c.outcome,
            users.c.full_name.label("agent"),
        )
        .select_from(interactions.outerjoin(users, users.c.id == interactions.c.user_id))
        .where(interactions.c.customer_id == customer_id)
        .order_by(interactions.c.occurred_at.desc())
        .limit(ACTIVITY_LIMIT),
    )
    follow_ups = interaction_frame[interaction_frame["follow_up_at"].notna()].sort_values("follow_up_at").copy()
    follow_ups["due"] = (follow_ups["follow_up_at"] <= now) & (follow_ups["status"] != "cancelled")
    ticket_frame = _frame(
        engine,
        select(
            tickets.c.ticket_number,
            tickets.c.created_at,
            tickets.c.subject,
            tickets.c.category,
            tickets.c.priority,
            tickets.c.status,
            tickets.c.satisfaction,
        )
        .where(tickets.c.customer_id == customer_id)
        .order_by(tickets.c.created_at.desc())
        .limit(ACTIVITY_LIMIT),
    )
    points = int(profile["loyalty_points"] or 0)
    summary = CustomerSummary(
        total_spent=total_spent,
        order_count=order_count,
        all_orders=int(all_orders),
        average_order_value=(total_spent / order_count).quantize(Decimal("0.01")) if order_count else None,
        first_purchase=first,
        last_purchase=last,
        loyalty_points=points,
        loyalty_tier=_tier_now(engine, points),
        open_tickets=int(open_tickets),
        follow_ups_due=int(follow_ups["due"].sum()),
    )
    return Customer360(
        profile=profile,
        summary=summary,
        orders=order_frame,
        transactions=transaction_frame,
        visits=visit_frame,
        visit_payments=payment_frame,
        interactions=interaction_frame,
        follow_ups=follow_ups,
        tickets=ticket_frame,
    )


# --- choosing a customer (Customer 360's picker) ------------------------------------------------
def _labelled(statement: Select[Any], engine: Engine) -> pd.DataFrame:
    """Rows of (id, name, email, company) as the picker's labels: "Alice Kim · alice@example.com"."""
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    labels = [" · ".join(part for part in (row.name or row.company or f"#{row.id}", row.email) if part) for row in rows]
    return pd.DataFrame({"id": [int(row.id) for row in rows], "label": labels})


def _label_columns() -> Select[Any]:
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    return select(customers.c.id, name.label("name"), customers.c.email, customers.c.company)


def customer_labels(engine: Engine, customer_ids: tuple[int, ...]) -> pd.DataFrame:
    """Columns id, label of the given customers, in the given order (deleted ones are left out)."""
    if not customer_ids:
        return pd.DataFrame({"id": pd.Series(dtype="int64"), "label": pd.Series(dtype="object")})
    found = _labelled(_label_columns().where(customers.c.id.in_(customer_ids)), engine)
    order = {customer_id: position for position, customer_id in enumerate(customer_ids)}
    return found.sort_values("id", key=lambda ids: ids.map(order)).reset_index(drop=True)


def recently_changed_customers(engine: Engine, *, limit: int = 5) -> pd.DataFrame:
    """Columns id, label of the customers whose record changed last (added or edited), newest first."""
    statement = _label_columns().order_by(customers.c.updated_at.desc(), customers.c.id.desc()).limit(limit)
    return _labelled(statement, engine)
