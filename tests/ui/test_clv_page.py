"""The CLV page in AppTest: sections on demo data, the holdout check, the fallback, and who may open it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.db import init_database, make_engine
from crm.schema import orders
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, copy_database, make_demo_database

PAGE = "pages/clv.py"


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clv-demo") / "crm.db"
    make_demo_database(path, customers=300, orders=3_000)
    return path


def _open(url: str, username: str):
    app = app_as(url, username)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def test_an_admin_sees_every_section_on_demo_data(demo_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(demo_database, tmp_path), "admin")
    assert app.title[0].value == "Customer lifetime value"
    assert [metric.label for metric in app.metric] == [
        "Average CLV",
        "Total CLV",
        "Churn risk",
        "Average order value",
        "Purchase frequency",
        "Average lifespan",
    ]
    headers = [header.value for header in app.subheader]
    assert headers == ["Value tiers", "CLV by source", "CLV of new-customer cohorts by month", "Top 20 customers"]
    assert not app.warning, [warning.value for warning in app.warning]  # the model fitted
    top = app.dataframe[1].value
    assert len(top) == 20
    assert top["p_alive"].between(0, 1).all()
    assert any("BG/NBD + Gamma-Gamma: r=" in caption.value for caption in app.caption)


def test_an_earlier_as_of_date_adds_the_holdout_check(demo_database: Path, tmp_path: Path) -> None:
    url = copy_database(demo_database, tmp_path)
    with make_engine(url).connect() as connection:
        last_order = connection.execute(select(func.max(orders.c.order_date))).scalar_one()
    app = _open(url, "analyst")
    as_of = date(last_order.year - 1, last_order.month, 1)
    app.date_input(key="clv_as_of").set_value(as_of).run()
    assert not app.exception
    assert "Holdout check" in [header.value for header in app.subheader]
    assert any("total error" in caption.value for caption in app.caption)


def test_too_little_data_shows_a_clear_message_and_historic_clv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    engine = make_engine(url)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    app = app_as(url, "ada")
    app.run()
    app.switch_page(PAGE)
    # tiny_shop's orders are in 2025: look at all time, not the sidebar's default last 12 months.
    app.selectbox(key="filter_period").set_value("All time")
    app.run()
    assert not app.exception
    assert any("Too little data" in warning.value for warning in app.warning)
    total = next(metric for metric in app.metric if metric.label == "Total CLV")
    assert total.value == "$302"  # historic CLV = tiny_shop's revenue, in whole dollars


def test_an_agent_may_not_open_the_page(demo_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(demo_database, tmp_path), "agent")
    app.run()
    app.switch_page(PAGE).run()
    assert any("may not open this page" in error.value for error in app.error)
    assert not app.metric
