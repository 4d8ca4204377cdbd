"""The schema accepts good rows and refuses bad ones on both engines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError

from crm.schema import customers, metadata, order_items, orders, products, tickets
from tests.fixtures.tiny_shop import TinyShop


def _insert(engine: Engine, table: object, row: dict[str, object]) -> None:
    with engine.begin() as connection:
        connection.execute(table.insert(), [row])  # type: ignore[attr-defined]


def test_every_table_of_the_metadata_exists_after_migration(engine: Engine) -> None:
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_tiny_shop_loads_with_its_hand_counted_rows(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 5
        assert connection.execute(select(func.sum(orders.c.total))).scalar_one() == Decimal("428.00")


ORDER = {
    "order_number": "X1",
    "customer_id": 1,
    "order_date": datetime(2025, 1, 1),
    "status": "pending",
    "subtotal": Decimal("1"),
    "tax": Decimal("0"),
    "shipping": Decimal("0"),
    "discount": Decimal("0"),
    "total": Decimal("1"),
}


@pytest.mark.parametrize(
    ("table", "bad_values"),
    [
        (orders, {"status": "lost"}),
        (orders, {"total": Decimal("-1.00")}),
        (orders, {"discount": Decimal("-0.01")}),
        (orders, {"payment_method": "bitcoin"}),
        (orders, {"customer_id": 999}),
        (orders, {"order_number": "O1"}),
    ],
    ids=[
        "unknown status",
        "negative total",
        "negative discount",
        "unknown method",
        "missing customer",
        "duplicate number",
    ],
)
def test_orders_refuse_invalid_rows(tiny_shop: TinyShop, table: object, bad_values: dict[str, object]) -> None:
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, table, {**ORDER, **bad_values})


def test_a_valid_order_is_accepted_next_to_the_refused_ones(tiny_shop: TinyShop) -> None:
    _insert(tiny_shop.engine, orders, ORDER)
    with tiny_shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 9


@pytest.mark.parametrize(
    "bad_values",
    [
        {"gender": "x"},
        {"customer_type": "alien"},
        {"status": "gone"},
        {"loyalty_points": -5},
        {"first_name": None, "last_name": None, "email": None, "phone": None, "company": None},
    ],
    ids=["gender", "customer type", "status", "negative points", "nothing identifies the customer"],
)
def test_customers_refuse_invalid_rows(engine: Engine, bad_values: dict[str, object]) -> None:
    with pytest.raises(IntegrityError):
        _insert(engine, customers, {"first_name": "Ann", **bad_values})


def test_products_refuse_negative_prices_and_duplicate_skus(tiny_shop: TinyShop) -> None:
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, products, {"sku": "NEW", "name": "n", "price": Decimal("-1")})
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, products, {"sku": "TS-1", "name": "dup", "price": Decimal("1")})


def test_order_items_need_a_positive_quantity(tiny_shop: TinyShop) -> None:
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, order_items, {"order_id": 1, "product_id": 1, "quantity": 0, "unit_price": 1})


def test_ticket_satisfaction_is_between_one_and_five(tiny_shop: TinyShop) -> None:
    row = {
        "ticket_number": "CS202501010009",
        "customer_id": 1,
        "subject": "s",
        "satisfaction": 6,
        "created_at": datetime(2025, 1, 1),
        "updated_at": datetime(2025, 1, 1),
    }
    with pytest.raises(IntegrityError):
        _insert(tiny_shop.engine, tickets, row)


def test_a_referenced_customer_cannot_be_deleted(tiny_shop: TinyShop) -> None:
    with pytest.raises(IntegrityError), tiny_shop.engine.begin() as connection:
        connection.execute(customers.delete().where(customers.c.id == 1))


def test_a_rolled_back_savepoint_leaves_nothing_behind(engine: Engine) -> None:
    """SQLite's driver used to commit rolled-back savepoints; crm.db applies the documented fix."""
    with engine.begin() as connection:
        savepoint = connection.begin_nested()
        connection.execute(customers.insert(), [{"first_name": "Ghost"}])
        savepoint.rollback()
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 0
