"""The Segments page in a real browser: a nested rule built by clicking, its live count, and saving it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from crm.db import make_engine
from crm.marketing.segments import get_segment, segment_count
from tests.browser.conftest import RunningApp, wait_until_idle

SHOTS = Path("/tmp/shots")
RULE = {
    "all": [
        {"field": "gender", "op": "=", "value": "female"},
        {"any": [{"field": "orders_count", "op": ">=", "value": 10}]},
    ]
}


def _choose(page: Page, label: str, index: int, option: str) -> None:
    page.get_by_label(label, exact=True).nth(index).click()
    # The field list is long and drawn lazily: typing narrows it to the option.
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()
    wait_until_idle(page)


def test_an_analyst_builds_a_nested_rule_by_clicking_and_saves_it(
    running_app: RunningApp, page: Page, sign_in: Callable[..., None]
) -> None:
    sign_in(page, "analyst", path="segments")
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    expect(page.get_by_text("never matches a comparison")).to_be_visible()
    page.get_by_role("button", name="OR group").first.click()
    wait_until_idle(page)
    _choose(page, "Field", 0, "Gender")
    _choose(page, "Value", 0, "female")
    _choose(page, "Field", 1, "Orders")
    _choose(page, "Operator", 1, "≥")
    value = page.get_by_label("Value", exact=True).nth(1)
    value.fill("10")
    value.press("Enter")
    wait_until_idle(page)
    expected = segment_count(make_engine(running_app.database_url), RULE)
    metric = page.get_by_test_id("stMetric").filter(has_text="Customers in this segment")
    expect(metric).to_contain_text(f"{expected:,}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "segments_builder.png"), full_page=True)
    page.get_by_label("Name", exact=True).fill("Browser: frequent women")
    wait_until_idle(page)
    page.get_by_role("button", name="Save as new segment").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    assert get_segment(make_engine(running_app.database_url), "Browser: frequent women").rules == RULE
