"""Stock: the movement ledger, inventory levels per warehouse, and low/out-of-stock alerts.

Ledger conventions (``stock_movements.quantity`` is signed, as the demo data writes it):
``in`` adds to on hand, ``out`` is stored negative and takes from on hand, ``adjust`` and
``count`` carry their own sign; ``reserve`` adds to reserved, ``release`` is stored negative.
``inventory.on_hand`` / ``reserved`` are kept equal to those running sums by
``record_movement``, the one function that writes movements. Available = on hand − reserved.
Low stock: 0 < available ≤ reorder level. Out of stock: available ≤ 0.
Goods reserved for open orders stay on hand: a movement may not take on hand below reserved.

People add movements with ``add_stock_movement`` (received, removed, corrected, counted);
reservations and their releases are written by orders only (``crm.records.orders``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, and_, case, func, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import inventory, product_variants, products, stock_movements, utc_now, warehouses

__all__ = [
    "MANUAL_MOVEMENTS",
    "ON_HAND_MOVEMENTS",
    "RESERVED_MOVEMENTS",
    "NewMovement",
    "StockAlertCounts",
    "StockAlerts",
    "StockError",
    "add_stock_movement",
    "alert_counts",
    "apply_to_inventory",
    "record_movement",
    "signed_quantity",
    "stock_alerts",
    "variant_choices",
    "warehouse_summary",
]

ON_HAND_MOVEMENTS = ("in", "out", "adjust", "count")
RESERVED_MOVEMENTS = ("reserve", "release")
# What a person records by hand, with what the quantity means; reservations follow orders.
MANUAL_MOVEMENTS = {
    "in": "Received: how many came in",
    "out": "Removed: how many went out (breakage, samples…)",
    "adjust": "Correction: + or − the difference",
    "count": "Stock count: how many were counted (the difference is recorded)",
}
# Stock alerts listed at most at once (the counts above the table cover every row).
ALERT_LIMIT = 500


class StockError(ValueError):
    """A stock movement cannot be recorded (not enough stock, bad input); the message says why."""


@dataclass(frozen=True)
class NewMovement:
    """A movement typed in by a person; ``quantity`` as ``MANUAL_MOVEMENTS`` describes it."""

    product_id: int
    warehouse_id: int
    movement_type: str
    quantity: int
    variant_id: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class StockAlerts:
    """Low and out-of-stock rows (at most ``limit``, most urgent first) and how many there are in all."""

    rows: pd.DataFrame
    total: int
    limit: int

    @property
    def complete(self) -> bool:
        return self.total <= len(self.rows)


@dataclass(frozen=True)
class StockAlertCounts:
    items: int
    low_stock: int
    out_of_stock: int


def signed_quantity(movement_type: str, quantity: int) -> int:
    """The ledger sign of a movement: out/release negative, in/reserve positive, others as given."""
    if movement_type in ("out", "release"):
        return -abs(int(quantity))
    if movement_type in ("in", "reserve"):
        return abs(int(quantity))
    return int(quantity)


def _item_label(connection: Connection, product_id: int, warehouse_id: int) -> str:
    product = connection.execute(select(products.c.name, products.c.sku).where(products.c.id == product_id)).first()
    code = connection.execute(select(warehouses.c.code).where(warehouses.c.id == warehouse_id)).scalar()
    name = f"{product.name} ({product.sku})" if product else f"product {product_id}"
    return f"{name} in {code or f'warehouse {warehouse_id}'}"


def apply_to_inventory(
    connection: Connection,
    *,
    product_id: int,
    variant_id: int | None,
    warehouse_id: int,
    movement_type: str,
    quantity: int,
    check_available: bool = False,
) -> None:
    """Add a signed movement to the matching inventory row (created at zero when missing).

    Raises ``StockError`` when on hand would go below zero, or, with ``check_available``, when
    a reservation exceeds what is available. Releases floor reserved at zero: rows counted
    before per-order tracking may hold less than an old order's quantity.
    """
    variant_clause = inventory.c.variant_id.is_(None) if variant_id is None else inventory.c.variant_id == variant_id
    where = and_(inventory.c.product_id == product_id, inventory.c.warehouse_id == warehouse_id, variant_clause)
    statement = select(inventory.c.id, inventory.c.on_hand, inventory.c.reserved).where(where).order_by(inventory.c.id)
    if connection.dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = connection.execute(statement).first()
    if row is None:
        now = utc_now()
        inventory_id = connection.execute(
            inventory.insert().values(
                product_id=product_id,
                variant_id=variant_id,
                warehouse_id=warehouse_id,
                on_hand=0,
                reserved=0,
                reorder_level=0,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        on_hand, reserved = 0, 0
    else:
        inventory_id, on_hand, reserved = row.id, row.on_hand, row.reserved
    if movement_type in ON_HAND_MOVEMENTS:
        new_on_hand, new_reserved = on_hand + quantity, reserved
        if new_on_hand < 0:
            raise StockError(
                f"Not enough stock of {_item_label(connection, product_id, warehouse_id)}: "
                f"{on_hand} on hand, {-quantity} needed."
            )
        if quantity < 0 and new_on_hand < reserved:
            raise StockError(
                f"Not enough free stock of {_item_label(connection, product_id, warehouse_id)}: {on_hand} on hand, "
                f"{reserved} of them reserved for open orders, {-quantity} needed. Ship or cancel those orders first."
            )
    elif movement_type in RESERVED_MOVEMENTS:
        available = on_hand - reserved
        if quantity > 0 and check_available and available < quantity:
            raise StockError(
                f"Only {max(available, 0)} of {_item_label(connection, product_id, warehouse_id)} available, "
                f"{quantity} needed."
            )
        new_on_hand, new_reserved = on_hand, max(reserved + quantity, 0)
    else:
        raise StockError(f"Unknown movement type {movement_type!r}.")
    connection.execute(
        inventory.update()
        .where(inventory.c.id == inventory_id)
        .values(on_hand=new_on_hand, reserved=new_reserved, version=inventory.c.version + 1, updated_at=utc_now())
    )


def record_movement(
    connection: Connection,
    *,
    product_id: int,
    warehouse_id: int,
    movement_type: str,
    quantity: int,
    actor: Actor | None = None,
    variant_id: int | None = None,
    order_id: int | None = None,
    note: str | None = None,
    check_available: bool = False,
) -> int:
    """Write one ledger row and apply it to inventory, in the caller's transaction; returns its id."""
    signed = signed_quantity(movement_type, quantity)
    if signed == 0:
        raise StockError("A stock movement needs a quantity other than zero.")
    apply_to_inventory(
        connection,
        product_id=product_id,
        variant_id=variant_id,
        warehouse_id=warehouse_id,
        movement_type=movement_type,
        quantity=signed,
        check_available=check_available,
    )
    return connection.execute(
        stock_movements.insert().values(
            product_id=product_id,
            variant_id=variant_id,
            warehouse_id=warehouse_id,
            movement_type=movement_type,
            quantity=signed,
            order_id=order_id,
            note=note,
            created_by=None if actor is None else actor.user_id,
            created_at=utc_now(),
        )
    ).inserted_primary_key[0]


