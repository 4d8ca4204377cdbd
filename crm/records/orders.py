"""Orders with items: creation with computed totals, batch status changes, stock that follows status.

Totals: subtotal = Σ quantity × unit price; tax = subtotal × tax rate (rounded half-up to the
cent); total = subtotal + tax + shipping − discount (never negative).

Stock follows the order's status, per item, in the order's warehouse:
pending/processing hold the quantity *reserved*; shipped/delivered have it *out* of on hand;
cancelled holds nothing (a reservation is released, shipped goods come back in);
refunded releases any reservation and leaves shipped goods out (a return is a separate
``in`` movement). Each difference between what an order holds and what its status says it
should hold is written as a stock movement linked to the order (``crm.records.inventory``).

Orders loaded without ledger rows of their own (imports, demo data) are taken to hold what
their status says. Their first change starts their own ledger with *opening rows*: an
order-linked row for what they held and a shop-wide counterpart of the opposite sign, so
stock and the ledger's running sums stay unchanged while later changes count from the
order's own rows (otherwise the second change would forget that starting amount).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from crm.audit import record_audit
from crm.dialect import folded_like
from crm.loyalty.ledger import OrderStatusChange, apply_order_status_changes
from crm.permissions import Actor, Permission, require
from crm.records.inventory import StockError, record_movement
from crm.records.listing import search_pattern
from crm.schema import (
    ORDER_STATUSES,
    PAYMENT_METHODS,
    customers,
    order_items,
    orders,
    product_variants,
    products,
    stock_movements,
    utc_now,
    warehouses,
)

__all__ = [
    "DEFAULT_TAX_RATE",
    "NewOrder",
    "OrderError",
    "OrderLine",
    "OrderTotals",
    "create_order",
    "customer_choices",
    "order_totals",
    "product_choices",
    "resync_orders",
    "stock_positions",
    "update_order_status",
    "warehouse_choices",
]

# Default sales tax / VAT rate of new orders (10 %, as in the demo shop); the form can change it.
DEFAULT_TAX_RATE = Decimal("0.10")
CENT = Decimal("0.01")
RESERVING_STATUSES = ("pending", "processing")
SHIPPED_STATUSES = ("shipped", "delivered")

# (product_id, variant_id, warehouse_id) -> [reserved, shipped]
StockKey = tuple[int, int | None, int]
Position = dict[StockKey, list[int]]


class OrderError(ValueError):
    """The order cannot be created or changed; the message says why (one line per problem)."""


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    quantity: int
    # None: the variant's price, or the product's when the variant has none.
    unit_price: Decimal | None = None
    variant_id: int | None = None


@dataclass(frozen=True)
class OrderTotals:
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal
    discount: Decimal
    total: Decimal


@dataclass(frozen=True)
class NewOrder:
    customer_id: int
    lines: tuple[OrderLine, ...]
    warehouse_id: int | None = None
    tax_rate: Decimal = DEFAULT_TAX_RATE
    shipping: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")
    payment_method: str | None = None
    brand_id: int | None = None
    notes: str | None = None
    order_date: datetime | None = None
    status: str = "pending"
    extra: Mapping[str, Any] = field(default_factory=dict)


def _cents(value: Decimal | float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def order_totals(
    lines: Iterable[tuple[int, Decimal | float | str]],
    *,
    tax_rate: Decimal | float | str = DEFAULT_TAX_RATE,
    shipping: Decimal | float | str = 0,
    discount: Decimal | float | str = 0,
) -> OrderTotals:
    """Totals of ``(quantity, unit_price)`` lines; raises ``OrderError`` for negative amounts."""
    subtotal = sum((_cents(price) * int(quantity) for quantity, price in lines), Decimal("0.00"))
    rate = Decimal(str(tax_rate))
    shipping_amount, discount_amount = _cents(shipping), _cents(discount)
    if rate < 0 or shipping_amount < 0 or discount_amount < 0:
        raise OrderError("Tax rate, shipping and discount cannot be negative.")
    tax = _cents(subtotal * rate)
    total = subtotal + tax + shipping_amount - discount_amount
    if total < 0:
        raise OrderError(
            f"The discount ({discount_amount}) is larger than the order ({subtotal + tax + shipping_amount})."
        )
    return OrderTotals(
        subtotal=_cents(subtotal), tax=tax, shipping=shipping_amount, discount=discount_amount, total=_cents(total)
    )


def _prices(
    connection: Connection, lines: Sequence[OrderLine]
) -> dict[tuple[int, int | None], tuple[Decimal, int | None]]:
    """(product, variant) -> (unit price, brand id); missing products are absent."""
    product_ids = {line.product_id for line in lines}
    variant_ids = {line.variant_id for line in lines if line.variant_id is not None}
    product_rows = {
        row.id: row
        for row in connection.execute(
            select(products.c.id, products.c.price, products.c.brand_id, products.c.is_active).where(
                products.c.id.in_(product_ids)
            )
        )
    }
    variant_rows = {
        row.id: row
        for row in connection.execute(
            select(product_variants.c.id, product_variants.c.product_id, product_variants.c.price).where(
                product_variants.c.id.in_(variant_ids or {-1})
            )
        )
    }
    prices: dict[tuple[int, int | None], tuple[Decimal, int | None]] = {}
    for line in lines:
        product = product_rows.get(line.product_id)
        if product is None:
            continue
        price = product.price
        if line.variant_id is not None:
            variant = variant_rows.get(line.variant_id)
            if variant is None or variant.product_id != line.product_id:
                continue
            price = variant.price if variant.price is not None else price
        prices[(line.product_id, line.variant_id)] = (Decimal(price), product.brand_id)
    return prices


def _default_warehouse(connection: Connection) -> int | None:
    return connection.execute(select(func.min(warehouses.c.id))).scalar()


def create_order(engine: Engine, new_order: NewOrder, actor: Actor) -> int:
    """Create a pending order with its items, reserve their stock, and audit it; returns the order id.

    Raises ``OrderError`` (unknown customer/product, bad quantity, not enough stock…).
    """
    require(actor, Permission.EDIT_RECORDS)
    problems: list[str] = []
    if not new_order.lines:
        problems.append("Add at least one item.")
    for number, line in enumerate(new_order.lines, start=1):
        if int(line.quantity) <= 0:
            problems.append(f"Item {number}: quantity must be at least 1.")
        if line.unit_price is not None and Decimal(str(line.unit_price)) < 0:
            problems.append(f"Item {number}: unit price cannot be negative.")
    if new_order.status not in ORDER_STATUSES:
        problems.append(f"Status must be one of {', '.join(ORDER_STATUSES)}.")
    if new_order.payment_method is not None and new_order.payment_method not in PAYMENT_METHODS:
        problems.append(f"Payment method must be one of {', '.join(PAYMENT_METHODS)}.")
    if new_order.notes is not None and "\x00" in new_order.notes:
        # As in grid edits: PostgreSQL cannot store it, SQLite would keep an invisible character.
        problems.append("Notes: contains a NUL character (\\x00), which cannot be stored; remove it.")
    if problems:
        raise OrderError("\n".join(problems))
    try:
        with engine.begin() as connection:
            return _create_order(connection, new_order, actor)
    except StockError as error:
        raise OrderError(str(error)) from None


def _create_order(connection: Connection, new_order: NewOrder, actor: Actor) -> int:
    problems: list[str] = []
    customer = connection.execute(select(customers.c.id).where(customers.c.id == new_order.customer_id)).first()
    if customer is None:
        problems.append(f"Customer {new_order.customer_id} does not exist.")
    prices = _prices(connection, new_order.lines)
    for number, line in enumerate(new_order.lines, start=1):
        if (line.product_id, line.variant_id) not in prices:
            problems.append(
                f"Item {number}: product {line.product_id}"
                f"{'' if line.variant_id is None else f' variant {line.variant_id}'} does not exist."
            )
    warehouse_id = new_order.warehouse_id or _default_warehouse(connection)
    if warehouse_id is None:
        problems.append("Add a warehouse first: orders reserve stock in a warehouse.")
    elif connection.execute(select(warehouses.c.id).where(warehouses.c.id == warehouse_id)).first() is None:
        problems.append(f"Warehouse {warehouse_id} does not exist.")
    if problems:
        raise OrderError("\n".join(problems))
    unit_prices = [
        _cents(line.unit_price) if line.unit_price is not None else prices[(line.product_id, line.variant_id)][0]
        for line in new_order.lines
    ]
    totals = order_totals(
        zip((line.quantity for line in new_order.lines), unit_prices, strict=True),
        tax_rate=new_order.tax_rate,
        shipping=new_order.shipping,
        discount=new_order.discount,
    )
    brand_id = new_order.brand_id
    if brand_id is None:
        brands_of_lines = Counter(prices[(line.product_id, line.variant_id)][1] for line in new_order.lines)
        brand_id = brands_of_lines.most_common(1)[0][0]
    now = utc_now()
    values = {
        "order_number": f"NEW-{uuid.uuid4().hex[:20]}",
        "customer_id": new_order.customer_id,
        "brand_id": brand_id,
        "status": new_order.status,
        "order_date": new_order.order_date or now,
        "subtotal": totals.subtotal,
        "tax": totals.tax,
        "shipping": totals.shipping,
        "discount": totals.discount,
        "total": totals.total,
        "payment_method": new_order.payment_method,
        "warehouse_id": warehouse_id,
        "notes": new_order.notes,
        "created_at": now,
        "updated_at": now,
    }
    order_id = connection.execute(orders.insert().values(**values)).inserted_primary_key[0]
    # The same numbering as the demo data: ORD- and the id, zero-padded.
    values["order_number"] = f"ORD-{order_id:08d}"
    connection.execute(orders.update().where(orders.c.id == order_id).values(order_number=values["order_number"]))
    connection.execute(
        order_items.insert(),
        [
            {
                "order_id": order_id,
                "product_id": line.product_id,
                "variant_id": line.variant_id,
                "quantity": int(line.quantity),
                "unit_price": price,
                "created_at": now,
                "updated_at": now,
            }
            for line, price in zip(new_order.lines, unit_prices, strict=True)
        ],
    )
    # A new order holds nothing yet: reserve (or ship) what its status says.
    _sync_stock(connection, order_id, {}, actor)
    # An order entered as delivered earns its points at once (crm.loyalty.ledger).
    apply_order_status_changes(connection, [OrderStatusChange(order_id, None, new_order.status)], actor)
    record_audit(
        connection,
        actor,
        "create",
        "orders",
        order_id,
        after={
            **values,
            "items": [{"product_id": line.product_id, "quantity": line.quantity} for line in new_order.lines],
        },
    )
    return order_id


def _target(status: str, warehouse_id: int | None, items: Sequence[Any], current: Position) -> Position:
    target: Position = {}
    if warehouse_id is None:
        return target
    for item in items:
        key = (item.product_id, item.variant_id, warehouse_id)
        slot = target.setdefault(key, [0, 0])
        if status in RESERVING_STATUSES:
            slot[0] += int(item.quantity)
        elif status in SHIPPED_STATUSES:
            slot[1] += int(item.quantity)
    if status == "refunded":
        # Goods that went out stay out; nothing stays reserved.
        target = {key: [0, shipped] for key, (_reserved, shipped) in current.items() if shipped}
    return target


def _implied_position(status: str, warehouse_id: int | None, items: Sequence[Any]) -> Position:
    if status == "refunded":
        status = "delivered"  # imported refunded orders had shipped (the demo data counts them out)
    return _target(status, warehouse_id, items, {})


def stock_positions(connection: Connection, order_ids: Iterable[int]) -> dict[int, Position]:
    """What each order holds now: reserved and shipped quantity per (product, variant, warehouse).

    From the order's ledger rows; orders without any are taken to hold what their status says.
    Call it before changing orders or items, and pass the result to ``resync_orders`` after.
    """
    ids = sorted({int(order_id) for order_id in order_ids})
    if not ids:
        return {}
    positions: dict[int, Position] = {order_id: {} for order_id in ids}
    ledger = connection.execute(
        select(
            stock_movements.c.order_id,
            stock_movements.c.product_id,
            stock_movements.c.variant_id,
            stock_movements.c.warehouse_id,
            stock_movements.c.movement_type,
            func.sum(stock_movements.c.quantity).label("quantity"),
        )
        .where(stock_movements.c.order_id.in_(ids))
        .group_by(
            stock_movements.c.order_id,
            stock_movements.c.product_id,
            stock_movements.c.variant_id,
            stock_movements.c.warehouse_id,
            stock_movements.c.movement_type,
        )
    ).all()
    tracked = set()
    for row in ledger:
        tracked.add(row.order_id)
        slot = positions[row.order_id].setdefault((row.product_id, row.variant_id, row.warehouse_id), [0, 0])
        if row.movement_type in ("reserve", "release"):
            slot[0] += int(row.quantity)
        elif row.movement_type in ("out", "in"):
            slot[1] -= int(row.quantity)
    for position in positions.values():
        for slot in position.values():
            # An order cannot hold less than nothing: a negative sum means its first change was
            # saved before opening rows existed, when it gave back exactly what it held then.
            slot[0], slot[1] = max(slot[0], 0), max(slot[1], 0)
    untracked = [order_id for order_id in ids if order_id not in tracked]
    if untracked:
        order_rows = connection.execute(
            select(orders.c.id, orders.c.status, orders.c.warehouse_id).where(orders.c.id.in_(untracked))
        ).all()
        items = _items_by_order(connection, untracked)
        for row in order_rows:
            positions[row.id] = _implied_position(row.status, row.warehouse_id, items.get(row.id, []))
    return positions


def _items_by_order(connection: Connection, order_ids: Sequence[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    rows = connection.execute(
        select(
            order_items.c.order_id,
            order_items.c.product_id,
            order_items.c.variant_id,
            order_items.c.quantity,
            order_items.c.unit_price,
        ).where(order_items.c.order_id.in_(order_ids))
    ).all()
    for row in rows:
        grouped[row.order_id].append(row)
    return grouped


def _sync_stock(connection: Connection, order_id: int, current: Position, actor: Actor) -> None:
    order = connection.execute(
        select(orders.c.id, orders.c.order_number, orders.c.status, orders.c.warehouse_id).where(
            orders.c.id == order_id
        )
    ).first()
    if order is None:  # deleted in this transaction: give back whatever it held
        target: Position = {}
        label = f"Order {order_id}"
    else:
        items = _items_by_order(connection, [order_id]).get(order_id, [])
        target = _target(order.status, order.warehouse_id, items, current)
        label = f"Order {order.order_number}"
    moves: list[tuple[int, str, StockKey, int]] = []
    for key in sorted(set(current) | set(target), key=lambda k: (k[0], k[1] or 0, k[2])):
        have_reserved, have_shipped = current.get(key, [0, 0])
        want_reserved, want_shipped = target.get(key, [0, 0])
        reserved_change, shipped_change = want_reserved - have_reserved, want_shipped - have_shipped
        # Give back first (release, return), then take (ship, reserve), so a ship can use a released reservation.
        if reserved_change < 0:
            moves.append((0, "release", key, reserved_change))
        if shipped_change < 0:
            moves.append((1, "in", key, -shipped_change))
        if shipped_change > 0:
            moves.append((2, "out", key, shipped_change))
        if reserved_change > 0:
            moves.append((3, "reserve", key, reserved_change))
    if moves and order is not None and any(any(slot) for slot in current.values()):
        _open_ledger_if_untracked(connection, order_id, label, current, actor)
    notes = {"release": "released", "in": "returned to stock", "out": "shipped", "reserve": "reserved"}
    for _rank, movement_type, (product_id, variant_id, warehouse_id), quantity in sorted(moves, key=lambda m: m[0]):
        record_movement(
            connection,
            product_id=product_id,
            variant_id=variant_id,
            warehouse_id=warehouse_id,
            movement_type=movement_type,
            quantity=quantity,
            actor=actor,
            order_id=order_id if order is not None else None,
            note=f"{label}: {notes[movement_type]}",
            check_available=movement_type == "reserve",
        )


def _open_ledger_if_untracked(
    connection: Connection, order_id: int, label: str, current: Position, actor: Actor
) -> None:
    """Give an order without ledger rows its opening rows (what it held), leaving stock as it is.

    Each order-linked row has a shop-wide counterpart of the opposite sign, so on hand and
    reserved, which are the running sums of the ledger, do not move.
    """
    has_rows = connection.execute(
        select(stock_movements.c.id).where(stock_movements.c.order_id == order_id).limit(1)
    ).first()
    if has_rows is not None:
        return
    now = utc_now()
    rows: list[dict[str, Any]] = []
    for (product_id, variant_id, warehouse_id), (reserved, shipped) in sorted(
        current.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2])
    ):
        for held, linked_type, counterpart_type, sign in (
            (reserved, "reserve", "release", 1),
            (shipped, "out", "in", -1),
        ):
            if not held:
                continue
            common = {
                "product_id": product_id,
                "variant_id": variant_id,
                "warehouse_id": warehouse_id,
                "created_by": actor.user_id,
                "created_at": now,
            }
            rows.append(
                common
                | {
                    "movement_type": linked_type,
                    "quantity": sign * held,
                    "order_id": order_id,
                    "note": f"{label}: opening position, held before per-order tracking (stock unchanged)",
                }
            )
            rows.append(
                common
                | {
                    "movement_type": counterpart_type,
                    "quantity": -sign * held,
                    "order_id": None,
                    "note": f"{label}: opening position moved onto the order's own rows (stock unchanged)",
                }
            )
    if rows:
        connection.execute(stock_movements.insert(), rows)


def resync_orders(
    connection: Connection,
    positions: Mapping[int, Position],
    actor: Actor,
    *,
    items_changed: bool,
) -> None:
    """Bring totals and stock of the orders in ``positions`` (from ``stock_positions``) up to date.

    ``items_changed``: the items were edited, so the subtotal is recomputed, the tax keeps its
    rate, and the order's version moves on (open order grids then see a conflict).
    Raises ``OrderError`` when a total would go negative and ``StockError`` when stock is short.
    """
    for order_id, current in positions.items():
        _sync_stock(connection, order_id, current, actor)
        order = connection.execute(select(orders).where(orders.c.id == order_id)).first()
        if order is None:
            continue
        items = _items_by_order(connection, [order_id]).get(order_id, [])
        subtotal = _cents(sum((Decimal(item.unit_price) * int(item.quantity) for item in items), Decimal("0")))
        tax = Decimal(order.tax)
        if items_changed and subtotal != Decimal(order.subtotal):
            old_subtotal = Decimal(order.subtotal)
            rate = tax / old_subtotal if old_subtotal > 0 else DEFAULT_TAX_RATE
            tax = _cents(subtotal * rate)
        total = subtotal + tax + Decimal(order.shipping) - Decimal(order.discount)
        if total < 0:
            raise OrderError(f"Order {order.order_number}: the discount is larger than the order.")
        totals = {"subtotal": subtotal, "tax": tax, "total": _cents(total)}
        before = {name: _cents(order._mapping[name]) for name in totals}
        changed = {name: value for name, value in totals.items() if value != before[name]}
        values: dict[str, Any] = dict(totals)
        if items_changed:
            values |= {"version": orders.c.version + 1, "updated_at": utc_now()}
        if changed or items_changed:
            connection.execute(orders.update().where(orders.c.id == order_id).values(**values))
        if changed:
            # Recomputed totals are a change of the order like any other: the audit log says from what to what.
            record_audit(
                connection,
                actor,
                "update",
                "orders",
                order_id,
                before={name: before[name] for name in changed},
                after=changed,
            )


@dataclass(frozen=True)
class StatusChange:
    updated: tuple[int, ...]
    unchanged: tuple[int, ...]


def update_order_status(
    engine: Engine,
    order_ids: Sequence[int] | Mapping[int, int],
    status: str,
    actor: Actor,
) -> StatusChange:
    """Set ``status`` on several orders in one transaction; stock follows, each change is audited.

    ``order_ids`` may map id -> the version the user saw: an order changed meanwhile is refused
    (nothing is saved). Raises ``OrderError`` listing every problem.
    """
    require(actor, Permission.EDIT_RECORDS)
    if status not in ORDER_STATUSES:
        raise OrderError(f"Status must be one of {', '.join(ORDER_STATUSES)}.")
    seen = dict(order_ids) if isinstance(order_ids, Mapping) else {}
    ids = sorted({int(order_id) for order_id in order_ids})
    if not ids:
        raise OrderError("Select at least one order.")
    try:
        with engine.begin() as connection:
            rows = {
                row.id: row
                for row in connection.execute(
                    select(orders.c.id, orders.c.order_number, orders.c.status, orders.c.version).where(
                        orders.c.id.in_(ids)
                    )
                )
            }
            problems = [
                f"Order {order_id} does not exist (deleted meanwhile?)." for order_id in ids if order_id not in rows
            ]
            problems += [
                f"Order {rows[order_id].order_number} was changed by someone else since you loaded it: "
                "reload and retry."
                for order_id, version in seen.items()
                if order_id in rows and version is not None and int(version) != rows[order_id].version
            ]
            if problems:
                raise OrderError("\n".join(problems))
            changing = [order_id for order_id in ids if rows[order_id].status != status]
            positions = stock_positions(connection, changing)
            now = utc_now()
            for order_id in changing:
                connection.execute(
                    orders.update()
                    .where(orders.c.id == order_id)
                    .values(status=status, version=orders.c.version + 1, updated_at=now)
                )
                record_audit(
                    connection,
                    actor,
                    "update",
                    "orders",
                    order_id,
                    before={"status": rows[order_id].status},
                    after={"status": status},
                )
            resync_orders(connection, positions, actor, items_changed=False)
            apply_order_status_changes(
                connection,
                [OrderStatusChange(order_id, rows[order_id].status, status) for order_id in changing],
                actor,
            )
    except StockError as error:
        raise OrderError(str(error)) from None
    return StatusChange(updated=tuple(changing), unchanged=tuple(i for i in ids if i not in changing))


def customer_choices(engine: Engine, search: str = "", *, limit: int = 20) -> pd.DataFrame:
    """Customers for a picker: columns id, label ("Alice Kim · alice@example.com"), by search text."""
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    statement = (
        select(customers.c.id, name.label("name"), customers.c.email, customers.c.company)
        .order_by(customers.c.id.desc())
        .limit(limit)
    )
    if search.strip():
        pattern = search_pattern(search)
        statement = statement.where(
            folded_like(name, pattern)
            | folded_like(customers.c.email, pattern)
            | folded_like(customers.c.company, pattern)
            | folded_like(customers.c.phone, pattern)
        )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    labels = [" · ".join(part for part in (row.name or row.company or f"#{row.id}", row.email) if part) for row in rows]
    return pd.DataFrame({"id": [row.id for row in rows], "label": labels})


def product_choices(engine: Engine, search: str = "", *, limit: int = 50) -> pd.DataFrame:
    """Active products for the order form: columns id, sku, name, price (float), label."""
    statement = (
        select(products.c.id, products.c.sku, products.c.name, products.c.price)
        .where(products.c.is_active.is_(True))
        .order_by(products.c.name, products.c.id)
        .limit(limit)
    )
    if search.strip():
        pattern = search_pattern(search)
        statement = statement.where(folded_like(products.c.name, pattern) | folded_like(products.c.sku, pattern))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame(rows, columns=["id", "sku", "name", "price"])
    frame["price"] = frame["price"].map(float)
    frame["label"] = frame["name"] + " (" + frame["sku"] + ") · " + frame["price"].map("{:.2f}".format)
    return frame


def warehouse_choices(engine: Engine) -> pd.DataFrame:
    """Warehouses for a picker: columns id, code, name."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(warehouses.c.id, warehouses.c.code, warehouses.c.name).order_by(warehouses.c.code)
        ).all()
    return pd.DataFrame(rows, columns=["id", "code", "name"])
