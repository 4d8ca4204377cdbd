"""Entity-specific rules that run inside ``apply_edits``' transaction.

Most entities need none. Customers keep their duplicate-detection keys current; products
write price history; inventory edits and stock movements keep ledger and levels in step;
order and item edits recompute order totals and move stock with the order's status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from crm.contacts import email_key, phone_key
from crm.loyalty.ledger import Entry, OrderStatusChange, apply_order_status_changes, book
from crm.permissions import Actor, Permission, allowed
from crm.records.orders import resync_orders, stock_positions
from crm.records.relationships import InteractionHooksMixin
from crm.records.visits import payment_order_problems
from crm.schema import (
    inventory,
    order_items,
    orders,
    price_history,
    product_variants,
    products,
    stock_movements,
    transactions,
    utc_now,
    visit_payments,
)
from crm.service.numbering import next_ticket_number
from crm.vocabulary import SOURCE_ALIASES, stored_sources, to_code

__all__ = ["EntityHooks", "Plan", "hooks_for"]


@dataclass
class Plan:
    """The validated changes of one save: (id, values) updates, values inserts, ids deletes."""

    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)


class EntityHooks:
    """No-op defaults; each method runs in the save's transaction and may raise ``ValueError``."""

    def prepare(self, connection: Connection, plan: Plan) -> Any:
        return None

    def normalize(
        self, connection: Connection, values: dict[str, Any], before: dict[str, Any] | None, actor: Actor
    ) -> dict[str, Any]:
        """Extra columns to write along with ``values`` (computed keys, stamps)."""
        return {}

    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        """Problems with the row as it would be after the change (``merged``: before + values)."""
        return []

    def before_delete(self, connection: Connection, before: dict[str, Any]) -> list[str]:
        return []

    def after_insert(self, connection: Connection, new_id: int, values: dict[str, Any], actor: Actor) -> None:
        return None

    def after_update(
        self, connection: Connection, record_id: int, before: dict[str, Any], values: dict[str, Any], actor: Actor
    ) -> None:
        return None

    def finish(self, connection: Connection, context: Any, actor: Actor) -> None:
        return None


