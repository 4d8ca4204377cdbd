"""The analytics pages in a real browser as analyst: each draws its charts without an error, with the
default filters and with a brand chosen in the sidebar. Screenshots go to /tmp/shots/analytics_*.png
for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
# Menu entry → page heading.
PAGES = {
    "overview": ("Overview", "Overview"),
    "revenue": ("Revenue", "Revenue & transactions"),
    "demographics": ("Demographics", "Demographics"),
    "behavior": ("Behaviour", "Purchase behaviour"),
    "segmentation": ("Segmentation", "Segmentation"),
    "cohorts": ("Cohorts", "Cohorts"),
}
# Streamlit scrolls inside its main block, so a tall window is what puts a whole page on the screenshot.
TALL_WINDOW = {"width": 1400, "height": 5200}


def _visit_every_page(page: Page, label: str) -> None:
    for name, (menu_entry, heading) in PAGES.items():
        page.get_by_role("link", name=menu_entry, exact=True).first.click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        charts = page.locator(".js-plotly-plot")
        expect(charts.first).to_be_visible()
        page.wait_for_timeout(2_000)  # let every chart paint before the screenshot
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=str(SHOTS / f"analytics_{label}{name}.png"))


def test_every_analytics_page_draws_its_charts_in_the_browser(running_app, page: Page, sign_in) -> None:
    sign_in(page, "analyst")
    page.set_viewport_size(TALL_WINDOW)
    SHOTS.mkdir(exist_ok=True)
    _visit_every_page(page, "")
    # A brand narrows orders to the brand's and customer counts to the brand's customers.
    brand = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Brand")
    brand.click()
    page.get_by_role("option", name="Aurora", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("brand:", exact=False).first).to_be_visible()
    _visit_every_page(page, "brand_")
