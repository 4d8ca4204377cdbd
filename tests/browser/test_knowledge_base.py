"""The knowledge base in a real browser: a search with highlighted matches opens an article, and an article
written with a script tag and a javascript: link shows them as text without running anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from crm.db import make_engine
from crm.permissions import Actor
from crm.service import knowledge

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def test_an_analyst_searches_the_knowledge_base_and_opens_a_highlighted_hit(running_app, page: Page, sign_in) -> None:
    sign_in(page, "analyst", path="knowledge_base")
    expect(page.get_by_role("heading", name="Knowledge base", exact=True)).to_be_visible()
    search = page.get_by_label("Search articles and FAQ")
    search.fill("refund")
    search.press("Enter")
    # The demo's "When will I get my refund?" article and FAQ entry, with the word marked.
    expect(page.locator("mark", has_text="refund").first).to_be_visible()
    expect(page.get_by_text("best match first")).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "knowledge_base_search.png"))  # for a human to look at
    page.get_by_role("button", name="Open").first.click()
    expect(page.get_by_text("Was this helpful?")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_an_article_with_a_script_tag_and_a_javascript_link_runs_nothing(running_app, page: Page, sign_in) -> None:
    engine = make_engine(running_app.database_url)
    try:
        manager = Actor(user_id=None, username="system", role="admin")
        category = knowledge.category_tree(engine)[0].id
        article_id = knowledge.save_article(
            engine,
            manager,
            category_id=category,
            title="Browser safety check",
            body="Before <script>alert('pwned')</script> after. [Click me](javascript:alert('pwned'))",
        )
        knowledge.set_published(engine, manager, article_id, True)
    finally:
        engine.dispose()
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    sign_in(page, "analyst", path=f"knowledge_base?article={article_id}")
    expect(page.get_by_role("heading", name="Browser safety check")).to_be_visible()
    # The tag is shown as the text that was written; the javascript: link is no link at all.
    expect(page.get_by_text("<script>alert('pwned')</script>", exact=False)).to_be_visible()
    expect(page.locator("a[href^='javascript']")).to_have_count(0)
    expect(page.get_by_role("link", name="Click me")).to_have_count(0)
    page.wait_for_timeout(1_000)
    assert dialogs == []
