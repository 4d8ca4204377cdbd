"""``python -m crm loyalty check|rebuild|redeem`` and ``import --no-points`` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crm.cli import main
from crm.db import make_engine
from crm.schema import audit_log, customers, loyalty_ledger
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.loyalty.conftest import balance

ORDERS = b"order_number,customer_email,order_date,total,status\nH-1,ann@example.com,2024-05-01,80.00,delivered\n"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def shop(url: str) -> Engine:
    """tiny_shop: Alice's 1200 points have no ledger rows; Bob's and Dan's balances are their ledger sums."""
    assert main(["--database-url", url, "init"]) == 0
    engine = make_engine(url)
    load_tiny_shop(engine)
    return engine


def _loyalty(url: str, *arguments: str) -> int:
    return main(["--database-url", url, "loyalty", *arguments])


def test_check_lists_every_customer_whose_balance_is_not_the_ledger_sum_and_exits_1(
    url: str, shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with shop.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 4).values(loyalty_points=5000))
    assert _loyalty(url, "check") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "customer 1 (alice@example.com): balance 1,200, ledger sum 0",
        "customer 4 (dan@example.com): balance 5,000, ledger sum 6,000",
        "2 customer(s) break the invariant; `python -m crm loyalty rebuild` fixes them.",
    ]


def test_rebuild_sets_balances_from_the_ledger_audited_and_check_then_says_ok(
    url: str, shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    with shop.begin() as connection:
        connection.execute(loyalty_ledger.insert().values(customer_id=2, points=40, kind="adjustment", reason="x"))
        connection.execute(loyalty_ledger.insert().values(customer_id=3, points=-5, kind="adjustment", reason="y"))
    assert _loyalty(url, "rebuild") == 0
    assert "Rebuilt 3 balance(s) from the ledger." in capsys.readouterr().out
    # Alice 1200 -> 0 (no rows), Bob 300 + 40, Chloe's ledger summed to -5: an adjustment brings it to 0.
    assert (balance(shop, 1), balance(shop, 2), balance(shop, 3), balance(shop, 4)) == (0, 340, 0, 6000)
    with shop.connect() as connection:
        audited = connection.execute(
            select(func.count()).where(audit_log.c.entity == "customers", audit_log.c.username == "system")
        ).scalar_one()
    assert audited == 3
    assert _loyalty(url, "check") == 0
    assert capsys.readouterr().out.count("\n") == 1


def test_redeem_by_email_takes_the_points_and_a_refused_redemption_exits_2_with_one_line(
    url: str, shop: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _loyalty(url, "redeem", "--customer", "BOB@example.com", "--points", "100", "--reason", "Mug") == 0
    assert balance(shop, 2) == 200
    capsys.readouterr()
    assert _loyalty(url, "redeem", "--customer", "2", "--points", "201", "--reason", "Too much") == 2
    error = capsys.readouterr().err
    assert error == "error: customer 2 has 200 points; 201 cannot be redeemed.\n"
    assert _loyalty(url, "redeem", "--customer", "nobody@example.com", "--points", "1", "--reason", "x") == 2
    assert capsys.readouterr().err == "error: no customer has the email nobody@example.com.\n"
    assert balance(shop, 2) == 200


def test_import_with_no_points_leaves_the_ledger_alone(url: str, shop: Engine, tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    history.write_bytes(ORDERS)
    assert main(["--database-url", url, "import", str(history), "--entity", "orders", "--no-points"]) == 0
    with shop.connect() as connection:
        assert connection.execute(select(func.count()).select_from(loyalty_ledger)).scalar_one() == 7  # tiny_shop's
        ann = connection.execute(select(customers.c.id).where(customers.c.email == "ann@example.com")).scalar_one()
    assert balance(shop, ann) == 0
    history.write_bytes(ORDERS.replace(b"H-1", b"H-2"))
    assert main(["--database-url", url, "import", str(history), "--entity", "orders"]) == 0
    assert balance(shop, ann) == 80
