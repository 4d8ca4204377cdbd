"""Orders: totals computed on creation, batch status changes, stock following the status."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import ColumnElement, Engine, Table, func, select

from crm.permissions import Actor, PermissionDeniedError
from crm.records import RecordQuery, apply_edits, list_records
from crm.records.orders import NewOrder, OrderError, OrderLine, create_order, order_totals, update_order_status
from crm.schema import audit_log, inventory, order_items, orders, stock_movements, utc_now, warehouses
from tests.fixtures.tiny_shop import TinyShop
from tests.records.stock import stock_of

ADA = Actor(user_id=1, username="ada", role="admin")
SAM = Actor(user_id=2, username="sam", role="agent")
ANALYST = Actor(user_id=None, username="ann", role="analyst")
# The demo data has no user with id 1 of its own before its accounts; no user id keeps the FK out of it.
ADMIN_ACTOR = Actor(user_id=None, username="admin", role="admin")


def _order(engine: Engine, order_id: int):
    with engine.connect() as connection:
        return connection.execute(select(orders).where(orders.c.id == order_id)).mappings().one()


def test_order_totals_are_subtotal_plus_tax_plus_shipping_minus_discount() -> None:
    # 2 × 20.00 + 3 × 9.99 = 69.97; tax 10 % = 6.997 → 7.00; total 69.97 + 7.00 + 4.50 − 5.00 = 76.47
    totals = order_totals([(2, "20.00"), (3, "9.99")], tax_rate="0.10", shipping="4.50", discount="5")
    assert (totals.subtotal, totals.tax, totals.shipping, totals.discount, totals.total) == (
        Decimal("69.97"),
        Decimal("7.00"),
        Decimal("4.50"),
        Decimal("5.00"),
        Decimal("76.47"),
    )
    with pytest.raises(OrderError, match="discount"):
        order_totals([(1, "10")], tax_rate="0", discount="11")


def test_creating_an_order_with_several_items_computes_totals_and_reservesstock_of(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    new_order = NewOrder(
        customer_id=3,
        lines=(OrderLine(product_id=1, quantity=2), OrderLine(product_id=2, quantity=3, unit_price=Decimal("9.50"))),
        shipping=Decimal("5"),
        discount=Decimal("2.50"),
        payment_method="paypal",
    )
    order_id = create_order(engine, new_order, SAM)
    order = _order(engine, order_id)
    # subtotal 2 × 20.00 + 3 × 9.50 = 68.50; tax 6.85; total 68.50 + 6.85 + 5.00 − 2.50 = 77.85
    assert (order["subtotal"], order["tax"], order["shipping"], order["discount"], order["total"]) == (
        Decimal("68.50"),
        Decimal("6.85"),
        Decimal("5.00"),
        Decimal("2.50"),
        Decimal("77.85"),
    )
    assert order["order_number"] == f"ORD-{order_id:08d}"
    assert (order["status"], order["warehouse_id"]) == ("pending", 1)
    # T-shirt reserved 1 + 2; Mug reserved 5 + 3 (on hand 8, available was 3: exactly enough).
    assert stock_of(engine, 1) == (50, 3)
    assert stock_of(engine, 2) == (8, 8)
    with engine.connect() as connection:
        items = connection.execute(
            select(order_items.c.product_id, order_items.c.unit_price)
            .where(order_items.c.order_id == order_id)
            .order_by(order_items.c.product_id)
        ).all()
        actions = connection.execute(select(audit_log.c.action, audit_log.c.entity)).all()
    assert [tuple(item) for item in items] == [(1, Decimal("20.00")), (2, Decimal("9.50"))]
    assert [tuple(action) for action in actions] == [("create", "orders")]


def test_an_order_for_more_than_is_available_is_refused_and_nothing_is_written(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with pytest.raises(OrderError, match=r"Only 3 of Mug \(MUG-1\) in W1 available, 4 needed."):
        create_order(engine, NewOrder(customer_id=1, lines=(OrderLine(product_id=2, quantity=4),)), SAM)
    assert list_records(engine, "orders").total == 8
    with pytest.raises(OrderError, match="Customer 99 does not exist"):
        create_order(engine, NewOrder(customer_id=99, lines=(OrderLine(product_id=2, quantity=1),)), SAM)
    with pytest.raises(PermissionDeniedError):
        create_order(engine, NewOrder(customer_id=1, lines=(OrderLine(product_id=2, quantity=1),)), ANALYST)


def test_stock_follows_status_reserve_on_create_out_on_ship_back_on_cancel(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    order_id = create_order(engine, NewOrder(customer_id=1, lines=(OrderLine(product_id=1, quantity=2),)), SAM)
    assert stock_of(engine, 1) == (50, 3)  # reserved 1 + 2
    update_order_status(engine, [order_id], "shipped", SAM)
    assert stock_of(engine, 1) == (48, 1)  # out 2, reservation released
    update_order_status(engine, [order_id], "cancelled", SAM)
    assert stock_of(engine, 1) == (50, 1)  # back in stock
    with engine.connect() as connection:
        ledger = connection.execute(
            select(stock_movements.c.movement_type, stock_movements.c.quantity)
            .where(stock_movements.c.order_id == order_id)
            .order_by(stock_movements.c.id)
        ).all()
    assert [tuple(row) for row in ledger] == [("reserve", 2), ("release", -2), ("out", -2), ("in", 2)]


def test_batch_status_update_of_imported_orders_uses_what_their_status_held(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # O7 (pending, 5 mugs) and O8 (processing, 1 T-shirt) hold the tiny shop's reservations.
    # O5 is shipped already: it is left as it is.
    change = update_order_status(engine, {7: 1, 8: 1, 5: 1}, "shipped", SAM)
    assert change.updated == (7, 8)
    assert change.unchanged == (5,)
    assert stock_of(engine, 2) == (3, 0)  # mugs: 8 − 5 out, reserved 5 − 5
    assert stock_of(engine, 1) == (49, 0)  # T-shirts: 50 − 1, reserved 1 − 1
    assert _order(engine, 7)["version"] == 2
    with engine.connect() as connection:
        audits = connection.execute(select(audit_log.c.entity_id).where(audit_log.c.action == "update")).scalars()
        assert sorted(audits) == ["7", "8"]


def test_a_batch_with_an_order_changed_meanwhile_is_refused_entirely(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    update_order_status(engine, [8], "shipped", ADA)
    with pytest.raises(OrderError, match="Order O8 was changed by someone else"):
        update_order_status(engine, {7: 1, 8: 1}, "delivered", SAM)
    assert _order(engine, 7)["status"] == "pending"


def test_editing_items_recomputes_order_totals_andstock_of(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    items = list_records(engine, "order_items", RecordQuery(equals=(("order_id", 7),))).rows
    # O7: 5 mugs at 10.00, tax 5.00 (10 %), discount 5.00. Now 3 mugs and a T-shirt at the current price 20.00.
    outcome = apply_edits(
        engine,
        "order_items",
        items,
        {
            "edited_rows": {0: {"quantity": 3}},
            "added_rows": [{"order_id": 7, "product_id": 1, "quantity": 1}],
            "deleted_rows": [],
        },
        SAM,
    )
    assert outcome.ok, outcome.problems
    order = _order(engine, 7)
    # subtotal 3 × 10 + 20 = 50.00; tax keeps its 10 % rate = 5.00; total 50 + 5 + 0 − 5 = 50.00
    assert (order["subtotal"], order["tax"], order["total"]) == (Decimal("50.00"), Decimal("5.00"), Decimal("50.00"))
    assert order["version"] == 2
    assert stock_of(engine, 2) == (8, 3)  # 2 mugs released
    assert stock_of(engine, 1) == (50, 2)  # 1 T-shirt reserved


def test_orders_grid_edits_recompute_the_total_and_move_stock_on_status(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = list_records(engine, "orders", RecordQuery(equals=(("id", 7),))).rows
    outcome = apply_edits(engine, "orders", shown, {"edited_rows": {0: {"shipping": 7.5, "status": "cancelled"}}}, SAM)
    assert outcome.ok, outcome.problems
    order = _order(engine, 7)
    # 50 + 5 + 7.50 − 5 = 57.50
    assert order["total"] == Decimal("57.50")
    assert stock_of(engine, 2) == (8, 0)
    refused = apply_edits(engine, "orders", shown, {"edited_rows": {0: {"discount": 1000}}}, SAM)
    assert refused.conflict  # the shown row is stale now


def test_only_cancelled_orders_can_be_deleted(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    order_id = create_order(engine, NewOrder(customer_id=5, lines=(OrderLine(product_id=1, quantity=1),)), SAM)
    shown = list_records(engine, "orders", RecordQuery(equals=(("id", order_id),))).rows
    refused = apply_edits(engine, "orders", shown, {"deleted_rows": [0]}, ADA)
    assert refused.problems == (
        f"Row 1 (id {order_id}): only cancelled orders can be deleted (this one is pending); cancel it first.",
    )
    update_order_status(engine, [order_id], "cancelled", ADA)
    shown = list_records(engine, "orders", RecordQuery(equals=(("id", order_id),))).rows
    deleted = apply_edits(engine, "orders", shown, {"deleted_rows": [0]}, ADA)
    assert deleted.ok, deleted.problems
    assert stock_of(engine, 1) == (50, 1)


def _ledger_sums(engine: Engine, product_id: int) -> tuple[int, int]:
    """(on-hand movements, reservation movements) of a product, summed over the whole ledger."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(stock_movements.c.movement_type, stock_movements.c.quantity).where(
                stock_movements.c.product_id == product_id
            )
        ).all()
    on_hand = sum(row.quantity for row in rows if row.movement_type in ("in", "out", "adjust", "count"))
    reserved = sum(row.quantity for row in rows if row.movement_type in ("reserve", "release"))
    return on_hand, reserved