def _available() -> ColumnElement[int]:
    return inventory.c.on_hand - inventory.c.reserved


def _alert() -> ColumnElement[str]:
    available = _available()
    return case(
        (available <= 0, "out of stock"),
        (available <= inventory.c.reorder_level, "low stock"),
        else_="ok",
    )


def stock_alerts(engine: Engine, warehouse_codes: tuple[str, ...] = (), *, limit: int = ALERT_LIMIT) -> StockAlerts:
    """Inventory rows that are out of stock or low, most urgent first, at most ``limit`` of them.

    ``rows`` columns: sku, product, warehouse, on_hand, reserved, available, reorder_level, alert
    ("out of stock" when available ≤ 0, "low stock" when available ≤ reorder level);
    ``total`` counts every such row, so a cut-off list can say so.
    """
    available = _available()
    count = (
        select(func.count())
        .select_from(inventory.join(warehouses, warehouses.c.id == inventory.c.warehouse_id))
        .where(available <= inventory.c.reorder_level)
    )
    statement = (
        select(
            products.c.sku,
            products.c.name.label("product"),
            warehouses.c.code.label("warehouse"),
            inventory.c.on_hand,
            inventory.c.reserved,
            available.label("available"),
            inventory.c.reorder_level,
            _alert().label("alert"),
        )
        .select_from(inventory.join(products, products.c.id == inventory.c.product_id))
        .join(warehouses, warehouses.c.id == inventory.c.warehouse_id)
        .where(available <= inventory.c.reorder_level)
        .order_by(available.asc(), (available - inventory.c.reorder_level).asc(), inventory.c.id)
        .limit(limit)
    )
    if warehouse_codes:
        statement = statement.where(warehouses.c.code.in_(warehouse_codes))
        count = count.where(warehouses.c.code.in_(warehouse_codes))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
        total = int(connection.execute(count).scalar_one())
    frame = pd.DataFrame(
        rows, columns=["sku", "product", "warehouse", "on_hand", "reserved", "available", "reorder_level", "alert"]
    )
    return StockAlerts(rows=frame, total=total, limit=limit)


def alert_counts(engine: Engine, warehouse_codes: tuple[str, ...] = ()) -> StockAlertCounts:
    """How many inventory rows there are, how many are low and how many are out of stock."""
    available = _available()
    statement = select(
        func.count(),
        func.coalesce(func.sum(case((and_(available > 0, available <= inventory.c.reorder_level), 1), else_=0)), 0),
        func.coalesce(func.sum(case((available <= 0, 1), else_=0)), 0),
    ).select_from(inventory.join(warehouses, warehouses.c.id == inventory.c.warehouse_id))
    if warehouse_codes:
        statement = statement.where(warehouses.c.code.in_(warehouse_codes))
    with engine.connect() as connection:
        items, low, out = connection.execute(statement).one()
    return StockAlertCounts(items=int(items), low_stock=int(low), out_of_stock=int(out))


