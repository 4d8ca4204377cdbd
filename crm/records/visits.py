"""Recording a visit with its payments: one write, validated, audited in the same transaction.

A visit is a customer coming in (a salon appointment, a walk-in); its payments are the money
taken at that visit. A payment may name the order it settles: that money is already in order
revenue, so the Overview's total takings leave it out (``crm.analytics.overview.takings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import pandas as pd
from sqlalchemy import Connection, Engine, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import PAYMENT_METHODS, customers, orders, utc_now, visit_payments, visits

__all__ = ["PaymentInput", "VisitError", "VisitInput", "customer_orders", "payment_order_problems", "record_visit"]

# Numeric(12, 2): ten digits before the decimal point.
MONEY_LIMIT = Decimal("10000000000")
# Text columns' lengths (crm.schema.visits), checked here so the message names the field.
LOCATION_LENGTH = 120
PURPOSE_LENGTH = 200


class VisitError(ValueError):
    """The visit was not recorded; the message names the field (and payment) that is wrong."""


@dataclass(frozen=True)
class PaymentInput:
    """One payment taken at the visit. ``paid_at`` defaults to the visit's time; ``order_id``: the order it settles."""

    amount: Decimal | str | float
    method: str
    paid_at: datetime | None = None
    order_id: int | None = None


@dataclass(frozen=True)
class VisitInput:
    """A visit as the form (or a script) gives it; times are naive UTC like every stored time."""

    customer_id: int
    visited_at: datetime
    location: str | None = None
    purpose: str | None = None
    notes: str | None = None
    payments: Sequence[PaymentInput] = field(default_factory=tuple)


def _amount(raw: Decimal | str | float, position: int) -> Decimal:
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise VisitError(f"Payment {position}: amount {raw!r} is not a number.") from None
    if not amount.is_finite():
        raise VisitError(f"Payment {position}: amount {raw!r} is not a number.")
    if amount <= 0:
        raise VisitError(f"Payment {position}: amount must be above 0, not {amount}.")
    if amount >= MONEY_LIMIT or amount != amount.quantize(Decimal("0.01")):
        raise VisitError(f"Payment {position}: amount {amount} needs at most 2 decimals and 10 digits.")
    return amount


def _text(value: str | None, label: str, limit: int | None) -> str | None:
    cleaned = (value or "").strip() or None
    if cleaned is not None and limit is not None and len(cleaned) > limit:
        raise VisitError(f"{label} is longer than {limit} characters.")
    return cleaned


def _validated_payments(connection: Connection, visit: VisitInput) -> list[dict[str, object]]:
    rows = []
    for position, payment in enumerate(visit.payments, start=1):
        if payment.method not in PAYMENT_METHODS:
            allowed = ", ".join(PAYMENT_METHODS)
            raise VisitError(f"Payment {position}: method {payment.method!r} is not one of {allowed}.")
        if payment.order_id is not None:
            owner = connection.execute(select(orders.c.customer_id).where(orders.c.id == payment.order_id)).scalar()
            if owner is None:
                raise VisitError(f"Payment {position}: order {payment.order_id} does not exist.")
            if owner != visit.customer_id:
                raise VisitError(f"Payment {position}: order {payment.order_id} belongs to another customer.")
        rows.append(
            {
                "amount": _amount(payment.amount, position),
                "method": payment.method,
                "paid_at": payment.paid_at or visit.visited_at,
                "order_id": payment.order_id,
            }
        )
    return rows


def record_visit(engine: Engine, actor: Actor, visit: VisitInput) -> int:
    """Insert the visit and its payments in one transaction, with an audit row for each; return the visit id.

    Refuses (``VisitError``, nothing written) an unknown customer, a visit in the future, a
    payment of 0 or less, an unknown method, or an order of another customer.
    """
    require(actor, Permission.EDIT_RECORDS)
    now = utc_now()
    if visit.visited_at > now:
        raise VisitError(f"Visited at {visit.visited_at:%Y-%m-%d %H:%M} UTC is in the future.")
    location = _text(visit.location, "Location", LOCATION_LENGTH)
    purpose = _text(visit.purpose, "Purpose", PURPOSE_LENGTH)
    notes = _text(visit.notes, "Notes", None)
    with engine.begin() as connection:
        exists = connection.execute(select(customers.c.id).where(customers.c.id == visit.customer_id)).scalar()
        if exists is None:
            raise VisitError(f"Customer {visit.customer_id} does not exist.")
        payment_rows = _validated_payments(connection, visit)
        values = {
            "customer_id": visit.customer_id,
            "visited_at": visit.visited_at,
            "location": location,
            "purpose": purpose,
            "notes": notes,
            "created_at": now,
            "updated_at": now,
        }
        visit_id = int(connection.execute(visits.insert().values(**values)).inserted_primary_key[0])
        record_audit(connection, actor, "create", "visits", visit_id, after=values)
        for row in payment_rows:
            payment_values = {**row, "visit_id": visit_id, "created_at": now, "updated_at": now}
            payment_id = connection.execute(visit_payments.insert().values(**payment_values)).inserted_primary_key[0]
            record_audit(connection, actor, "create", "visit_payments", payment_id, after=payment_values)
    return visit_id


def customer_orders(engine: Engine, customer_id: int, *, limit: int = 50) -> pd.DataFrame:
    """The customer's latest orders for the "settles order" picker: columns id, label ("SO-1 · 2025-02-14 · 100.00")."""
    statement = (
        select(orders.c.id, orders.c.order_number, orders.c.order_date, orders.c.total, orders.c.status)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.order_date.desc(), orders.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    labels = [
        f"{row.order_number} · {row.order_date:%Y-%m-%d} · {Decimal(row.total):.2f} · {row.status}" for row in rows
    ]
    return pd.DataFrame({"id": [row.id for row in rows], "label": labels})


def payment_order_problems(connection: Connection, merged: dict[str, object]) -> list[str]:
    """A visit payment edited in the grid may only settle an order of the visiting customer."""
    order_id, visit_id = merged.get("order_id"), merged.get("visit_id")
    if order_id is None or visit_id is None:
        return []
    visitor = connection.execute(select(visits.c.customer_id).where(visits.c.id == visit_id)).scalar()
    owner = connection.execute(select(orders.c.customer_id).where(orders.c.id == order_id)).scalar()
    if owner is not None and visitor is not None and owner != visitor:
        return [f"order {order_id} belongs to customer {owner}, not to the visiting customer {visitor}."]
    return []
