"""Sign-in in a real browser: deep links survive a reload, sign-out revokes the cookie server-side."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from crm.audit import AuditQuery, audit_entries
from crm.db import make_engine
from crm.permissions import Actor
from crm.ui.login import SESSION_COOKIE
from tests.browser.conftest import wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def _session_cookie(context: BrowserContext, timeout_seconds: float = 20) -> dict[str, Any]:
    """The session cookie, once the cookie component has written it."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        for cookie in context.cookies():
            if cookie["name"] == SESSION_COOKIE:
                return dict(cookie)
        time.sleep(0.2)
    raise AssertionError(f"the browser never received the {SESSION_COOKIE} cookie")


def _wait_until_cookie_is_gone(context: BrowserContext, timeout_seconds: float = 20) -> None:
    deadline = time.monotonic() + timeout_seconds
    while any(cookie["name"] == SESSION_COOKIE for cookie in context.cookies()):
        assert time.monotonic() < deadline, f"the browser still holds the {SESSION_COOKIE} cookie"
        time.sleep(0.2)


def _screenshot(page: Page, name: str, last_to_render: Locator) -> None:
    expect(last_to_render).to_be_visible()
    page.wait_for_timeout(1_500)  # let canvas grids and charts paint
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _shows_sign_in_form(page: Page) -> None:
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_login_page_lists_demo_accounts_in_demo_mode(running_app, page: Page) -> None:
    page.goto(running_app.url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text("demo-analyst")).to_be_visible()
    _screenshot(page, "auth_login.png", page.get_by_test_id("stTable"))


def test_deep_link_survives_reload_and_sign_out_revokes_the_cookie(
    running_app, browser: Browser, page: Page, sign_in
) -> None:
    # Signing in on a deep link lands on that page, not on the default one.
    sign_in(page, "admin", path="/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert page.url.rstrip("/").endswith("/users")
    cookie = _session_cookie(page.context)

    page.reload()
    expect(page.get_by_text("Signed in as admin")).to_be_visible()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    assert page.url.rstrip("/").endswith("/users")
    _screenshot(page, "auth_users.png", page.get_by_test_id("stDataFrame"))

    page.goto(f"{running_app.url}/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_text("Signed in as admin")).to_be_visible()
    _screenshot(page, "auth_audit.png", page.get_by_test_id("stDataFrame"))

    # Control: while the session is live, the copied cookie signs a fresh browser in.
    copy = browser.new_context()
    try:
        copy.add_cookies([cookie])
        other = copy.new_page()
        other.goto(f"{running_app.url}/users")
        expect(other.get_by_role("heading", name="Users")).to_be_visible(timeout=45_000)
    finally:
        copy.close()

    page.get_by_role("button", name="Sign out").click()
    _shows_sign_in_form(page)
    # The browser forgets the cookie too (the server-side revocation is what the replay below checks).
    _wait_until_cookie_is_gone(page.context)

    # The old cookie, restored into a new browser, no longer signs in.
    replay = browser.new_context()
    try:
        replay.add_cookies([cookie])
        other = replay.new_page()
        other.goto(f"{running_app.url}/users")
        _shows_sign_in_form(other)
        other.reload()
        _shows_sign_in_form(other)
    finally:
        replay.close()


@pytest.mark.parametrize(
    ("username", "path", "heading"), [("manager", "overview", "Overview"), ("agent", "my_work", "My work")]
)
def test_each_roles_first_page_has_its_own_address_through_sign_in_and_reload(
    running_app, page: Page, sign_in, username: str, path: str, heading: str
) -> None:
    # Before the fix the first page was served only at "/": /overview answered "Page not found".
    sign_in(page, username, path=f"/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    # The address also carries the sidebar's filters (?period=…): its path is the page's own.
    assert urlsplit(page.url).path.rstrip("/").endswith(f"/{path}")
    _session_cookie(page.context)
    page.reload()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    # The address also carries the sidebar's filters (?period=…): its path is the page's own.
    assert urlsplit(page.url).path.rstrip("/").endswith(f"/{path}")
    # The root address forwards to that same address.
    page.goto(running_app.url)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.wait_for_url(re.compile(rf"/{path}(\?|$)"))  # the sidebar's filters may follow in the address


def test_wrong_password_is_refused_without_signing_in(running_app, page: Page) -> None:
    page.goto(running_app.url)
    page.get_by_role("textbox", name="Username", exact=True).fill("manager")
    page.get_by_role("textbox", name="Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Username or password is incorrect.")).to_be_visible()
    _shows_sign_in_form(page)


def test_the_first_request_after_a_server_start_on_a_deep_link_gets_the_sign_in_form(fresh_app, page: Page) -> None:
    # Without the fix Streamlit ran pages/users.py alone here: its own page list, no sign-in form.
    page.goto(f"{fresh_app.url}/users")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="activities")).to_have_count(0)  # no pages/ folder listing
    assert page.url.rstrip("/").endswith("/users")
    page.get_by_role("textbox", name="Username", exact=True).fill("admin")
    page.get_by_role("textbox", name="Password", exact=True).fill("demo-admin")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()


def test_an_admin_downloads_the_audit_log_as_csv_and_the_download_is_audited(running_app, page: Page, sign_in) -> None:
    sign_in(page, "admin", path="/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    wait_until_idle(page)  # a click during a rerun would be lost
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit_log_")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "id,at,username,action,entity,entity_id,before,after"
    assert ",system,import,demo," in text  # the demo load
    engine = make_engine(running_app.database_url)
    exports = audit_entries(engine, Actor.system(), AuditQuery(action="export", entity="audit_log", username="admin"))
    engine.dispose()
    assert len(exports) >= 1


def test_the_first_sign_in_after_a_server_start_is_answered_and_its_refusal_stays_visible(
    fresh_app, page: Page
) -> None:
    page.goto(fresh_app.url)
    page.get_by_role("textbox", name="Username", exact=True).fill("manager")
    page.get_by_role("textbox", name="Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    refusal = page.get_by_text("Username or password is incorrect.")
    expect(refusal).to_be_visible()
    page.wait_for_timeout(3_000)  # the cookie component's extra run must not wipe the message
    expect(refusal).to_be_visible()
    page.get_by_role("textbox", name="Password", exact=True).fill("demo-manager")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as manager")).to_be_visible()
