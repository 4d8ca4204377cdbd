"""Hardening in a real browser: hostile customer text stays text on Customer 360; a forbidden address says so."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

from crm.auth import start_session
from crm.db import make_engine
from crm.imports import run_import
from crm.ui.login import SESSION_COOKIE
from crm.ui.navigation import NO_ACCESS_MESSAGE

pytestmark = pytest.mark.browser

EVIL_IMAGE = "![x](http://evil.example/p.png)"
EVIL_NOTES = "<img src=http://evil.example/q.png onerror=alert(1)> [click](javascript:alert(1))"


def _signed_in_as(page: Page, running_app, username: str, path: str = "") -> None:
    engine = make_engine(running_app.database_url)
    try:
        token = start_session(engine, username, running_app.cookie_key)
    finally:
        engine.dispose()
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": running_app.url}])
    page.goto(f"{running_app.url}/{path}")
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def test_an_agent_opening_users_by_its_address_reads_no_access_not_page_not_found(running_app, page: Page) -> None:
    _signed_in_as(page, running_app, "agent", "users")
    expect(page.get_by_text(NO_ACCESS_MESSAGE)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.url.rstrip("/").endswith("/users")
    # The menu still offers only the agent's own pages.
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Users", exact=True)).to_have_count(0)


def test_customer_360_shows_a_hostile_name_as_text_and_fetches_nothing_from_outside(running_app, page: Page) -> None:
    engine = make_engine(running_app.database_url)
    try:
        # A row of its own (the server is shared by the session): the name and notes an attacker imported.
        csv = f'Email,First name,Last name,Notes\nhostile.guest@example.com,"{EVIL_IMAGE}",Hostile,"{EVIL_NOTES}"\n'
        assert run_import(engine, csv.encode("utf-8"), entity="customers").inserted == 1
    finally:
        engine.dispose()
    outside: list[str] = []

    def watch(request: Request) -> None:
        if "evil.example" in request.url:
            outside.append(request.url)

    page.on("request", watch)
    _signed_in_as(page, running_app, "admin", "customer_360")
    page.get_by_role("textbox", name="Find a customer").fill("hostile.guest")
    page.keyboard.press("Enter")
    # The search lists matches; picking one opens that customer (and puts it in the address).
    page.get_by_test_id("stSelectbox").filter(has_text="1 match").click()
    page.get_by_role("option").first.click()
    # The heading reads as typed (a word joiner, invisible, keeps the address from becoming a link).
    heading = page.get_by_role("heading").filter(has_text="![x](http")
    expect(heading).to_be_visible()
    assert heading.first.inner_text().replace("\u2060", "").startswith(EVIL_IMAGE)
    page.get_by_role("tab", name="Notes").click()
    expect(page.get_by_text("q.png onerror=alert(1)", exact=False)).to_be_visible()
    assert page.locator("img[src*='evil.example']").count() == 0
    assert page.locator("a[href*='evil.example']").count() == 0  # not even a link to it
    assert page.locator("a[href^='javascript']").count() == 0
    assert outside == []
