"""Shared links in a real browser: a copied Overview address opened in a new browser (through the
sign-in form) shows the same filter sentence; Customer 360 opened from a Customers grid row and
from a search keeps that customer across a reload."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import _sign_in, wait_until_idle

pytestmark = pytest.mark.browser

SHOTS_DIR = "/tmp/shots"


def _filter_sentence(page: Page) -> str:
    # The caption above the charts (":material/filter_alt:" draws an icon, then the sentence).
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"^\W*filter_alt")).first
    expect(caption).to_be_visible()
    return caption.inner_text().replace("filter_alt", "").strip()


def test_a_copied_overview_address_opens_the_same_view_after_sign_in(
    running_app, browser: Browser, page: Page, sign_in
) -> None:
    sign_in(page, "manager", path="/overview")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").filter(has_text="Period").click()
    page.get_by_role("option", name="Last 90 days", exact=True).click()
    wait_until_idle(page)
    sidebar.get_by_test_id("stMultiSelect").filter(has_text="Gender").click()
    page.get_by_role("option", name="Female", exact=True).click()
    page.keyboard.press("Escape")
    wait_until_idle(page)
    expect(page).to_have_url(re.compile(r"genders=female"))
    sentence = _filter_sentence(page)
    assert "women" in sentence
    address = urlsplit(page.url)
    assert "period=last-90-days" in address.query

    other = browser.new_context()
    try:
        fresh = other.new_page()
        _sign_in(fresh, running_app, "manager", path=f"{address.path.lstrip('/')}?{address.query}")
        expect(fresh.get_by_role("heading", name="Overview")).to_be_visible()
        assert _filter_sentence(fresh) == sentence
        assert "genders=female" in fresh.url
        fresh.screenshot(path=f"{SHOTS_DIR}/shared_view_overview.png")
    finally:
        other.close()


def test_customer_360_keeps_the_customer_from_a_grid_row_and_from_a_search(page: Page, sign_in) -> None:
    sign_in(page, "agent", path="/customers")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    wait_until_idle(page)
    # Not the hardening test's hostile customer (same app): its shown name breaks links with a word joiner.
    option = page.get_by_role("option").filter(has_not_text="evil.example").first
    for _ in range(3):  # a click during a rerun is dropped: open the list until its options show
        page.get_by_test_id("stSelectbox").filter(has_text="Customer on this page").click()
        try:
            option.wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            wait_until_idle(page)
    chosen = option.inner_text().split(" · ")[0]
    option.click()
    page.get_by_role("link", name="Open in Customer 360").click()
    heading = page.get_by_role("heading", level=3).first
    expect(heading).to_contain_text(chosen)
    expect(page).to_have_url(re.compile(r"/customer_360\?customer=\d+"))
    grid_url = page.url
    page.reload()
    expect(page.get_by_role("heading", level=3).first).to_contain_text(chosen)
    assert page.url == grid_url

    # A search opens the picked match; a reload keeps it.
    search = page.get_by_role("textbox", name="Find a customer")
    search.fill("a")
    search.press("Enter")
    matches = page.get_by_test_id("stSelectbox").filter(has_text=re.compile(r"\d+ match"))
    matches.click()
    pick = page.get_by_role("option").filter(has_not_text="evil.example").nth(1)
    picked = pick.inner_text().split(" · ")[0]
    pick.click()
    expect(page.get_by_role("heading", level=3).first).to_contain_text(picked)
    expect(page).not_to_have_url(grid_url)
    page.reload()
    expect(page.get_by_role("heading", level=3).first).to_contain_text(picked)
    page.screenshot(path=f"{SHOTS_DIR}/customer_360_kept.png")