def variant_choices(engine: Engine, product_id: int) -> pd.DataFrame:
    """The variants of one product for a picker: columns id, label ("SKU · color · size")."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(product_variants.c.id, product_variants.c.sku, product_variants.c.color, product_variants.c.size)
            .where(product_variants.c.product_id == int(product_id))
            .order_by(product_variants.c.sku)
        ).all()
    labels = [" · ".join(part for part in (row.sku, row.color, row.size) if part) for row in rows]
    return pd.DataFrame({"id": [row.id for row in rows], "label": labels})


def _movement_problems(connection: Connection, movement: NewMovement) -> list[str]:
    problems = []
    if movement.movement_type not in MANUAL_MOVEMENTS:
        problems.append(
            f"Type must be one of {', '.join(MANUAL_MOVEMENTS)}; reservations follow the orders that hold them."
        )
    quantity = int(movement.quantity)
    if movement.movement_type in ("in", "out") and quantity <= 0:
        problems.append(f"Quantity: {quantity} — enter how many items, at least 1.")
    if movement.movement_type == "adjust" and quantity == 0:
        problems.append("Quantity: a correction of 0 changes nothing.")
    if movement.movement_type == "count" and quantity < 0:
        problems.append(f"Quantity: {quantity} — a count is 0 or more.")
    if movement.note is not None and len(movement.note) > stock_movements.c.note.type.length:
        problems.append(f"Note: at most {stock_movements.c.note.type.length} characters fit.")
    if connection.execute(select(products.c.id).where(products.c.id == movement.product_id)).first() is None:
        problems.append(f"Product {movement.product_id} does not exist.")
    if connection.execute(select(warehouses.c.id).where(warehouses.c.id == movement.warehouse_id)).first() is None:
        problems.append(f"Warehouse {movement.warehouse_id} does not exist.")
    if movement.variant_id is not None:
        owner = connection.execute(
            select(product_variants.c.product_id).where(product_variants.c.id == movement.variant_id)
        ).scalar()
        if owner != movement.product_id:
            problems.append(f"Variant {movement.variant_id} is not a variant of product {movement.product_id}.")
    return problems


def add_stock_movement(engine: Engine, movement: NewMovement, actor: Actor) -> int:
    """Record one movement typed in by a person, apply it to inventory and audit it; returns its id.

    A ``count`` is the quantity counted: the ledger gets the difference to on hand (refused when
    there is none). Raises ``StockError`` with every problem (one per line), writing nothing.
    """
    require(actor, Permission.EDIT_RECORDS)
    with engine.begin() as connection:
        problems = _movement_problems(connection, movement)
        if problems:
            raise StockError("\n".join(problems))
        quantity = int(movement.quantity)
        if movement.movement_type == "count":
            variant = movement.variant_id
            on_hand = connection.execute(
                select(inventory.c.on_hand).where(
                    inventory.c.product_id == movement.product_id,
                    inventory.c.warehouse_id == movement.warehouse_id,
                    inventory.c.variant_id.is_(None) if variant is None else inventory.c.variant_id == variant,
                )
            ).scalar()
            quantity -= int(on_hand or 0)
            if quantity == 0:
                raise StockError(f"The count matches what is on hand ({movement.quantity}): nothing to record.")
        movement_id = record_movement(
            connection,
            product_id=movement.product_id,
            variant_id=movement.variant_id,
            warehouse_id=movement.warehouse_id,
            movement_type=movement.movement_type,
            quantity=quantity,
            actor=actor,
            note=(movement.note or "").strip() or None,
        )
        record_audit(
            connection,
            actor,
            "create",
            "stock_movements",
            movement_id,
            after={
                "product_id": movement.product_id,
                "variant_id": movement.variant_id,
                "warehouse_id": movement.warehouse_id,
                "movement_type": movement.movement_type,
                "quantity": signed_quantity(movement.movement_type, quantity),
                "note": movement.note,
            },
        )
    return movement_id


def warehouse_summary(engine: Engine) -> pd.DataFrame:
    """Stock per warehouse. Columns: warehouse, name, items, on_hand, reserved, available, low_stock, out_of_stock."""
    available = _available()
    statement = (
        select(
            warehouses.c.code.label("warehouse"),
            warehouses.c.name,
            func.count(inventory.c.id).label("items"),
            func.coalesce(func.sum(inventory.c.on_hand), 0).label("on_hand"),
            func.coalesce(func.sum(inventory.c.reserved), 0).label("reserved"),
            func.coalesce(func.sum(available), 0).label("available"),
            func.coalesce(
                func.sum(case((and_(available > 0, available <= inventory.c.reorder_level), 1), else_=0)), 0
            ).label("low_stock"),
            func.coalesce(func.sum(case((available <= 0, 1), else_=0)), 0).label("out_of_stock"),
        )
        .select_from(warehouses.outerjoin(inventory, inventory.c.warehouse_id == warehouses.c.id))
        .group_by(warehouses.c.id, warehouses.c.code, warehouses.c.name)
        .order_by(warehouses.c.code)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    columns = ["warehouse", "name", "items", "on_hand", "reserved", "available", "low_stock", "out_of_stock"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[2:]:
        frame[column] = frame[column].astype("int64")
    return frame
