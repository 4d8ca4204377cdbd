"""The Service analytics page and the Knowledge base page in AppTest, on tiny_shop (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm.db import init_database, make_engine
from crm.ui.navigation import pages_for_role
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.service.knowledge_support import build_knowledge_base
from tests.ui.apptest_support import app_as, copy_database


@pytest.fixture(scope="module")
def tiny_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_shop with its four tickets and the small knowledge base of tests/service/knowledge_support.py."""
    path = tmp_path_factory.mktemp("service-tiny") / "tiny.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    load_tiny_shop(engine)
    build_knowledge_base(engine)
    engine.dispose()
    return path


def _open(url: str, username: str, page: str, *, all_time: bool = False) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page(page)
    if all_time:
        app.selectbox(key="filter_period").set_value("All time")
    app.run()
    assert not app.exception, app.exception
    return app


def _metric(app: AppTest, label: str) -> str:
    return next(metric.value for metric in app.metric if metric.label == label)


def test_the_service_page_shows_tiny_shops_ticket_numbers_with_definitions(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), "mia", "pages/service.py", all_time=True)
    assert app.title[0].value == "Service"
    # Four tickets: T1 and T3 resolved; first responses 0.5, 1.5, 4, 30 h; CSAT (5 + 2) / 2; 1 of 4 met the SLA.
    assert (_metric(app, "Opened"), _metric(app, "Resolved"), _metric(app, "Backlog")) == ("4", "2", "2")
    assert _metric(app, "First response, median") == "2.8 h"
    assert _metric(app, "CSAT") == "3.50 / 5"
    assert _metric(app, "SLA attainment") == "25.0%"
    assert all(metric.help for metric in app.metric), "every number carries its definition"
    agents = app.dataframe[-1].value
    assert list(agents["agent"]) == ["Sam Agent", "Ada Admin"]


def test_the_service_page_is_for_analytics_roles_only() -> None:
    assert "Service" in [page.title for page in pages_for_role("analyst")]
    assert "Service" in [page.title for page in pages_for_role("manager")]
    assert "Service" not in [page.title for page in pages_for_role("agent")]
    assert "Knowledge base" in [page.title for page in pages_for_role("agent")]
    assert "Knowledge base" in [page.title for page in pages_for_role("analyst")]


def test_an_agent_is_refused_the_service_page(tiny_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(tiny_database, tmp_path), "sam")
    app.run()
    app.switch_page("pages/service.py").run()
    assert any("may not open this page" in error.value for error in app.error)


def test_a_reader_searches_and_sees_highlighted_published_hits_only(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), "ann", "pages/knowledge_base.py")
    app.text_input(key="kb_query").set_value("refund").run()
    assert not app.exception, app.exception
    shown = " ".join(str(element.proto.body) for element in app.get("html"))
    assert "Refund <mark>policy</mark>" not in shown  # the query word is marked, not others
    assert "<mark>Refund</mark> policy" in shown
    assert "exceptions" not in shown  # the draft stays hidden from an analyst
    assert [tab.label for tab in app.tabs] == ["Articles", "FAQ"]


def test_opening_an_article_counts_a_view_and_takes_a_vote(tiny_database: Path, tmp_path: Path) -> None:
    url = copy_database(tiny_database, tmp_path)
    app = app_as(url, "ann")
    app.run()
    app.switch_page("pages/knowledge_base.py")
    app.query_params["article"] = "1"  # the refund policy, as a link from a ticket reply opens it
    app.run()
    assert not app.exception, app.exception
    assert any("1 views" in caption.value for caption in app.caption)
    app.button(key="kb_vote_yes").click().run()
    assert any("1 yes, 0 no" in caption.value for caption in app.caption)


def test_an_agent_writes_a_draft_with_a_preview_that_never_runs_a_script(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), "sam", "pages/knowledge_base.py")
    assert [tab.label for tab in app.tabs][:3] == ["Articles", "FAQ", "Write an article"]
    app.text_input(key="kb_new_title").set_value("Gift cards")
    app.text_area(key="kb_new_body").set_value("**Gift** cards <script>alert(1)</script> [x](javascript:alert(1))")
    app.run()
    preview = " ".join(str(element.proto.body) for element in app.get("html"))
    assert "<strong>Gift</strong>" in preview and "<script>" not in preview and 'href="javascript' not in preview
    app.button(key="kb_new_save").click().run()
    assert not app.exception, app.exception
    assert any("Draft saved" in success.value for success in app.success)


def test_from_a_ticket_an_agent_searches_the_knowledge_base_and_inserts_an_article_link(
    tiny_database: Path, tmp_path: Path
) -> None:
    app = _open(copy_database(tiny_database, tmp_path), "sam", "pages/service_desk.py")
    app.selectbox(key="q_open").set_value("CS202503040001").run()
    app.text_area(key="ticket_reply_body").set_value("Hello Bob,").run()
    app.text_input(key="ticket_kb_query").set_value("refund").run()
    assert not app.exception, app.exception
    # Only published articles qualify for a customer reply: the draft about refunds is not offered.
    app.radio(key="ticket_kb_choice").set_value(1).run()
    app.button(key="ticket_kb_insert").click().run()
    assert not app.exception, app.exception
    assert app.text_area(key="ticket_reply_body").value == "Hello Bob,\n[Refund policy](/knowledge_base?article=1)"
    assert app.radio(key="ticket_kb_choice").options == ["Refund policy", "Tracking your parcel"]


def _faq_questions(app: AppTest) -> list[str]:
    # Labels are Markdown source with every punctuation character escaped; the reader sees them unescaped.
    return [expander.label.replace("\\", "") for expander in app.expander][:3]


def test_a_manager_reorders_and_edits_the_faq(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), "mia", "pages/knowledge_base.py")
    # Pinned "reset my password" first, then by order: parcel (0), refund (2).
    assert _faq_questions(app) == [
        "📌 How do I reset my password?",
        "Where is my parcel?",
        "How long does a refund take?",
    ]
    app.button(key="kb_pin_1").click().run()  # pin the refund entry (id 1): pinned ones by their order
    assert not app.exception, app.exception
    assert _faq_questions(app) == [
        "📌 How do I reset my password?",
        "📌 How long does a refund take?",
        "Where is my parcel?",
    ]
    app.text_input(key="kb_faq_3_1_question").set_value("Where is my order?")
    app.button(key="kb_faq_3_1_save").click().run()
    assert not app.exception, app.exception
    assert any("FAQ entry saved" in success.value for success in app.success)
    assert _faq_questions(app)[2] == "Where is my order?"


def test_a_manager_moves_a_category_and_an_invalid_move_is_refused(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), "mia", "pages/knowledge_base.py")
    app.selectbox(key="kb_category_edit").set_value(1).run()  # Shipping (root)
    app.selectbox(key="kb_category_1_parent").set_value(2).run()  # under its own child "Returns"
    app.button(key="kb_category_1_save").click().run()
    assert "cannot move under itself" in app.error[0].value
    app.selectbox(key="kb_category_1_parent").set_value(3).run()  # under "Account"
    app.button(key="kb_category_1_save").click().run()
    assert not app.exception, app.exception
    assert any("Category saved" in success.value for success in app.success)
