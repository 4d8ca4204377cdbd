"""Reading stock levels in records tests."""

from __future__ import annotations

from sqlalchemy import Engine, select

from crm.schema import inventory


def stock_of(engine: Engine, product_id: int) -> tuple[int, int]:
    """(on hand, reserved) of a product's only inventory row (tiny_shop keeps one per product, in W1)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(inventory.c.on_hand, inventory.c.reserved).where(inventory.c.product_id == product_id)
        ).one()
    return row.on_hand, row.reserved
