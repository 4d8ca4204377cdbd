"""Stock: movements typed in by people, the ledger that follows them, alerts with their cut-off."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select

from crm.permissions import Actor, PermissionDeniedError
from crm.records.inventory import NewMovement, StockError, add_stock_movement, stock_alerts, variant_choices
from crm.schema import audit_log, inventory, product_variants, stock_movements, utc_now, warehouses
from tests.fixtures.tiny_shop import TinyShop
from tests.records.stock import stock_of

SAM = Actor(user_id=2, username="sam", role="agent")
ANALYST = Actor(user_id=None, username="ann", role="analyst")


def _ledger(engine: Engine) -> list[tuple[str, int, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(stock_movements.c.movement_type, stock_movements.c.quantity, stock_movements.c.note).order_by(
                stock_movements.c.id
            )
        ).all()
    return [tuple(row) for row in rows]


def test_received_removed_corrected_and_counted_stock_follows_the_ledger(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # T-shirt: on hand 50, 1 reserved.
    add_stock_movement(engine, NewMovement(1, 1, "in", 12, note="Delivery 4711"), SAM)
    assert stock_of(engine, 1) == (62, 1)
    add_stock_movement(engine, NewMovement(1, 1, "out", 2, note="Samples"), SAM)
    assert stock_of(engine, 1) == (60, 1)
    add_stock_movement(engine, NewMovement(1, 1, "adjust", -3), SAM)
    assert stock_of(engine, 1) == (57, 1)
    # Counted 55: the ledger gets the difference, −2.
    add_stock_movement(engine, NewMovement(1, 1, "count", 55), SAM)
    assert stock_of(engine, 1) == (55, 1)
    assert _ledger(engine) == [
        ("in", 12, "Delivery 4711"),
        ("out", -2, "Samples"),
        ("adjust", -3, None),
        ("count", -2, None),
    ]
    with engine.connect() as connection:
        audits = connection.execute(
            select(audit_log.c.action, audit_log.c.entity, audit_log.c.after_json).order_by(audit_log.c.id)
        ).all()
    assert [(row.action, row.entity) for row in audits] == [("create", "stock_movements")] * 4
    assert json.loads(audits[1].after_json)["quantity"] == -2


def test_a_movement_may_not_take_goods_reserved_for_open_orders(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Mug: on hand 8, 5 of them reserved by O7: only 3 may go.
    with pytest.raises(StockError) as refused:
        add_stock_movement(engine, NewMovement(2, 1, "out", 4), SAM)
    assert str(refused.value) == (
        "Not enough free stock of Mug (MUG-1) in W1: 8 on hand, 5 of them reserved for open orders, 4 needed. "
        "Ship or cancel those orders first."
    )
    with pytest.raises(StockError, match=r"Not enough stock of Mug \(MUG-1\) in W1: 8 on hand, 9 needed."):
        add_stock_movement(engine, NewMovement(2, 1, "adjust", -9), SAM)
    add_stock_movement(engine, NewMovement(2, 1, "out", 3), SAM)
    assert stock_of(engine, 2) == (5, 5)
    assert len(_ledger(engine)) == 1


def test_bad_movements_are_refused_with_every_problem_and_nothing_is_written(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with pytest.raises(StockError) as refused:
        add_stock_movement(engine, NewMovement(99, 7, "in", 0), SAM)
    assert str(refused.value).splitlines() == [
        "Quantity: 0 — enter how many items, at least 1.",
        "Product 99 does not exist.",
        "Warehouse 7 does not exist.",
    ]
    with pytest.raises(StockError, match="reservations follow the orders that hold them"):
        add_stock_movement(engine, NewMovement(1, 1, "reserve", 1), SAM)
    with pytest.raises(StockError, match=r"The count matches what is on hand \(50\): nothing to record."):
        add_stock_movement(engine, NewMovement(1, 1, "count", 50), SAM)
    with pytest.raises(PermissionDeniedError):
        add_stock_movement(engine, NewMovement(1, 1, "in", 1), ANALYST)
    assert _ledger(engine) == []
    assert stock_of(engine, 1) == (50, 1)


def test_a_variant_movement_needs_a_variant_of_that_product(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(
            product_variants.insert(),
            [
                {
                    "id": 1,
                    "product_id": 1,
                    "sku": "TS-1-RED-M",
                    "color": "red",
                    "size": "M",
                    "created_at": now,
                    "updated_at": now,
                },
            ],
        )
    assert variant_choices(engine, 1).to_dict("records") == [{"id": 1, "label": "TS-1-RED-M · red · M"}]
    assert variant_choices(engine, 2).empty
    with pytest.raises(StockError, match=r"Variant 1 is not a variant of product 2\."):
        add_stock_movement(engine, NewMovement(2, 1, "in", 1, variant_id=1), SAM)
    # The red T-shirt gets its own inventory row, created at zero and then received.
    add_stock_movement(engine, NewMovement(1, 1, "in", 4, variant_id=1), SAM)
    with engine.connect() as connection:
        row = connection.execute(select(inventory.c.on_hand).where(inventory.c.variant_id == 1)).scalar_one()
    assert row == 4


def test_stock_alerts_say_how_many_there_are_when_the_list_stops_at_its_limit(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Out of stock: Jacket (available 0); low: Mug (available 3 ≤ reorder 10).
    alerts = stock_alerts(engine)
    assert (alerts.total, list(alerts.rows["sku"]), alerts.complete) == (2, ["JK-1", "MUG-1"], True)
    first = stock_alerts(engine, limit=1)
    assert (first.total, list(first.rows["sku"]), first.complete) == (2, ["JK-1"], False)
    now = utc_now()
    with engine.begin() as connection:
        connection.execute(warehouses.insert().values(id=2, code="W2", name="Second", created_at=now, updated_at=now))
        connection.execute(
            inventory.insert().values(
                product_id=1, warehouse_id=2, on_hand=1, reserved=0, reorder_level=5, created_at=now, updated_at=now
            )
        )
    only_second = stock_alerts(engine, ("W2",))
    assert (only_second.total, list(only_second.rows["warehouse"])) == (1, ["W2"])
    assert stock_alerts(engine).total == 3
