"""The Segmentation page's Loyalty section in AppTest on tiny_shop: hand-computed points, the tier filter,
and the managers' settings."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from crm.db import init_database, make_engine
from crm.schema import loyalty_settings, users
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, copy_database, shown_text

STAMPS = {"created_at": datetime(2025, 1, 1), "updated_at": datetime(2025, 1, 1)}


@pytest.fixture(scope="module")
def tiny_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("loyalty-tiny") / "tiny.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return path


def _segmentation(url: str, username: str, **multiselects: list[str]) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page("pages/segmentation.py")
    app.selectbox(key="filter_period").set_value("All time")
    for key, values in multiselects.items():
        app.multiselect(key=key).set_value(values)
    app.run()
    assert not app.exception, app.exception
    return app


def _metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_the_loyalty_section_shows_points_issued_redeemed_outstanding_and_the_liability(
    tiny_database: Path, tmp_path: Path
) -> None:
    metrics = _metrics(_segmentation(copy_database(tiny_database, tmp_path), "ada"))
    # tiny_shop's ledger: issued 1300 + 6500 + 110 = 7910; redeemed 1000 + 500; outstanding 6300 = 63.00 at 100/1.00.
    assert (metrics["Points issued"], metrics["Points redeemed"], metrics["Points outstanding"]) == (
        "7,910",
        "1,500",
        "6,300",
    )
    assert metrics["Points liability"] == "$63.00"


def test_the_sidebar_tier_filter_keeps_the_gold_customers_only(tiny_database: Path, tmp_path: Path) -> None:
    app = _segmentation(copy_database(tiny_database, tmp_path), "ada", filter_loyalty_tiers=["gold"])
    metrics = _metrics(app)
    # Dan alone: 6500 + 110 issued, 500 redeemed, 6000 outstanding.
    assert (metrics["Points issued"], metrics["Points redeemed"], metrics["Points outstanding"]) == (
        "6,610",
        "500",
        "6,000",
    )
    assert any("tier: gold" in shown_text(caption.value) for caption in app.caption)


def test_an_admin_saves_the_earning_rule_and_an_analyst_only_reads_it(tiny_database: Path, tmp_path: Path) -> None:
    url = copy_database(tiny_database, tmp_path)
    app = _segmentation(url, "ada")
    rate = next(widget for widget in app.number_input if widget.label == "Points per 1.00 of order total")
    rate.set_value(2.0)
    next(button for button in app.button if button.label == "Save the loyalty settings").click().run()
    assert not app.exception, app.exception
    assert any("Loyalty settings saved." in success.value for success in app.success)
    with make_engine(url).connect() as connection:
        assert connection.execute(select(loyalty_settings.c.points_per_currency_unit)).scalar_one() == 2
    with make_engine(url).begin() as connection:
        connection.execute(
            users.insert().values(
                id=3, username="ann", full_name="Ann Analyst", role="analyst", password_hash="x", **STAMPS
            )
        )
    analyst = _segmentation(url, "ann")
    assert all(widget.disabled for widget in analyst.number_input)
    assert not any(button.label == "Save the loyalty settings" for button in analyst.button)


def _customer_360(url: str, username: str, customer_id: int) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page("pages/customer_360.py")
    app.query_params["customer"] = str(customer_id)
    app.run()
    assert not app.exception, app.exception
    return app


def test_customer_360_redeems_points_with_a_reason_and_refuses_more_than_the_balance(
    tiny_database: Path, tmp_path: Path
) -> None:
    url = copy_database(tiny_database, tmp_path)
    app = _customer_360(url, "sam", 2)  # Bob: 300 points
    app.number_input(key="loyalty_2_redeem_0_points").set_value(301)
    app.text_input(key="loyalty_2_redeem_0_reason").input("Too much")
    app.button(key="loyalty_2_redeem_0_save").click().run()
    assert "301 cannot be redeemed" in app.error[0].value  # the message, shown as plain text
    app.number_input(key="loyalty_2_redeem_0_points").set_value(120)
    app.button(key="loyalty_2_redeem_0_save").click().run()
    assert not app.exception, app.exception
    assert "Redeemed 120 points." in app.success[0].value
    assert _metrics(app)["Loyalty points"] == "180"
    # Agents redeem; adjustments are for managers.
    assert any("Managers adjust points by hand." in caption.value for caption in app.caption)
