"""The analytics pages in AppTest: every page for admin, manager and analyst on demo data,
the empty state when the filters match nothing, the agent is refused, and tiny_shop numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from crm.audit import record_audit
from crm.db import init_database, make_engine
from crm.permissions import Actor
from crm.schema import orders
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, copy_database, make_demo_database

PAGES = {
    "pages/overview.py": (
        "Overview",
        ["Revenue", "Conversion rate", "Net cash", "Pending orders", "Purchase frequency", "Transactions"],
    ),
    "pages/revenue.py": (
        "Revenue & transactions",
        ["Revenue", "Average order value", "Net cash", "Purchase frequency"],
    ),
    "pages/demographics.py": ("Demographics", ["Customers", "Buying customers", "Revenue per buyer"]),
    "pages/behavior.py": ("Purchase behaviour", ["Repeat rate", "Days between orders"]),
    "pages/segmentation.py": ("Segmentation", ["Top source by revenue", "Conversion rate"]),
    "pages/cohorts.py": ("Cohorts", ["Cohorts", "First-time buyers", "Month-1 retention"]),
}
EMPTY = "Nothing matches these filters"


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("analytics-demo") / "crm.db"
    make_demo_database(path, customers=300, orders=3_000)
    return path


@pytest.fixture(scope="module")
def tiny_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("analytics-tiny") / "tiny.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return path


def _open(url: str, username: str, page: str) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def _metric(app: AppTest, label: str) -> str:
    return next(metric.value for metric in app.metric if metric.label == label)


@pytest.mark.parametrize("role", ["admin", "manager", "analyst"])
@pytest.mark.parametrize("page", list(PAGES))
def test_each_analytics_page_renders_for_each_analytics_role(
    demo_database: Path, tmp_path: Path, page: str, role: str
) -> None:
    app = _open(copy_database(demo_database, tmp_path), role, page)
    title, metrics = PAGES[page]
    assert app.title[0].value == title
    labels = [metric.label for metric in app.metric]
    assert set(metrics) <= set(labels), labels
    assert all(metric.help for metric in app.metric), "every KPI carries its definition"
    assert any("filter_alt" in caption.value for caption in app.caption), "the filter sentence is shown"
    assert not app.error and not any(EMPTY in info.value for info in app.info)


@pytest.mark.parametrize("page", list(PAGES))
def test_each_page_shows_the_empty_state_when_filters_match_nothing(
    demo_database: Path, tmp_path: Path, page: str
) -> None:
    app = _open(copy_database(demo_database, tmp_path), "analyst", page)
    # The range picker accepts dates up to 10 years before its default; the demo shop starts in 2024.
    app.selectbox(key="filter_period").set_value("Custom").run()
    app.date_input(key="filter_custom_range").set_value((date(2015, 1, 1), date(2015, 1, 31))).run()
    assert not app.exception, app.exception
    assert any(EMPTY in info.value for info in app.info)


def test_an_agent_may_not_open_the_analytics_pages(demo_database: Path, tmp_path: Path) -> None:
    url = copy_database(demo_database, tmp_path)
    for page in PAGES:
        app = app_as(url, "agent")
        app.run()
        app.switch_page(page).run()
        assert any("may not open this page" in error.value for error in app.error), page


def test_overview_and_revenue_pages_show_the_same_tiny_shop_revenue(tiny_database: Path, tmp_path: Path) -> None:
    url = copy_database(tiny_database, tmp_path)
    shown = {}
    for page in ("pages/overview.py", "pages/revenue.py"):
        app = app_as(url, "ada")
        app.run()
        app.switch_page(page)
        app.selectbox(key="filter_period").set_value("All time")
        app.run()
        assert not app.exception, app.exception
        shown[page] = [metric.value for metric in app.metric if metric.label == "Revenue"][-1]
    assert shown == {"pages/overview.py": "$302.00", "pages/revenue.py": "$302.00"}


def test_segmentation_lists_a_segments_customers_for_export(tiny_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(tiny_database, tmp_path), "ada")
    app.run()
    app.switch_page("pages/segmentation.py")
    app.selectbox(key="filter_period").set_value("All time")
    app.run()
    app.selectbox(key="segmentation_segment").set_value("Loyal").run()
    assert not app.exception, app.exception
    members = app.dataframe[-1].value
    assert list(members["first_name"]) == ["Alice"]


def test_behaviour_suggestions_come_from_the_data(tiny_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(tiny_database, tmp_path), "ada")
    app.run()
    app.switch_page("pages/behavior.py")
    app.selectbox(key="filter_period").set_value("All time")
    app.run()
    assert not app.exception, app.exception
    text = " ".join(block.value for block in app.markdown)
    assert "Friday" in text and "Feb" in text and "Apparel" in text


def test_segmentation_with_customers_but_no_orders_shows_dashes_and_a_section_empty_state(
    tiny_database: Path, tmp_path: Path
) -> None:
    app = app_as(copy_database(tiny_database, tmp_path), "ada")
    app.run()
    app.switch_page("pages/segmentation.py")
    app.selectbox(key="filter_period").set_value("All time")
    app.multiselect(key="filter_customer_statuses").set_value(["prospect"])  # Eve only: no orders
    app.run()
    assert not app.exception, app.exception
    assert _metric(app, "Top source by revenue") == "—"  # not "website" at $0
    assert any("nothing to score" in info.value for info in app.info)
    assert not any(EMPTY in info.value for info in app.info), "the page itself is not empty: Eve is a new customer"


def test_choosing_every_source_reads_as_all_sources_in_the_captions(tiny_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(tiny_database, tmp_path), "ada")
    app.run()
    app.switch_page("pages/revenue.py")
    app.selectbox(key="filter_period").set_value("All time")
    app.multiselect(key="filter_sources").set_value(["referral", "social_media", "website"])
    app.run()
    assert not app.exception, app.exception
    captions = [caption.value for caption in app.caption if "filter_alt" in caption.value]
    assert captions and not any("source:" in caption for caption in captions), captions
    assert [metric.value for metric in app.metric if metric.label == "Revenue"][-1] == "$302.00"


def test_a_change_committed_by_another_server_shows_on_the_next_run(tiny_database: Path, tmp_path: Path) -> None:
    url = copy_database(tiny_database, tmp_path)
    app = app_as(url, "ada")
    app.run()
    app.switch_page("pages/revenue.py")
    app.selectbox(key="filter_period").set_value("All time")
    app.run()
    assert _metric(app, "Revenue") == "$302.00"
    other_server = make_engine(url)  # its own engine and no access to this process's cache
    cancel_o8 = update(orders).where(orders.c.order_number == "O8").values(status="cancelled")
    with other_server.begin() as connection:  # a change outside the app: no audit row, no new data version
        connection.execute(cancel_o8)
    app.run()
    assert _metric(app, "Revenue") == "$302.00"  # served from the cache, as the data version did not move
    with other_server.begin() as connection:  # the same kind of change as the app makes: audited
        record_audit(connection, Actor(None, "bo", "admin"), "update", "orders", 8, after={"status": "cancelled"})
    other_server.dispose()
    app.run()
    assert not app.exception, app.exception
    assert _metric(app, "Revenue") == "$275.00"  # O8's 27.00 no longer counts
