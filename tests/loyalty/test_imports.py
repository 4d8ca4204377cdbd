"""Imports: delivered orders earn, cancelling reverses, --no-points earns nothing, balances are booked."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from crm.imports import run_import
from crm.loyalty import balance_problems
from crm.schema import customers, loyalty_ledger
from tests.loyalty.conftest import balance

ORDERS = (
    b"order_number,customer_email,order_date,total,status\n"
    b"IMP-1,ann@example.com,2025-01-10,55.90,delivered\n"
    b"IMP-2,ann@example.com,2025-02-01,30.00,shipped\n"
    b"IMP-3,bob@example.com,2025-02-03,12.00,delivered\n"
)
STATUS_UPDATE = (
    b"order_number,customer_email,order_date,total,status\nIMP-1,ann@example.com,2025-01-10,55.90,cancelled\n"
)
CUSTOMERS = b"email,first_name,loyalty_points\ncleo@example.com,Cleo,1500\ndora@example.com,Dora,0\n"


def _customer_id(engine: Engine, email: str) -> int:
    with engine.connect() as connection:
        return connection.execute(select(customers.c.id).where(customers.c.email_normalized == email)).scalar_one()


def _ledger(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(select(loyalty_ledger.c.kind, loyalty_ledger.c.points).order_by(loyalty_ledger.c.id))
        return [tuple(row) for row in rows]


def test_imported_delivered_orders_earn_their_points(engine: Engine) -> None:
    run_import(engine, ORDERS, entity="orders", file_name="orders.csv")
    # IMP-1 55.90 -> 55 points; IMP-2 is only shipped; IMP-3 12.00 -> 12.
    assert balance(engine, _customer_id(engine, "ann@example.com")) == 55
    assert balance(engine, _customer_id(engine, "bob@example.com")) == 12
    assert sorted(_ledger(engine)) == [("earn", 12), ("earn", 55)]
    assert balance_problems(engine) == []


def test_an_import_that_cancels_a_delivered_order_reverses_its_points(engine: Engine) -> None:
    run_import(engine, ORDERS, entity="orders", file_name="orders.csv")
    run_import(engine, STATUS_UPDATE, entity="orders", file_name="update.csv", on_duplicate="update")
    assert balance(engine, _customer_id(engine, "ann@example.com")) == 0
    assert sorted(_ledger(engine)) == [("earn", 12), ("earn", 55), ("reversal", -55)]
    assert balance_problems(engine) == []


def test_an_import_without_points_earns_nothing_for_a_history_already_in_the_balances(engine: Engine) -> None:
    run_import(engine, ORDERS, entity="orders", file_name="orders.csv", award_points=False)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(loyalty_ledger)).scalar_one() == 0
    assert balance_problems(engine) == []


def test_imported_customer_balances_are_opening_ledger_rows(engine: Engine) -> None:
    run_import(engine, CUSTOMERS, entity="customers", file_name="customers.csv")
    assert _ledger(engine) == [("opening", 1500)]
    update = b"email,loyalty_points\ncleo@example.com,1200\n"
    run_import(engine, update, entity="customers", file_name="points.csv", on_duplicate="update")
    assert _ledger(engine) == [("opening", 1500), ("adjustment", -300)]
    assert balance(engine, _customer_id(engine, "cleo@example.com")) == 1200
    assert balance_problems(engine) == []


def test_a_dry_run_import_books_no_points(engine: Engine) -> None:
    run_import(engine, ORDERS, entity="orders", file_name="orders.csv", dry_run=True)
    assert _ledger(engine) == []
