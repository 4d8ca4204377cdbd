"""Relationship work in a real browser: a visit with a payment counted by the Visits page, the agent's
landing page (My work) opening a customer, and a manager merging two customers."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from crm.db import make_engine
from crm.schema import customers, interactions, orders, users, utc_now, visit_payments, visits
from tests.browser.conftest import RunningApp, wait_until_idle

pytestmark = pytest.mark.browser

# Every save is a script rerun; on two busy shared cores that can take many seconds.
TIMEOUT = 30_000


def _customer(database_url: str, first: str, last: str, **values: object) -> int:
    engine = make_engine(database_url)
    now = utc_now()
    try:
        with engine.begin() as connection:
            return int(
                connection.execute(
                    customers.insert().values(
                        first_name=first, last_name=last, created_at=now, updated_at=now, **values
                    )
                ).inserted_primary_key[0]
            )
    finally:
        engine.dispose()


def _metric(page: Page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return card.get_by_test_id("stMetricValue").inner_text()


def _visits_shown(page: Page) -> int:
    """The Visits page's visit count (opened from the menu: a new address would start a new session)."""
    wait_until_idle(page)  # a click during a rerun is dropped
    page.get_by_role("link", name="Visits", exact=True).first.click()
    expect(page.get_by_role("heading", name="Visits", exact=True)).to_be_visible(timeout=TIMEOUT)
    wait_until_idle(page)
    return int(_metric(page, "Visits").replace(",", ""))


def test_a_visit_with_a_payment_recorded_in_customer_360_shows_in_the_visit_analytics(
    page: Page, running_app: RunningApp, sign_in: Callable[..., None]
) -> None:
    tag = secrets.token_hex(3)
    customer_id = _customer(running_app.database_url, "Visitor", f"Browser{tag}")
    sign_in(page, "manager")
    before = _visits_shown(page)

    wait_until_idle(page)
    page.get_by_role("link", name="Customer 360").first.click()
    search = page.get_by_role("textbox", name="Find a customer")
    search.fill(f"Visitor Browser{tag}")
    search.press("Enter")
    # The search lists matches; picking one opens that customer (and puts it in the address).
    page.get_by_test_id("stSelectbox").filter(has_text="1 match").click()
    page.get_by_role("option").first.click()
    expect(page.get_by_text(f"Visitor Browser{tag} ·").first).to_be_visible(timeout=TIMEOUT)
    wait_until_idle(page)
    page.get_by_role("tab", name="Record a visit").click()
    page.get_by_role("textbox", name="Location").fill("Browser store")
    amount = page.get_by_role("spinbutton", name="Payment 1 amount")
    amount.fill("123.45")
    amount.press("Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Record the visit").click()
    expect(page.get_by_text("recorded with 1 payment(s), 123.45 in all")).to_be_visible(timeout=TIMEOUT)

    engine = make_engine(running_app.database_url)
    try:
        with engine.connect() as connection:
            paid = connection.execute(
                select(func.sum(visit_payments.c.amount))
                .select_from(visit_payments.join(visits, visits.c.id == visit_payments.c.visit_id))
                .where(visits.c.customer_id == customer_id)
            ).scalar_one()
    finally:
        engine.dispose()
    assert float(paid) == 123.45
    # The Visits page (last 12 months by default, today included) counts it at once: writes clear the cache.
    assert _visits_shown(page) == before + 1


def test_the_agents_landing_page_is_my_work_and_an_item_opens_the_customer(
    page: Page, running_app: RunningApp, sign_in: Callable[..., None]
) -> None:
    tag = secrets.token_hex(3)
    customer_id = _customer(running_app.database_url, "Followup", f"Browser{tag}")
    engine = make_engine(running_app.database_url)
    now = utc_now()
    try:
        with engine.begin() as connection:
            agent_id = connection.execute(select(users.c.id).where(users.c.username == "agent")).scalar_one()
            connection.execute(
                interactions.insert().values(
                    customer_id=customer_id,
                    user_id=agent_id,
                    interaction_type="follow_up",
                    subject=f"Call back {tag}",
                    status="planned",
                    occurred_at=now - timedelta(days=2),
                    follow_up_at=now - timedelta(days=2),
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        engine.dispose()
    sign_in(page, "agent")
    expect(page.get_by_role("heading", name="My work")).to_be_visible(timeout=TIMEOUT)
    assert page.url.rstrip("/").endswith("/my_work")
    link = page.get_by_role("link", name=f"Followup Browser{tag}")
    expect(link).to_be_visible(timeout=TIMEOUT)
    link.click()
    expect(page.get_by_role("heading", name="Customer 360")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(f"Followup Browser{tag} ·").first).to_be_visible(timeout=TIMEOUT)
    assert f"customer={customer_id}" in page.url


def test_a_manager_merges_two_customers_and_the_duplicates_orders_move(
    page: Page, running_app: RunningApp, sign_in: Callable[..., None]
) -> None:
    tag = secrets.token_hex(3)
    keep_id = _customer(running_app.database_url, "Keep", f"Merge{tag}", email=f"keep{tag}@example.com")
    drop_id = _customer(running_app.database_url, "Drop", f"Merge{tag}", city="Busan")
    engine = make_engine(running_app.database_url)
    now = utc_now()
    try:
        with engine.begin() as connection:
            connection.execute(
                orders.insert().values(
                    order_number=f"MERGE-{tag}", customer_id=drop_id, order_date=now, created_at=now, updated_at=now
                )
            )
    finally:
        engine.dispose()
    sign_in(page, "manager", path="customers")
    page.get_by_text("Merge duplicate customers").click()
    keep = page.get_by_role("textbox", name="Find a customer to keep")
    keep.fill(f"Keep Merge{tag}")
    keep.press("Enter")
    wait_until_idle(page)
    drop = page.get_by_role("textbox", name="Find a duplicate to merge into it")
    drop.fill(f"Drop Merge{tag}")
    drop.press("Enter")
    wait_until_idle(page)
    page.get_by_text(f"Yes, merge customer {drop_id} into customer {keep_id}").click()
    wait_until_idle(page)
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_text(f"Merged customer {drop_id} into {keep_id}.")).to_be_visible(timeout=TIMEOUT)

    engine = make_engine(running_app.database_url)
    try:
        with engine.connect() as connection:
            left = connection.execute(select(func.count()).select_from(customers).where(customers.c.id == drop_id))
            owner = connection.execute(select(orders.c.customer_id).where(orders.c.order_number == f"MERGE-{tag}"))
            assert (left.scalar_one(), owner.scalar_one()) == (0, keep_id)
    finally:
        engine.dispose()