class CustomerHooks(EntityHooks):
    def normalize(
        self, connection: Connection, values: dict[str, Any], before: dict[str, Any] | None, actor: Actor
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if "email" in values:
            extra["email_normalized"] = email_key(values["email"])
        if "phone" in values:
            extra["phone_normalized"] = phone_key(values["phone"])
        if values.get("source"):
            # One vocabulary: "Social Media" typed in a grid is the stored code social_media.
            extra["source"] = to_code(values["source"], stored_sources(connection), SOURCE_ALIASES)
        return extra

    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        identifying = ("first_name", "last_name", "company", "email", "phone")
        if not any(merged.get(name) for name in identifying):
            return ["a customer needs at least a name, company, email or phone."]
        return []

    # loyalty_points is the running sum of loyalty_ledger: a typed-in balance is booked as an adjustment,
    # which only managers make (crm.loyalty: Permission.MANAGE_LOYALTY).
    def after_insert(self, connection: Connection, new_id: int, values: dict[str, Any], actor: Actor) -> None:
        if values.get("loyalty_points"):
            _may_adjust_points(actor)
            entry = Entry(new_id, int(values["loyalty_points"]), "opening", f"Opening balance set by {actor.username}")
            book(connection, [entry], actor, balances_written=True, audit=False)

    def after_update(
        self, connection: Connection, record_id: int, before: dict[str, Any], values: dict[str, Any], actor: Actor
    ) -> None:
        if "loyalty_points" in values:
            change = int(values["loyalty_points"]) - int(before["loyalty_points"] or 0)
            if change:
                _may_adjust_points(actor)
                entry = Entry(record_id, change, "adjustment", f"Manual adjustment by {actor.username}")
                book(connection, [entry], actor, balances_written=True, audit=False)


def _may_adjust_points(actor: Actor) -> None:
    if not allowed(actor.role, Permission.MANAGE_LOYALTY):
        raise ValueError(
            f"Loyalty points: your role ({actor.role}) may not adjust points; redeem them in Customer 360's "
            "Loyalty section, or ask a manager."
        )


class ProductHooks(EntityHooks):
    def after_insert(self, connection: Connection, new_id: int, values: dict[str, Any], actor: Actor) -> None:
        _write_price(connection, new_id, None, values["price"], actor)

    def after_update(
        self, connection: Connection, record_id: int, before: dict[str, Any], values: dict[str, Any], actor: Actor
    ) -> None:
        if "price" in values and Decimal(values["price"]) != Decimal(before["price"]):
            _write_price(connection, record_id, before["price"], values["price"], actor)


def _write_price(connection: Connection, product_id: int, old: Any, new: Any, actor: Actor) -> None:
    connection.execute(
        price_history.insert().values(
            product_id=product_id, old_price=old, new_price=new, changed_by=actor.user_id, changed_at=utc_now()
        )
    )


class InventoryHooks(EntityHooks):
    """On-hand edits are stock counts: the difference goes into the ledger as a ``count`` movement."""

    def normalize(
        self, connection: Connection, values: dict[str, Any], before: dict[str, Any] | None, actor: Actor
    ) -> dict[str, Any]:
        return {"reserved": 0} if before is None else {}

    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        problems = []
        on_hand, reserved = merged.get("on_hand"), merged.get("reserved") or 0
        if on_hand is not None and int(on_hand) < int(reserved):
            problems.append(
                f"on hand {on_hand} is below the {reserved} reserved for open orders; "
                "ship or cancel those orders first."
            )
        if merged.get("id") is None and merged.get("product_id") is not None and merged.get("warehouse_id") is not None:
            variant_id = merged.get("variant_id")
            twin = connection.execute(
                select(inventory.c.id).where(
                    inventory.c.product_id == merged["product_id"],
                    inventory.c.warehouse_id == merged["warehouse_id"],
                    inventory.c.variant_id.is_(None) if variant_id is None else inventory.c.variant_id == variant_id,
                )
            ).scalar()
            if twin is not None:
                problems.append(
                    f"product {merged['product_id']} already has an inventory row in that warehouse (id {twin}): "
                    "edit that row instead."
                )
        return problems

    def after_insert(self, connection: Connection, new_id: int, values: dict[str, Any], actor: Actor) -> None:
        if values.get("on_hand"):
            _count_movement(connection, values, int(values["on_hand"]), actor, "Opening count")

    def after_update(
        self, connection: Connection, record_id: int, before: dict[str, Any], values: dict[str, Any], actor: Actor
    ) -> None:
        merged = before | values
        if {"product_id", "variant_id", "warehouse_id"} & set(values) and any(
            merged[key] != before[key] for key in ("product_id", "variant_id", "warehouse_id")
        ):
            raise ValueError("Product, variant and warehouse of an inventory row cannot change: add a new row.")
        if "on_hand" in values and int(values["on_hand"]) != int(before["on_hand"]):
            change = int(values["on_hand"]) - int(before["on_hand"])
            _count_movement(connection, merged, change, actor, "Stock count")


def _count_movement(connection: Connection, row: dict[str, Any], quantity: int, actor: Actor, note: str) -> None:
    connection.execute(
        stock_movements.insert().values(
            product_id=row["product_id"],
            variant_id=row.get("variant_id"),
            warehouse_id=row["warehouse_id"],
            movement_type="count",
            quantity=quantity,
            note=note,
            created_by=actor.user_id,
            created_at=utc_now(),
        )
    )


class OrderHooks(EntityHooks):
    """Orders edited in the grid: totals recomputed, stock moved when status or warehouse changes."""

    def prepare(self, connection: Connection, plan: Plan) -> Any:
        order_ids = [record_id for record_id, _values in plan.updates]
        statuses = dict(
            connection.execute(select(orders.c.id, orders.c.status).where(orders.c.id.in_(order_ids))).all()
        )
        return stock_positions(connection, order_ids), statuses

    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        problems = []
        total = (
            Decimal(str(merged.get("subtotal") or 0))
            + Decimal(str(merged.get("tax") or 0))
            + Decimal(str(merged.get("shipping") or 0))
            - Decimal(str(merged.get("discount") or 0))
        )
        if total < 0:
            problems.append("the discount is larger than subtotal + tax + shipping.")
        problems += _customer_change_problems(connection, merged)
        return problems

    def before_delete(self, connection: Connection, before: dict[str, Any]) -> list[str]:
        if before["status"] != "cancelled":
            return [f"only cancelled orders can be deleted (this one is {before['status']}); cancel it first."]
        return []

    def finish(self, connection: Connection, context: Any, actor: Actor) -> None:
        positions, statuses_before = context
        resync_orders(connection, positions, actor, items_changed=False)
        # Points follow the status once totals are final: delivered earns, cancelled/refunded reverses.
        statuses_after = dict(
            connection.execute(select(orders.c.id, orders.c.status).where(orders.c.id.in_(list(statuses_before)))).all()
        )
        apply_order_status_changes(
            connection,
            [
                OrderStatusChange(order_id, before, statuses_after[order_id])
                for order_id, before in statuses_before.items()
                if order_id in statuses_after and statuses_after[order_id] != before
            ],
            actor,
        )


# Transactions named in a refusal at most (enough to find them in the Transactions grid).
SHOWN_TRANSACTIONS = 5


def _customer_change_problems(connection: Connection, merged: dict[str, Any]) -> list[str]:
    """A paid order keeps its customer: its transactions would stay with the old one."""
    order_id = merged.get("id")
    if order_id is None:
        return []
    stored = connection.execute(select(orders.c.customer_id).where(orders.c.id == order_id)).scalar()
    if stored is None or stored == merged.get("customer_id"):
        return []
    numbers = list(
        connection.execute(
            select(transactions.c.transaction_number)
            .where(transactions.c.order_id == order_id)
            .order_by(transactions.c.id)
            .limit(SHOWN_TRANSACTIONS + 1)
        ).scalars()
    )
    if not numbers:
        return []
    listed = ", ".join(numbers[:SHOWN_TRANSACTIONS]) + (" and more" if len(numbers) > SHOWN_TRANSACTIONS else "")
    return [
        f"the customer cannot change from {stored} to {merged.get('customer_id')}: the order's transactions "
        f"({listed}) belong to customer {stored}. Create the order for the other customer instead, "
        "or first clear the order id of those transactions."
    ]


class OrderItemHooks(EntityHooks):
    """Item edits recompute their order's totals and move its stock."""

    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        problems = []
        quantity = merged.get("quantity")
        if quantity is not None and int(quantity) < 1:
            problems.append("quantity must be at least 1.")
        variant_id = merged.get("variant_id")
        if variant_id is not None:
            owner = connection.execute(
                select(product_variants.c.product_id).where(product_variants.c.id == variant_id)
            ).scalar()
            if owner is not None and owner != merged.get("product_id"):
                problems.append(f"variant {variant_id} belongs to product {owner}, not {merged.get('product_id')}.")
        return problems

    def prepare(self, connection: Connection, plan: Plan) -> Any:
        order_ids = {values["order_id"] for values in plan.inserts}
        order_ids |= {values["order_id"] for _id, values in plan.updates if values.get("order_id")}
        existing = [record_id for record_id, _values in plan.updates] + list(plan.deletes)
        if existing:
            order_ids |= set(
                connection.execute(select(order_items.c.order_id).where(order_items.c.id.in_(existing))).scalars()
            )
        return stock_positions(connection, order_ids)

    def normalize(
        self, connection: Connection, values: dict[str, Any], before: dict[str, Any] | None, actor: Actor
    ) -> dict[str, Any]:
        if before is None and values.get("unit_price") is None:
            return {"unit_price": _current_price(connection, values["product_id"], values.get("variant_id"))}
        return {}

    def finish(self, connection: Connection, context: Any, actor: Actor) -> None:
        resync_orders(connection, context, actor, items_changed=True)


class TransactionHooks(EntityHooks):
    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        order_id = merged.get("order_id")
        if order_id is None:
            return []
        owner = connection.execute(select(orders.c.customer_id).where(orders.c.id == order_id)).scalar()
        if owner is not None and owner != merged.get("customer_id"):
            return [f"order {order_id} belongs to customer {owner}, not to customer {merged.get('customer_id')}."]
        return []


# Payments named in a refusal at most.
SHOWN_PAYMENTS = 5


class VisitHooks(EntityHooks):
    """A visit with payments is not deleted: the payments (money received) would silently go with it."""

    def before_delete(self, connection: Connection, before: dict[str, Any]) -> list[str]:
        payments = connection.execute(
            select(visit_payments.c.id, visit_payments.c.amount, visit_payments.c.method, visit_payments.c.paid_at)
            .where(visit_payments.c.visit_id == before["id"])
            .order_by(visit_payments.c.paid_at, visit_payments.c.id)
            .limit(SHOWN_PAYMENTS + 1)
        ).all()
        if not payments:
            return []
        listed = "; ".join(
            f"id {payment.id}: {Decimal(payment.amount):.2f} {payment.method} on {payment.paid_at:%Y-%m-%d}"
            for payment in payments[:SHOWN_PAYMENTS]
        ) + ("; and more" if len(payments) > SHOWN_PAYMENTS else "")
        return [
            f"the visit has payments ({listed}); it was not deleted. Delete those payments in the Visit payments "
            "tab first if they really were entered by mistake."
        ]


class TicketHooks(EntityHooks):
    """Ticket numbers CS + local YYYYMMDD + the day's 4-digit sequence (crm.service.numbering).

    Status, priority, category, assignee, stamps and satisfaction are not editable in the grid: they
    change on the Service desk page (crm.service.tickets), which keeps the conversation's record.
    """

    def normalize(
        self, connection: Connection, values: dict[str, Any], before: dict[str, Any] | None, actor: Actor
    ) -> dict[str, Any]:
        if before is not None:
            return {}
        # The app's local day and the day's sequence, race-free across app servers.
        return {"ticket_number": next_ticket_number(connection, utc_now())}


class VisitPaymentHooks(EntityHooks):
    """A payment settles only an order of the visiting customer (else total takings would drop another's sale)."""

    def validate(self, connection: Connection, merged: dict[str, Any]) -> list[str]:
        return payment_order_problems(connection, merged)


class InteractionHooks(InteractionHooksMixin, EntityHooks):
    """New interactions are owned by the user saving them; completed ones move the customer's last contact."""


def _current_price(connection: Connection, product_id: int, variant_id: int | None) -> Decimal:
    if variant_id is not None:
        price = connection.execute(select(product_variants.c.price).where(product_variants.c.id == variant_id)).scalar()
        if price is not None:
            return Decimal(price)
    return Decimal(connection.execute(select(products.c.price).where(products.c.id == product_id)).scalar_one())


_HOOKS: dict[str, EntityHooks] = {
    "customers": CustomerHooks(),
    "products": ProductHooks(),
    "inventory": InventoryHooks(),
    "orders": OrderHooks(),
    "order_items": OrderItemHooks(),
    "transactions": TransactionHooks(),
    "tickets": TicketHooks(),
    "visits": VisitHooks(),
    "interactions": InteractionHooks(),
    "visit_payments": VisitPaymentHooks(),
}
_NONE = EntityHooks()


def hooks_for(entity: str) -> EntityHooks:
    return _HOOKS.get(entity, _NONE)
