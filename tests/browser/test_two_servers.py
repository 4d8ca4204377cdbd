"""Two app servers on one PostgreSQL database: a write through one shows on the other's next page run.

Server B caches the Overview (analytics results live 10 minutes in its memory); server A imports
30 customers through the import wizard. B's next run must count them at once: every data change
bumps the data version that B reads once per run and keys its cache by (docs/DESIGN.md
"Caching across servers").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crm.auth import start_session
from crm.db import init_database, make_engine
from crm.demo import DemoSize, generate_demo
from crm.ui.login import SESSION_COOKIE
from tests.browser.conftest import RunningApp, _served, wait_until_idle
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.imports.conftest import KOREAN_CUSTOMERS

pytestmark = pytest.mark.browser


@pytest.fixture
def shared_database() -> Iterator[str]:
    """A throwaway PostgreSQL database with demo data and the demo accounts; dropped afterwards."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set: two servers need a PostgreSQL database")
    database = f"crm_two_servers_{os.getpid()}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    database_url = make_url(url).set(database=database).render_as_string(hide_password=False)
    engine = make_engine(database_url)
    init_database(engine)
    generate_demo(engine, DemoSize(customers=200, orders=1_500), seed=3, with_demo_accounts=True)
    engine.dispose()
    yield database_url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def _signed_in(page: Page, app: RunningApp, username: str, path: str) -> None:
    engine = make_engine(app.database_url)
    try:
        token = start_session(engine, username, app.cookie_key)
    finally:
        engine.dispose()
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": app.url}])
    page.goto(f"{app.url}/{path}")
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def _new_customers_today(page: Page) -> int:
    wait_until_idle(page)
    first_card = page.get_by_test_id("stMetric").first  # "Today": New customers comes first
    expect(first_card).to_contain_text("New customers")
    return int(first_card.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def test_an_import_through_one_server_shows_on_the_other_servers_next_run(
    shared_database: str, tmp_path: Path, browser
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with _served(shared_database, tmp_path / "a") as server_a, _served(shared_database, tmp_path / "b") as server_b:
        viewer = browser.new_context().new_page()
        _signed_in(viewer, server_b, "analyst", "overview")
        before = _new_customers_today(viewer)

        importer = browser.new_context().new_page()
        _signed_in(importer, server_a, "manager", "import")
        importer.locator("input[type=file]").set_input_files(str(KOREAN_CUSTOMERS))
        expect(importer.get_by_text("ko_customers_cp949.csv").first).to_be_visible()
        wait_until_idle(importer)  # a click during a rerun is lost: each step waits for a quiet page
        importer.get_by_role("button", name="Next").click()
        expect(importer.get_by_text("CSV in cp949, comma-delimited, header on line 1, 30 data rows")).to_be_visible()
        wait_until_idle(importer)
        importer.get_by_role("button", name="Next").click()
        expect(importer.get_by_text("연락처", exact=True)).to_be_visible()
        wait_until_idle(importer)
        importer.get_by_role("button", name="Next").click()
        expect(importer.get_by_text("Preview (dry run)")).to_be_visible()
        importer.get_by_role("button", name="Import customers").click()
        expect(importer.get_by_text("30 rows read: 30 were inserted")).to_be_visible()

        viewer.reload()  # server B's next run; its cached Overview is minutes from expiring
        expect(viewer.get_by_text("Signed in as analyst")).to_be_visible()
        assert _new_customers_today(viewer) == before + 30
