"""KPI values are never cut off: every analytics page at 1024, 1280 and 1440 px wide (sidebar open), as the
manager. Each card's value must fit its card: no element inside it scrolls (scrollWidth ≤ clientWidth) and
the rendered text lies inside the card, and the text on screen is the whole value (no "…").
Screenshots go to /tmp/shots/layout/<width>_<page>.png for a human to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from crm.ui.navigation import PAGES
from tests.browser.conftest import wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/layout")
WIDTHS = (1024, 1280, 1440)
# Tall enough that a page's cards and first charts are on the screenshot (Streamlit scrolls its main block).
HEIGHT = 2600
# Every page of the Analytics section, including pages added later.
ANALYTICS_PAGES = [(spec.title, spec.url_path) for spec in PAGES if spec.section == "Analytics"]

# For each KPI card: its label, the value's text, whether anything inside it is cut, and the text's right edge
# against the card's (both in px).
_MEASURE = """
() => [...document.querySelectorAll('[data-testid="stMetric"]')].map((card) => {
  const value = card.querySelector('[data-testid="stMetricValue"]');
  const label = card.querySelector('[data-testid="stMetricLabel"]');
  const parts = [value, ...value.querySelectorAll('*')];
  const scrolls = parts.some((part) => part.scrollWidth > part.clientWidth + 1);
  const range = document.createRange();
  range.selectNodeContents(value);
  const text = range.getBoundingClientRect();
  const box = card.getBoundingClientRect();
  return {
    label: label ? label.innerText.trim() : '',
    value: value.textContent.trim(),
    shown: value.innerText.trim(),
    scrolls,
    inside: text.left >= box.left - 1 && text.right <= box.right + 1,
  };
})
"""


def _cut_cards(page: Page) -> list[dict[str, object]]:
    cards = page.evaluate(_MEASURE)
    assert cards, "the page shows KPI cards"
    return [card for card in cards if card["scrolls"] or not card["inside"] or card["shown"] != card["value"]]


def _open_page(page: Page, title: str, url_path: str) -> None:
    """Click the menu entry until the address is the page's (a click during a rerun can be dropped), so the
    cards measured are not the previous page's; the address may carry the filters as a query."""
    address = re.compile(rf".*/{url_path}(\?.*)?$")
    for _ in range(3):
        wait_until_idle(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        try:
            page.wait_for_url(address, timeout=15_000, wait_until="commit")
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"{title} did not open (address {page.url})")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_kpi_value_is_cut_off_on_any_analytics_page(running_app, page: Page, sign_in, width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": HEIGHT})
    sign_in(page, "manager")
    assert len(ANALYTICS_PAGES) >= 7
    for title, url_path in ANALYTICS_PAGES:
        _open_page(page, title, url_path)
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        wait_until_idle(page)
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        page.wait_for_timeout(1_500)  # let the charts paint before the screenshot
        expect(page.get_by_test_id("stSidebar")).to_be_visible()  # measured with the sidebar open
        page.screenshot(path=str(SHOTS / f"{width}_{title.lower().replace(' ', '_')}.png"))
        cut = _cut_cards(page)
        assert not cut, f"{title} at {width} px: {cut}"
        assert not any("…" in str(card["shown"]) for card in page.evaluate(_MEASURE))
