"""The customers grid in a real browser: edit a cell, save, reload, and the value is still there."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from crm.db import make_engine
from crm.schema import customers, utc_now
from tests.browser.conftest import wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
# Glide data grid geometry (Streamlit's default row height): header and body rows are 35 px.
ROW_HEIGHT = 35
# Columns from Id (not editable) to City in the customers grid: First, Last, Email, Phone, Company, City.
STEPS_FROM_ID_TO_CITY = 6
# Each grid edit and save is a script rerun; on two busy shared cores that can take many seconds.
EXPECT_TIMEOUT_MILLISECONDS = 30_000


def _screenshot(page: Page, name: str) -> None:
    page.wait_for_timeout(1_500)  # the grid paints on a canvas after the DOM settles
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _search(page: Page, text: str) -> Locator:
    box = page.get_by_role("textbox", name="Search")
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_text("1 customers match")).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    # Wait for the rerun to finish and the grid to be laid out.
    wait_until_idle(page)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    return grid


def _create_customer(database_url: str, email: str) -> int:
    engine = make_engine(database_url)
    now = utc_now()
    try:
        with engine.begin() as connection:
            return connection.execute(
                customers.insert().values(
                    first_name="Grid",
                    last_name="Tester",
                    email=email,
                    email_normalized=email,
                    city="Seoul",
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
    finally:
        engine.dispose()


def _row(database_url: str, customer_id: int) -> dict[str, object]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(select(customers).where(customers.c.id == customer_id)).mappings().one())
    finally:
        engine.dispose()


def test_an_edited_cell_persists_after_save_and_reload(running_app, page: Page, sign_in) -> None:
    email = f"grid-{secrets.token_hex(4)}@example.com"
    customer_id = _create_customer(running_app.database_url, email)
    page.set_viewport_size({"width": 1500, "height": 1000})
    sign_in(page, "agent", path="/customers")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()

    grid = _search(page, email)
    _type_into(page, grid, STEPS_FROM_ID_TO_CITY, "Busan")

    save = page.get_by_role("button", name="Save")
    expect(save).to_be_enabled(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    _screenshot(page, "records_grid_edited.png")
    save.click()
    expect(page.get_by_text("Saved: 1 updated.")).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    row = _row(running_app.database_url, customer_id)
    assert row["city"] == "Busan", row

    page.reload()
    expect(page.get_by_text("Signed in as agent")).to_be_visible()
    _search(page, email)
    _screenshot(page, "records_grid_after_reload.png")
    # The grid is a canvas; the 360 page shows the stored city as text.
    page.get_by_role("link", name="Customer 360").first.click()
    expect(page.get_by_role("heading", name="Customer 360")).to_be_visible()
    search = page.get_by_role("textbox", name="Find a customer")
    search.fill(email)
    search.press("Enter")
    # The search lists matches; picking one opens that customer (and puts it in the address).
    page.get_by_test_id("stSelectbox").filter(has_text="1 match").click()
    page.get_by_role("option").first.click()
    expect(page.get_by_text("Busan")).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    _screenshot(page, "records_customer_360.png")


def _type_into(page: Page, grid: Locator, steps_from_id: int, text: str) -> None:
    """Select the only row's Id cell, walk right ``steps_from_id`` cells, type ``text`` and confirm."""
    wait_until_idle(page)  # a click during a rerun lands on a grid that is about to be redrawn
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + ROW_HEIGHT * 1.5)
    page.wait_for_timeout(500)  # the grid takes keyboard focus after the click is handled
    for _ in range(steps_from_id):
        page.keyboard.press("ArrowRight", delay=50)
        page.wait_for_timeout(100)
    page.keyboard.press("Enter")
    editor = page.locator(".gdg-input").first
    expect(editor).to_be_visible()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    expect(editor).to_have_value(text)
    page.wait_for_timeout(500)  # the overlay editor hands its value to the grid asynchronously
    page.keyboard.press("Enter")


def test_discard_drops_the_browsers_edits_so_the_next_save_holds_only_new_ones(
    running_app, page: Page, sign_in
) -> None:
    email = f"grid-{secrets.token_hex(4)}@example.com"
    customer_id = _create_customer(running_app.database_url, email)
    page.set_viewport_size({"width": 1500, "height": 1000})
    sign_in(page, "agent", path="/customers")
    grid = _search(page, email)
    _type_into(page, grid, STEPS_FROM_ID_TO_CITY, "Busan")
    discard = page.get_by_role("button", name="Discard")
    expect(discard).to_be_enabled(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    discard.click()
    expect(page.get_by_role("button", name="Save")).to_be_disabled(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    wait_until_idle(page)
    _screenshot(page, "records_grid_discarded.png")
    # Country is the column after City. Had the browser kept "Busan", this save would carry it too.
    grid = page.get_by_test_id("stDataFrame").first
    _type_into(page, grid, STEPS_FROM_ID_TO_CITY + 1, "KR")
    save = page.get_by_role("button", name="Save")
    expect(save).to_be_enabled(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    save.click()
    expect(page.get_by_text("Saved: 1 updated.")).to_be_visible(timeout=EXPECT_TIMEOUT_MILLISECONDS)
    row = _row(running_app.database_url, customer_id)
    assert (row["city"], row["country"]) == ("Seoul", "KR"), row
