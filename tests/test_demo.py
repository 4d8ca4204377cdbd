"""Demo data: deterministic, fills every table, respects every constraint, never overwrites by accident."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from crm.demo import DemoDataExistsError, DemoSize, generate_demo
from crm.schema import (
    REVENUE_ORDER_STATUSES,
    customers,
    inventory,
    loyalty_tiers,
    metadata,
    order_items,
    orders,
    tickets,
    users,
)

SMALL = DemoSize(customers=200, orders=1_500)
END = date(2025, 6, 30)


def _fingerprint(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(
                select(func.count(orders.c.id), func.sum(orders.c.total), func.max(orders.c.order_date))
            ).one()
        )


def test_every_table_gets_rows(engine: Engine) -> None:
    summary = generate_demo(engine, SMALL, seed=3, end_date=END, with_demo_accounts=True)
    with engine.connect() as connection:
        empty = [
            table.name
            for table in metadata.sorted_tables
            if table.name not in {"user_sessions", "login_attempts", "import_mappings"}
            and connection.execute(select(func.count()).select_from(table)).scalar_one() == 0
        ]
    assert empty == []
    assert summary.rows["orders"] == SMALL.orders
    assert summary.rows["customers"] == SMALL.customers


def test_the_same_seed_gives_the_same_shop_on_both_engines(engine: Engine, sqlite_engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=11, end_date=END)
    generate_demo(sqlite_engine, SMALL, seed=11, end_date=END)
    assert _fingerprint(engine) == _fingerprint(sqlite_engine)


def test_another_seed_gives_another_shop(engine: Engine, sqlite_engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=11, end_date=END)
    generate_demo(sqlite_engine, SMALL, seed=12, end_date=END)
    assert _fingerprint(engine) != _fingerprint(sqlite_engine)


def test_order_totals_add_up_from_their_parts_and_items(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    with engine.connect() as connection:
        mismatched = connection.execute(
            # SQLite keeps NUMERIC as binary floating point, so compare to half a cent.
            select(func.count()).where(
                func.abs(orders.c.total - (orders.c.subtotal + orders.c.tax + orders.c.shipping - orders.c.discount))
                > Decimal("0.005")
            )
        ).scalar_one()
        item_sums = (
            select(order_items.c.order_id, func.sum(order_items.c.quantity * order_items.c.unit_price).label("lines"))
            .group_by(order_items.c.order_id)
            .subquery()
        )
        wrong_subtotals = connection.execute(
            select(func.count())
            .select_from(orders.join(item_sums, item_sums.c.order_id == orders.c.id))
            .where(func.abs(item_sums.c.lines - orders.c.subtotal) > Decimal("0.005"))
        ).scalar_one()
        latest = connection.execute(select(func.max(orders.c.order_date))).scalar_one()
    assert mismatched == 0
    assert wrong_subtotals == 0
    assert latest.date() <= END


def test_shop_has_repeat_buyers_prospects_and_stock_alerts(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    with engine.connect() as connection:
        per_customer = (
            select(orders.c.customer_id, func.count().label("n"))
            .where(orders.c.status.in_(REVENUE_ORDER_STATUSES))
            .group_by(orders.c.customer_id)
            .subquery()
        )
        repeat_buyers = connection.execute(select(func.count()).where(per_customer.c.n >= 2)).scalar_one()
        prospects = connection.execute(select(func.count()).where(customers.c.status == "prospect")).scalar_one()
        out_of_stock = connection.execute(
            select(func.count()).where(inventory.c.on_hand - inventory.c.reserved <= 0)
        ).scalar_one()
        negative_stock = connection.execute(select(func.count()).where(inventory.c.on_hand < 0)).scalar_one()
        answered_late = connection.execute(
            select(func.count()).where(tickets.c.first_response_at < tickets.c.created_at)
        ).scalar_one()
    assert repeat_buyers > 20
    assert prospects > 0
    assert out_of_stock > 0
    assert negative_stock == 0
    assert answered_late == 0


def test_existing_data_is_never_overwritten_without_replace(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    before = _fingerprint(engine)
    with pytest.raises(DemoDataExistsError):
        generate_demo(engine, SMALL, seed=6, end_date=END)
    assert _fingerprint(engine) == before


def test_replace_starts_over_but_keeps_accounts_and_tiers(engine: Engine) -> None:
    generate_demo(engine, SMALL, seed=5, end_date=END)
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(username="owner", full_name="Shop Owner", password_hash="x", role="admin")
        )
    generate_demo(
        engine, DemoSize(customers=100, orders=500), seed=6, end_date=END, replace=True, with_demo_accounts=True
    )
    with engine.connect() as connection:
        names = set(connection.execute(select(users.c.username)).scalars())
        order_count = connection.execute(select(func.count()).select_from(orders)).scalar_one()
        tiers = connection.execute(select(func.count()).select_from(loyalty_tiers)).scalar_one()
    assert {"owner", "admin", "manager", "analyst", "agent"} <= names
    assert order_count == 500
    assert tiers == 4
