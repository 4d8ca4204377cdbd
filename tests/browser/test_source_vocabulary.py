"""Sources in a real browser: an import with differently-cased sources leaves one option per source."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_import_upload import _screenshot, _signed_in_as

pytestmark = pytest.mark.browser

# A rerun on two busy shared cores can take many seconds.
TIMEOUT_MILLISECONDS = 30_000


def test_an_import_with_differently_cased_sources_offers_each_source_once(
    running_app, page: Page, tmp_path: Path
) -> None:
    upload = tmp_path / "mixed_sources.csv"
    upload.write_text(
        "First Name,Email,Source\n"
        "Pia,pia.vocab@example.com,Pop-up Market\n"
        "Per,per.vocab@example.com, POP-UP MARKET \n"
        "Pat,pat.vocab@example.com,pop up market\n"
        "Wes,wes.vocab@example.com,Website\n"
        "Wil,wil.vocab@example.com,web site\n",
        encoding="utf-8",
    )
    _signed_in_as(page, running_app, "admin")
    page.goto(f"{running_app.url}/import")
    page.locator("input[type=file]").set_input_files(str(upload))
    expect(page.get_by_text("mixed_sources.csv").first).to_be_visible()
    for drawn in (page.get_by_text("Read as:"), page.get_by_role("button", name="Reset to suggestions")):
        page.get_by_role("button", name="Next").click()
        expect(drawn).to_be_visible(timeout=TIMEOUT_MILLISECONDS)
        expect(page.get_by_role("button", name="Back")).to_be_visible(timeout=TIMEOUT_MILLISECONDS)
        page.wait_for_timeout(500)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Preview (dry run)")).to_be_visible(timeout=TIMEOUT_MILLISECONDS)
    page.get_by_role("button", name="Import customers").click()
    expect(page.get_by_text("5 rows read: 5 were inserted")).to_be_visible(timeout=TIMEOUT_MILLISECONDS)

    page.goto(f"{running_app.url}/customers")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible(timeout=TIMEOUT_MILLISECONDS)
    source_filter = page.get_by_test_id("stMultiSelect").filter(has_text="Source").first
    source_filter.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible(timeout=TIMEOUT_MILLISECONDS)
    shown = [text.strip() for text in options.all_inner_texts()]
    _screenshot(page, "source_options.png", options.first)
    assert shown.count("Pop up market") == 1, shown
    assert shown.count("Website") == 1, shown
    assert not [text for text in shown if "_" in text or text != text.strip() or text.islower()], shown
