"""The Service analytics page in a real browser as manager: its cards and charts draw without an error.
A screenshot goes to /tmp/shots/service.png for a human to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def test_the_service_page_draws_its_numbers_and_charts(running_app, page: Page, sign_in) -> None:
    sign_in(page, "manager", path="service")
    page.set_viewport_size({"width": 1400, "height": 3200})
    expect(page.get_by_role("heading", name="Service", exact=True)).to_be_visible()
    # The first run computes four queries and three charts: slow when the machine is busy.
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="SLA attainment")).to_be_visible(timeout=90_000)
    expect(page.locator(".js-plotly-plot")).to_have_count(3)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_timeout(2_000)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "service.png"))
