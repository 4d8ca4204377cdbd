"""Loyalty in a real browser: an order set to delivered in the Orders page earns its points, which
Customer 360 then shows; refunding it takes them back."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from crm.db import make_engine
from crm.permissions import Actor
from crm.records.orders import NewOrder, OrderLine, create_order
from crm.schema import customers, inventory, loyalty_ledger, utc_now
from tests.browser.conftest import wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
# Script reruns on two busy shared cores can take many seconds.
EXPECT_TIMEOUT_MILLISECONDS = 30_000
SYSTEM = Actor(user_id=None, username="system", role="admin")


def _shipped_order(database_url: str) -> tuple[int, int, str]:
    """A new customer with one shipped order of 123.45 (no tax): (customer id, order id, order number)."""
    engine = make_engine(database_url)
    email = f"loyal-{secrets.token_hex(4)}@example.com"
    now = utc_now()
    try:
        with engine.begin() as connection:
            customer_id = connection.execute(
                customers.insert().values(
                    first_name="Loyal",
                    last_name="Shopper",
                    email=email,
                    email_normalized=email,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            stocked = connection.execute(
                select(inventory.c.product_id, inventory.c.warehouse_id)
                .where(inventory.c.variant_id.is_(None), inventory.c.on_hand - inventory.c.reserved > 0)
                .order_by(inventory.c.id)
                .limit(1)
            ).one()
        order_id = create_order(
            engine,
            NewOrder(
                customer_id=customer_id,
                lines=(OrderLine(product_id=stocked.product_id, quantity=1, unit_price=Decimal("123.45")),),
                warehouse_id=stocked.warehouse_id,
                tax_rate=Decimal("0"),
                status="shipped",
            ),
            SYSTEM,
        )
    finally:
        engine.dispose()
    return customer_id, order_id, f"ORD-{order_id:08d}"


def _ledger(database_url: str, order_id: int) -> list[tuple[str, int]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(loyalty_ledger.c.kind, loyalty_ledger.c.points)
                .where(loyalty_ledger.c.order_id == order_id)
                .order_by(loyalty_ledger.c.id)
            ).all()
            assert connection.execute(select(func.count()).select_from(loyalty_ledger)).scalar_one() > 0
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


def _set_status(page: Page, number: str, status: str) -> None:
    """On the Orders page: search the order, pick it in "Change status of several orders", apply ``status``."""
    search = page.get_by_role("textbox", name="Search")
    search.fill(number)
    search.press("Enter")
    wait_until_idle(page)
    chooser = page.get_by_test_id("stMultiSelect").filter(has_text="Orders on this page")
    chooser.locator("input").click()
    page.get_by_role("option", name=number).click()
    wait_until_idle(page)
    status_box = page.get_by_test_id("stSelectbox").filter(has_text="New status")
    status_box.locator("input").click()
    page.get_by_role("option", name=status.capitalize(), exact=True).click()  # codes show as labels
    wait_until_idle(page)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text(f"1 order(s) set to {status}.")).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)


def _points_shown(page: Page, base_url: str, customer_id: int) -> None:
    page.goto(f"{base_url}/customer_360?customer={customer_id}")
    expect(page.get_by_role("heading", name="Loyalty", exact=True)).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)


def test_a_delivered_order_earns_points_shown_in_customer_360_and_a_refund_reverses_them(
    running_app, page: Page, sign_in
) -> None:
    customer_id, order_id, number = _shipped_order(running_app.database_url)
    page.set_viewport_size({"width": 1500, "height": 1200})
    sign_in(page, "manager", path="/orders")
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    wait_until_idle(page)

    _set_status(page, number, "delivered")
    assert _ledger(running_app.database_url, order_id) == [("earn", 123)]
    _points_shown(page, running_app.url, customer_id)
    points = page.get_by_test_id("stMetric").filter(has_text="Loyalty points")
    expect(points).to_contain_text("123", timeout=EXPECT_TIMEOUT_MILLISECONDS)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "loyalty_earned.png"), full_page=True)

    page.goto(f"{running_app.url}/orders")
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    wait_until_idle(page)
    _set_status(page, number, "refunded")
    assert _ledger(running_app.database_url, order_id) == [("earn", 123), ("reversal", -123)]
    _points_shown(page, running_app.url, customer_id)
    points = page.get_by_test_id("stMetric").filter(has_text="Loyalty points")
    expect(points).not_to_contain_text("123", timeout=EXPECT_TIMEOUT_MILLISECONDS)
    expect(points).to_contain_text("0")
    page.screenshot(path=str(SHOTS / "loyalty_reversed.png"), full_page=True)
