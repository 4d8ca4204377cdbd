"""Stock: the movement ledger, inventory levels per warehouse, and low/out-of-stock alerts.

Ledger conventions (``stock_movements.quantity`` is signed, as the demo data writes it):
``in`` adds to on hand, ``out`` is stored negative and takes from on hand, ``adjust`` and
``count`` carry their own sign; ``reserve`` adds to reserved, ``release`` is stored negative.
``inventory.on_hand`` / ``reserved`` are kept equal to those running sums by
``record_movement``, the one function that writes movements. Available = on hand − reserved.
Low stock: 0 < available ≤ reorder level. Out of stock: available ≤ 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, and_, case, func, select

from crm.permissions import Actor
from crm.schema import inventory, products, stock_movements, utc_now, warehouses

__all__ = [
    "ON_HAND_MOVEMENTS",
    "RESERVED_MOVEMENTS",
    "StockAlertCounts",
    "StockError",
    "alert_counts",
    "apply_to_inventory",
    "record_movement",
    "signed_quantity",
    "stock_alerts",
    "warehouse_summary",
]

ON_HAND_MOVEMENTS = ("in", "out", "adjust", "count")
RESERVED_MOVEMENTS = ("reserve", "release")


class StockError(ValueError):
    """A movement would take on hand below zero or reserve more than is available."""


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


def stock_alerts(engine: Engine, warehouse_codes: tuple[str, ...] = (), *, limit: int = 500) -> pd.DataFrame:
    """Inventory rows that are out of stock or low, most urgent first.

    Columns: sku, product, warehouse, on_hand, reserved, available, reorder_level, alert
    ("out of stock" when available ≤ 0, "low stock" when available ≤ reorder level).
    """
    available = _available()
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
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return pd.DataFrame(
        rows, columns=["sku", "product", "warehouse", "on_hand", "reserved", "available", "reorder_level", "alert"]
    )


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
