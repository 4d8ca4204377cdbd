"""Uploading a file through the import wizard in a real browser, one screenshot per step."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select

from crm.auth import start_session
from crm.db import make_engine
from crm.schema import customers
from crm.ui.login import SESSION_COOKIE
from tests.imports.conftest import DATA, KOREAN_CUSTOMERS

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def _screenshot(page: Page, name: str, last_to_render: Locator) -> None:
    expect(last_to_render).to_be_visible()
    page.wait_for_timeout(1_000)  # let data grids paint
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _korean_customers(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(customers).where(customers.c.phone_normalized.like("010%"))
            ).scalar_one()
    finally:
        engine.dispose()


def _signed_in_as(page: Page, running_app, username: str) -> None:
    """Sign in through the app's own session cookie (the sign-in form has its own browser test)."""
    engine = make_engine(running_app.database_url)
    try:
        token = start_session(engine, username, running_app.cookie_key)
    finally:
        engine.dispose()
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": running_app.url}])
    page.goto(running_app.url)
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def test_a_manager_uploads_the_korean_file_and_imports_it(running_app, page: Page) -> None:
    before = _korean_customers(running_app.database_url)
    _signed_in_as(page, running_app, "manager")
    page.goto(f"{running_app.url}/import")
    expect(page.get_by_role("heading", name="Import data")).to_be_visible()

    page.locator("input[type=file]").set_input_files(str(KOREAN_CUSTOMERS))
    expect(page.get_by_text("ko_customers_cp949.csv").first).to_be_visible()
    _screenshot(page, "import_1_upload.png", page.get_by_role("button", name="Next"))
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("CSV in cp949, comma-delimited, header on line 1, 30 data rows")).to_be_visible()
    _screenshot(page, "import_2_reading.png", page.get_by_test_id("stDataFrame"))
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("연락처", exact=True)).to_be_visible()
    _screenshot(page, "import_3_mapping.png", page.get_by_role("button", name="Next"))
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("Preview (dry run)")).to_be_visible()
    expect(page.get_by_test_id("stMetricValue").nth(1)).to_have_text("30")
    _screenshot(page, "import_4_preview.png", page.get_by_test_id("stDataFrame").first)
    assert _korean_customers(running_app.database_url) == before  # nothing written by the preview

    page.get_by_role("button", name="Import customers").click()
    expect(page.get_by_text("30 rows read: 30 were inserted")).to_be_visible()
    _screenshot(page, "import_5_done.png", page.get_by_role("button", name="Download report (JSON)"))
    assert _korean_customers(running_app.database_url) == before + 30


def test_the_preview_of_a_messy_file_shows_rejections_with_row_column_and_reason(running_app, page: Page) -> None:
    _signed_in_as(page, running_app, "admin")
    page.goto(f"{running_app.url}/import")
    page.locator("input[type=file]").set_input_files(str(DATA / "utf8_bom_customers.csv"))
    expect(page.get_by_text("utf8_bom_customers.csv").first).to_be_visible()
    # Click Next only once the step it belongs to has finished drawing (its Back button is drawn last).
    for drawn in (page.get_by_text("Read as:"), page.get_by_role("button", name="Reset to suggestions")):
        page.get_by_role("button", name="Next").click()
        expect(drawn).to_be_visible()
        expect(page.get_by_role("button", name="Back")).to_be_visible()
        page.wait_for_timeout(500)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Preview (dry run)")).to_be_visible()
    page.get_by_role("tab", name="Rejected (3 rows)").click()
    _screenshot(page, "import_6_rejections.png", page.get_by_role("tab", name="Rejected (3 rows)"))
    page.get_by_role("tab", name="Duplicates").click()
    _screenshot(page, "import_7_duplicates.png", page.get_by_role("tab", name="Duplicates"))
