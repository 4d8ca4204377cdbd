"""Bulk loading: values arrive intact on both engines, and a failed load leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from crm.bulk import bulk_insert, checks_deferred, indexes_deferred, money
from crm.schema import customers, orders
from tests.fixtures.tiny_shop import TinyShop


def test_values_nulls_dates_and_money_survive_a_bulk_insert(tiny_shop: TinyShop) -> None:
    frame = pd.DataFrame(
        {
            "id": [100, 101],
            "order_number": ["B-1", "B-2"],
            "customer_id": [1, 2],
            "status": ["pending", "delivered"],
            "order_date": pd.to_datetime(["2025-04-01 08:30:00", "2025-04-02 23:59:59.250000"], format="ISO8601"),
            "subtotal": money(pd.Series([1999, 10]).to_numpy()),
            "total": [Decimal("19.99"), Decimal("0.10")],
            "payment_method": ["paypal", None],
            "notes": ["quote ' and comma, inside", None],
        }
    )
    with tiny_shop.engine.begin() as connection:
        assert bulk_insert(connection, orders, frame) == 2
    with tiny_shop.engine.connect() as connection:
        rows = connection.execute(
            select(
                orders.c.order_number,
                orders.c.order_date,
                orders.c.subtotal,
                orders.c.total,
                orders.c.payment_method,
                orders.c.notes,
            )
            .where(orders.c.id >= 100)
            .order_by(orders.c.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("B-1", datetime(2025, 4, 1, 8, 30), Decimal("19.99"), Decimal("19.99"), "paypal", "quote ' and comma, inside"),
        ("B-2", datetime(2025, 4, 2, 23, 59, 59, 250000), Decimal("0.10"), Decimal("0.10"), None, None),
    ]


def test_dates_and_missing_integers_are_stored_as_null_or_dates(engine: Engine) -> None:
    frame = pd.DataFrame(
        {
            "first_name": ["Ann", "Ben"],
            "birth_date": [date(1990, 2, 28), None],
            "brand_id": pd.array([None, None], dtype="Int64"),
        }
    )
    with engine.begin() as connection:
        bulk_insert(connection, customers, frame)
    with engine.connect() as connection:
        rows = connection.execute(select(customers.c.birth_date, customers.c.brand_id).order_by(customers.c.id)).all()
    assert [tuple(row) for row in rows] == [(date(1990, 2, 28), None), (None, None)]


def test_unknown_columns_are_refused_before_anything_is_sent(engine: Engine) -> None:
    with pytest.raises(ValueError, match="no column"), engine.begin() as connection:
        bulk_insert(connection, customers, pd.DataFrame({"first_name": ["A"], "shoe_size": [42]}))


def test_a_failing_load_with_deferred_indexes_rolls_back_rows_and_keeps_the_indexes(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    index_names_before = {index["name"] for index in inspect(engine).get_indexes("orders")}
    bad = pd.DataFrame(
        {
            "order_number": ["N-1", "O1"],
            "customer_id": [1, 1],
            "order_date": pd.to_datetime(["2025-01-01"] * 2),
            "status": ["pending", "pending"],
        }
    )  # "O1" already exists: the unique order number fails the load
    with pytest.raises(IntegrityError), engine.begin() as connection, indexes_deferred(connection, [orders]):
        bulk_insert(connection, orders, bad)
    with engine.connect() as connection:
        assert connection.execute(select(orders.c.id).where(orders.c.order_number == "N-1")).first() is None
    assert {index["name"] for index in inspect(engine).get_indexes("orders")} == index_names_before


def test_whole_second_datetimes_and_missing_ones_survive_on_both_engines(engine: Engine) -> None:
    moments = [
        datetime(1969, 12, 31, 23, 59, 59),
        None,
        datetime(2025, 6, 30, 0, 0, 0),
        datetime(2024, 2, 29, 12, 5, 7),
    ]
    frame = pd.DataFrame({"first_name": ["A", "B", "C", "D"], "last_contact_at": pd.to_datetime(moments)})
    with engine.begin() as connection:
        bulk_insert(connection, customers, frame)
    with engine.connect() as connection:
        stored = connection.execute(select(customers.c.last_contact_at).order_by(customers.c.id)).scalars().all()
    assert stored == moments


def test_frames_made_one_after_another_load_as_one_table_and_count_every_row(engine: Engine) -> None:
    def frames() -> Iterator[pd.DataFrame]:
        for start in (0, 3, 5):
            yield pd.DataFrame({"first_name": [f"N{number}" for number in range(start, start + 2)]})

    with engine.begin() as connection:
        assert bulk_insert(connection, customers, frames()) == 6
    with engine.connect() as connection:
        names = connection.execute(select(customers.c.first_name).order_by(customers.c.id)).scalars().all()
    assert names == ["N0", "N1", "N3", "N4", "N5", "N6"]


def test_a_check_broken_during_a_load_with_deferred_checks_fails_it_and_leaves_nothing(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    bad = pd.DataFrame(
        {
            "order_number": ["C-1", "C-2"],
            "customer_id": [1, 1],
            "order_date": pd.to_datetime(["2025-01-01"] * 2),
            "status": ["pending", "lost"],  # not an order status
        }
    )
    with pytest.raises(IntegrityError), engine.begin() as connection, checks_deferred(connection, [orders]):
        bulk_insert(connection, orders, bad)
    with engine.connect() as connection:
        assert connection.execute(select(orders.c.id).where(orders.c.order_number == "C-1")).first() is None
    # The connection checks rows again afterwards.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        bulk_insert(connection, orders, bad.iloc[1:])
