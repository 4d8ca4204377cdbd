"""Chart and table downloads in a real browser: the files are built on click, correct and audited."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.auth import start_session
from crm.db import make_engine
from crm.schema import audit_log
from crm.ui.login import SESSION_COOKIE
from tests.browser.conftest import CHROMIUM, wait_until_idle

pytestmark = pytest.mark.browser


def _signed_in_as(page: Page, running_app, username: str) -> None:
    engine = make_engine(running_app.database_url)
    try:
        token = start_session(engine, username, running_app.cookie_key)
    finally:
        engine.dispose()
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": running_app.url}])
    page.goto(running_app.url)
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def _exports_by(database_url: str, username: str) -> list[tuple[str, str]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(audit_log.c.entity, audit_log.c.after_json).where(
                    audit_log.c.action == "export", audit_log.c.username == username
                )
            ).all()
    finally:
        engine.dispose()
    return [(row.entity, row.after_json) for row in rows]


def test_an_analyst_downloads_a_chart_and_a_table_from_the_overview(running_app, page: Page) -> None:
    _signed_in_as(page, running_app, "analyst")
    # The chart file is built on the first click; the download is named after what was built.
    prepare = page.get_by_role("button", name="Prepare chart").first
    expect(prepare).to_be_visible()
    prepare.click()
    chart_button = page.get_by_role("button", name="Download ").filter(has_text="revenue").first
    expect(chart_button).to_be_visible()
    wait_until_idle(page)
    with page.expect_download() as chart_download:
        chart_button.click()
    chart = chart_download.value
    data = Path(chart.path()).read_bytes()
    # With Debian's chromium (installed by the test command) kaleido renders a real PNG; without it the
    # download is the interactive HTML, named as such (tests/test_exports.py covers that fallback).
    if CHROMIUM.exists():
        assert chart.suggested_filename.endswith(".png")
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert chart.suggested_filename.endswith(".html")
        assert b"plotly" in data

    xlsx_button = page.get_by_role("button", name="Download XLSX").first
    wait_until_idle(page)
    with page.expect_download() as table_download:
        xlsx_button.click()
    workbook = openpyxl.load_workbook(io.BytesIO(Path(table_download.value.path()).read_bytes()))
    assert workbook.active.max_row >= 2  # a header and at least one row of the filtered table

    # Both downloads were built on click and audited: one chart, one table.
    formats = sorted(json.loads(after)["format"] for _, after in _exports_by(running_app.database_url, "analyst"))
    assert formats == sorted([chart.suggested_filename.rsplit(".", 1)[1], "xlsx"])