def _grid_status(engine: Engine, order_id: int, status: str, actor: Actor = SAM) -> None:
    shown = list_records(engine, "orders", RecordQuery(equals=(("id", order_id),))).rows
    outcome = apply_edits(engine, "orders", shown, {"edited_rows": {0: {"status": status}}}, actor)
    assert outcome.ok, outcome.problems


def test_an_imported_order_keeps_its_stock_right_through_many_status_changes(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # O7 was loaded pending with 5 mugs reserved and no ledger rows of its own: mugs (on hand 8, reserved 5).
    expected = [
        ("cancelled", (8, 0)),
        ("pending", (8, 5)),
        ("cancelled", (8, 0)),
        ("pending", (8, 5)),
        ("shipped", (3, 0)),
        ("cancelled", (8, 0)),
        ("processing", (8, 5)),
        ("delivered", (3, 0)),
    ]
    for status, stock in expected:
        update_order_status(engine, [7], status, SAM)
        assert stock_of(engine, 2) == stock, status
    # Every movement since the fixture was loaded adds up to the change of stock: opening rows moved nothing.
    assert _ledger_sums(engine, 2) == (3 - 8, 0 - 5)


def test_shipping_an_imported_order_then_cancelling_it_in_the_grid_puts_the_mugs_back(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    update_order_status(engine, [7], "shipped", SAM)
    assert stock_of(engine, 2) == (3, 0)
    _grid_status(engine, 7, "cancelled")
    assert stock_of(engine, 2) == (8, 0)
    with engine.connect() as connection:
        ledger = connection.execute(
            select(stock_movements.c.movement_type, stock_movements.c.quantity)
            .where(stock_movements.c.order_id == 7)
            .order_by(stock_movements.c.id)
        ).all()
    # The opening row says what O7 held before its first change, then release, ship, return.
    assert [tuple(row) for row in ledger] == [("reserve", 5), ("release", -5), ("out", -5), ("in", 5)]


def test_an_imported_refunded_order_counts_its_goods_as_shipped_when_it_changes(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # O6 (refunded, 1 jacket) shipped before it was refunded; jackets: on hand 0, reserved 0.
    update_order_status(engine, [6], "cancelled", ADA)
    assert stock_of(engine, 3) == (1, 0)  # the jacket comes back
    update_order_status(engine, [6], "pending", ADA)
    assert stock_of(engine, 3) == (1, 1)
    update_order_status(engine, [6], "cancelled", ADA)
    assert stock_of(engine, 3) == (1, 0)
    assert _ledger_sums(engine, 3) == (1, 0)


def test_editing_an_imported_orders_items_then_its_status_keeps_stock_right(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    items = list_records(engine, "order_items", RecordQuery(equals=(("order_id", 7),))).rows
    outcome = apply_edits(engine, "order_items", items, {"edited_rows": {0: {"quantity": 3}}}, SAM)
    assert outcome.ok, outcome.problems
    assert stock_of(engine, 2) == (8, 3)  # 2 of the 5 reserved mugs released
    update_order_status(engine, [7], "cancelled", SAM)
    assert stock_of(engine, 2) == (8, 0)
    update_order_status(engine, [7], "pending", SAM)
    assert stock_of(engine, 2) == (8, 3)
    items = list_records(engine, "order_items", RecordQuery(equals=(("order_id", 7),))).rows
    outcome = apply_edits(engine, "order_items", items, {"edited_rows": {0: {"quantity": 4}}}, SAM)
    assert outcome.ok, outcome.problems
    assert stock_of(engine, 2) == (8, 4)
    update_order_status(engine, [7], "shipped", SAM)
    assert stock_of(engine, 2) == (4, 0)


def test_moving_an_imported_order_between_warehouses_moves_its_reservation(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with engine.begin() as connection:
        connection.execute(
            warehouses.insert().values(id=2, code="W2", name="Second", created_at=utc_now(), updated_at=utc_now())
        )
        connection.execute(
            inventory.insert().values(
                product_id=2, warehouse_id=2, on_hand=10, reserved=0, created_at=utc_now(), updated_at=utc_now()
            )
        )

    def mugs(warehouse_id: int) -> tuple[int, int]:
        with engine.connect() as connection:
            row = connection.execute(
                select(inventory.c.on_hand, inventory.c.reserved).where(
                    inventory.c.product_id == 2, inventory.c.warehouse_id == warehouse_id
                )
            ).one()
        return row.on_hand, row.reserved

    for warehouse, (first, second) in (("W2", ((8, 0), (10, 5))), ("W1", ((8, 5), (10, 0))), ("W2", ((8, 0), (10, 5)))):
        shown = list_records(engine, "orders", RecordQuery(equals=(("id", 7),))).rows
        outcome = apply_edits(engine, "orders", shown, {"edited_rows": {0: {"warehouse": warehouse}}}, SAM)
        assert outcome.ok, outcome.problems
        assert (mugs(1), mugs(2)) == (first, second), warehouse
    _grid_status(engine, 7, "cancelled")
    assert (mugs(1), mugs(2)) == ((8, 0), (10, 0))


def test_a_demo_order_cycled_through_statuses_leaves_stock_and_ledger_sums_equal(engine: Engine) -> None:
    from crm.demo import DemoSize, generate_demo

    generate_demo(engine, DemoSize(customers=100, orders=1_000), seed=3)
    with engine.connect() as connection:
        # Open orders are the most recent few; the first one holds a reservation from the demo totals.
        order_id, open_status = connection.execute(
            select(orders.c.id, orders.c.status)
            .where(orders.c.status.in_(("pending", "processing")))
            .order_by(orders.c.id)
            .limit(1)
        ).one()
        item = connection.execute(select(order_items).where(order_items.c.order_id == order_id).limit(1)).one()
        warehouse_id = connection.execute(select(orders.c.warehouse_id).where(orders.c.id == order_id)).scalar_one()

    def same_stock_item(table: Table) -> ColumnElement[bool]:  # apparel lines and stock name a colour/size variant
        return table.c.variant_id.is_(None) if item.variant_id is None else table.c.variant_id == item.variant_id

    def level() -> tuple[int, int]:
        with engine.connect() as connection:
            row = connection.execute(
                select(inventory.c.on_hand, inventory.c.reserved).where(
                    inventory.c.product_id == item.product_id,
                    inventory.c.warehouse_id == warehouse_id,
                    same_stock_item(inventory),
                )
            ).one()
        return row.on_hand, row.reserved

    with engine.connect() as connection:
        quantity = connection.execute(
            select(func.sum(order_items.c.quantity)).where(
                order_items.c.order_id == order_id,
                order_items.c.product_id == item.product_id,
                same_stock_item(order_items),
            )
        ).scalar_one()
    on_hand, reserved = level()
    for status, expected in (
        ("cancelled", (on_hand, reserved - quantity)),
        (open_status, (on_hand, reserved)),
        ("cancelled", (on_hand, reserved - quantity)),
        (open_status, (on_hand, reserved)),
    ):
        update_order_status(engine, [order_id], status, ADMIN_ACTOR)
        assert level() == expected, status
    # The demo ledger's running sums are the inventory levels, before and after.
    with engine.connect() as connection:
        sums = connection.execute(
            select(stock_movements.c.movement_type, func.sum(stock_movements.c.quantity))
            .where(
                stock_movements.c.product_id == item.product_id,
                stock_movements.c.warehouse_id == warehouse_id,
                same_stock_item(stock_movements),
            )
            .group_by(stock_movements.c.movement_type)
        ).all()
    totals = dict(sums)
    assert sum(totals.get(kind, 0) for kind in ("in", "out", "adjust", "count")) == on_hand
    assert totals.get("reserve", 0) + totals.get("release", 0) == reserved


def _order_audits(engine: Engine, order_id: int) -> list[tuple[dict, dict]]:
    import json

    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.before_json, audit_log.c.after_json)
            .where(audit_log.c.entity == "orders", audit_log.c.entity_id == str(order_id))
            .order_by(audit_log.c.id)
        ).all()
    return [(json.loads(row.before_json or "{}"), json.loads(row.after_json or "{}")) for row in rows]


def test_totals_recomputed_after_an_item_edit_are_audited_with_before_and_after(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    items = list_records(engine, "order_items", RecordQuery(equals=(("order_id", 7),))).rows
    outcome = apply_edits(engine, "order_items", items, {"edited_rows": {0: {"quantity": 3}}}, SAM)
    assert outcome.ok, outcome.problems
    # O7: 3 mugs × 10.00 = 30.00, tax 10 % = 3.00, total 30 + 3 + 0 − 5 = 28.00 (was 50 / 5 / 50).
    assert _order_audits(engine, 7) == [
        (
            {"subtotal": "50.00", "tax": "5.00", "total": "50.00"},
            {"subtotal": "30.00", "tax": "3.00", "total": "28.00"},
        )
    ]


def test_a_total_recomputed_after_a_shipping_edit_is_audited(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = list_records(engine, "orders", RecordQuery(equals=(("id", 7),))).rows
    outcome = apply_edits(engine, "orders", shown, {"edited_rows": {0: {"shipping": 7.5}}}, SAM)
    assert outcome.ok, outcome.problems
    # The edit itself, then the total it changed: 50 + 5 + 7.50 − 5 = 57.50.
    assert _order_audits(engine, 7) == [
        ({"shipping": "0.00"}, {"shipping": "7.50"}),
        ({"total": "50.00"}, {"total": "57.50"}),
    ]


def test_an_order_whose_notes_hold_a_nul_character_is_refused_and_nothing_is_written(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    new_order = NewOrder(customer_id=1, lines=(OrderLine(product_id=1, quantity=1),), notes="gift\x00wrap")
    with pytest.raises(OrderError) as refused:
        create_order(engine, new_order, SAM)
    assert str(refused.value) == "Notes: contains a NUL character (\\x00), which cannot be stored; remove it."
    assert list_records(engine, "orders").total == 8
