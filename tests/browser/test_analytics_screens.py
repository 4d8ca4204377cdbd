"""The analytics pages in a real browser as admin: each renders its charts without an error;
screenshots go to /tmp/shots/analytics_*.png for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
PAGES = {
    "overview": "Overview",
    "revenue": "Revenue & transactions",
    "demographics": "Demographics",
    "behavior": "Purchase behaviour",
    "segmentation": "Segmentation",
    "cohorts": "Cohorts",
}


@pytest.mark.parametrize("path", list(PAGES))
def test_analytics_page_draws_its_charts_in_the_browser(running_app, page: Page, sign_in, path: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    # The overview is the default page: its address is the app's root.
    sign_in(page, "admin", path="" if path == "overview" else f"/{path}")
    expect(page.get_by_role("heading", name=PAGES[path])).to_be_visible()
    charts = page.locator(".js-plotly-plot")
    expect(charts.first).to_be_visible()
    page.wait_for_timeout(2_000)  # let every chart paint before the screenshot
    assert charts.count() >= 1
    expect(page.get_by_test_id("stException")).to_have_count(0)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"analytics_{path}.png"), full_page=True)
