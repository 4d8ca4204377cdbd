"""The CLV page and Customer 360's value cards in AppTest: sections on demo data, the horizon
rescoring a cached fit, the as-of limits, the customer lookup, the holdout check, the fallback,
the app's time zone, and who may open the page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.analytics.clv import clv_analysis, customer_value, order_days, rfm_summary
from crm.analytics.clv import model as clv_model
from crm.db import init_database, make_engine
from crm.filters import Filters
from crm.schema import clv_fits, orders
from crm.settings import get_settings
from crm.ui.widgets import format_money
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, copy_database, make_demo_database

PAGE = "pages/clv.py"
CUSTOMER_360 = "pages/customer_360.py"


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clv-demo") / "crm.db"
    make_demo_database(path, customers=300, orders=3_000)
    return path


@pytest.fixture
def tiny_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    engine = make_engine(url)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return url


def _open(url: str, username: str, page: str = PAGE, *, all_time: bool = False):
    app = app_as(url, username)
    app.run()
    app.switch_page(page)
    if all_time:
        # tiny_shop's orders are in 2025: look at all time, not the sidebar's default last 12 months.
        app.selectbox(key="filter_period").set_value("All time")
    app.run()
    assert not app.exception, app.exception
    return app


def _metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _help(app, label: str) -> str:
    return next(metric.help for metric in app.metric if metric.label == label)


def test_an_admin_sees_every_section_on_demo_data(demo_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(demo_database, tmp_path), "admin")
    assert app.title[0].value == "Customer lifetime value"
    assert [metric.label for metric in app.metric][:6] == [
        "Expected spend per customer, next 12 months",
        "Spent so far per customer",
        "Expected spend, all customers, next 12 months",
        "Average order value, whole history",
        "Orders per buyer, whole history",
        "Average lifespan",
    ]
    headers = [header.value for header in app.subheader]
    # The manager's two questions lead; the model's details are in the analysts' section.
    assert headers == [
        "What will each customer likely spend in the next 12 months?",
        "Value tiers",
        "By customer source",
        "Top 20 customers by expected spend",
        "Look up a customer",
        "Who is slipping away and what should I do?",
        "Value of each month's new customers",
    ]
    assert app.expander[0].label.startswith("For analysts")
    assert not app.warning, [warning.value for warning in app.warning]  # the model fitted, inside the bounds
    tiers, top = app.dataframe[0].value, app.dataframe[1].value
    assert list(tiers["tier"]) == ["Top", "High", "Mid", "Low"]  # codes shown as words
    assert len(top) == 20
    assert top["p_alive"].dropna().between(0, 1).all()
    assert any("BG/NBD + Gamma-Gamma: r=" in caption.value for caption in app.caption)
    assert any(
        "one-time buyers: bought once and nothing since for more than" in caption.value for caption in app.caption
    )
    assert any("customers" in text.value and "are likely slipping away" in text.value for text in app.markdown)
    downloads = [button.label for button in app.get("download_button")]
    assert downloads.count("Download CSV") == 4  # value tiers, CLV by source, top customers, action groups


def test_changing_the_horizon_rescores_the_cached_fit_without_fitting_again(
    demo_database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits: list[str] = []
    original = clv_model._fit_models

    def counting_fit(summary, model):  # type: ignore[no-untyped-def]
        fits.append(model)
        return original(summary, model)

    monkeypatch.setattr(clv_model, "_fit_models", counting_fit)  # fit_clv calls it there
    app = _open(copy_database(demo_database, tmp_path), "analyst")
    assert fits == ["bgnbd"]
    twelve_months = _metrics(app)["Expected spend, all customers, next 12 months"]
    app.number_input(key="clv_horizon").set_value(24).run()
    assert not app.exception
    assert fits == ["bgnbd"]  # rescored, not refitted
    assert _metrics(app)["Expected spend, all customers, next 24 months"] != twelve_months
    app.selectbox(key="clv_unit").set_value("D").run()
    assert fits == ["bgnbd", "bgnbd"]  # another unit is another fit


def test_the_as_of_date_is_limited_to_the_order_days(demo_database: Path, tmp_path: Path) -> None:
    url = copy_database(demo_database, tmp_path)
    app = _open(url, "analyst")
    first_day, last_day = order_days(make_engine(url), Filters(timezone_name=get_settings().timezone_name))
    picker = app.date_input(key="clv_as_of")
    assert (picker.min, picker.max) == (first_day, last_day)  # no future date that ages everyone


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


def test_the_lookup_shows_one_customers_value_from_the_cached_analysis(demo_database: Path, tmp_path: Path) -> None:
    url = copy_database(demo_database, tmp_path)
    engine = make_engine(url)
    filters = Filters(timezone_name=get_settings().timezone_name)
    summary = rfm_summary(engine, filters)
    once = summary[summary["frequency"] == 0].iloc[0]
    expected = customer_value(clv_analysis(engine, filters), int(once["customer_id"]))
    app = _open(url, "analyst")
    app.text_input(key="clv_lookup_search").input(str(once["email"]).upper()).run()  # any case
    assert not app.exception
    assert app.selectbox(key="clv_lookup_customer").value == int(once["customer_id"])
    cards = {metric.label: (metric.value, metric.help) for metric in app.metric[6:]}  # after the overview
    assert list(cards) == [
        "Spent so far",
        "Expected spend, next 12 months",
        "Expected orders, next 12 months",
        "Slipping away",
    ]
    assert cards["Spent so far"][0] == format_money(once["historic_value"])
    assert cards["Expected spend, next 12 months"][0] == format_money(expected.predicted_value)
    assert cards["Expected orders, next 12 months"][0] == f"{expected.expected_purchases:,.2f}"
    # P(alive) is an analyst's number: under the cards, and "n/a" for a one-time buyer (BG/NBD would say 100 %).
    assert any("chance still active (P(alive)): n/a (bought once)" in caption.value for caption in app.caption)
    assert cards["Slipping away"][0] == ("Yes" if expected.churn_risk else "No")
    assert cards["Slipping away"][1].endswith(f"Flagged when {expected.churn_rule}.")
    assert expected.churn_rule.startswith("bought once and nothing since for more than")


def test_too_little_data_shows_a_clear_message_and_historic_clv(tiny_url: str) -> None:
    app = _open(tiny_url, "ada", all_time=True)
    assert any("Too little data" in warning.value for warning in app.warning)
    metrics = _metrics(app)
    # No model, so no expected spend; what was spent so far is tiny_shop's revenue over its customers.
    assert metrics["Expected spend, all customers, next 12 months"] == "—"
    app.text_input(key="clv_lookup_search").input("alice").run()
    cards = {metric.label: metric.value for metric in app.metric[6:]}  # after the overview
    # Alice: O1 49 + O2 100 + O8 27; no model, so no prediction; last purchase 3 days before the as-of date.
    assert cards == {
        "Spent so far": "$176.00",
        "Expected spend, next 12 months": "—",
        "Expected orders, next 12 months": "—",
        "Slipping away": "No",
    }


def test_an_as_of_date_outside_the_new_filters_order_days_is_moved_inside(tiny_url: str) -> None:
    app = _open(tiny_url, "ada", all_time=True)
    app.date_input(key="clv_as_of").set_value(date(2025, 1, 20)).run()
    assert any(
        "As of 20 Jan 2025 · customers with a purchase: 1," in caption.value for caption in app.caption
    )  # Alice only
    # Only referral customers: Bob, whose one order is on 25 Jan, after the chosen date.
    app.multiselect(key="filter_sources").set_value(["referral"]).run()
    assert not app.exception
    assert app.date_input(key="clv_as_of").value == date(2025, 1, 25)
    assert any("As of 25 Jan 2025 · customers with a purchase: 1," in caption.value for caption in app.caption)  # Bob


@pytest.fixture
def seoul() -> Iterator[str]:
    previous = os.environ.get("CRM_TIMEZONE")
    os.environ["CRM_TIMEZONE"] = "Asia/Seoul"
    get_settings.cache_clear()
    yield "Asia/Seoul"
    if previous is None:
        os.environ.pop("CRM_TIMEZONE", None)
    else:
        os.environ["CRM_TIMEZONE"] = previous
    get_settings.cache_clear()


def test_customer_360_values_a_customer_in_the_apps_time_zone_with_the_clv_pages_defaults(
    demo_database: Path, tmp_path: Path, seoul: str
) -> None:
    url = copy_database(demo_database, tmp_path)
    engine = make_engine(url)
    today = datetime.now(ZoneInfo(seoul)).date()
    local = clv_analysis(engine, Filters(end_date=today, timezone_name=seoul, today=today))
    utc = clv_analysis(engine, Filters(end_date=today, today=today))
    # A customer whose purchase days (hence CLV) differ between Seoul and UTC days.
    merged = local.customers.merge(utc.customers, on="customer_id", suffixes=("_local", "_utc"))
    differs = merged[merged["predicted_value_local"].round(2) != merged["predicted_value_utc"].round(2)]
    customer_id = int(differs.iloc[0]["customer_id"])
    expected = customer_value(local, customer_id)
    app = _open(url, "analyst", CUSTOMER_360)
    app.text_input(key="c360_search").input(str(expected.email)).run()
    app.selectbox(key="c360_match").set_value(customer_id).run()
    assert not app.exception
    assert app.query_params["customer"] in (str(customer_id), [str(customer_id)])
    metrics = _metrics(app)
    assert metrics["Expected spend, next 12 months"] == format_money(expected.predicted_value)
    assert metrics["Expected orders, next 12 months"] == f"{expected.expected_purchases:,.2f}"
    assert metrics["Slipping away"] == ("Yes" if expected.churn_risk else "No")
    assert _help(app, "Expected spend, next 12 months").startswith(
        "What this customer will likely spend in the next 12 months"
    )

    # A customer whose last purchase falls on another day in Seoul than in UTC: the card shows Seoul's day.
    shifted = merged[merged["last_purchase_local"] != merged["last_purchase_utc"]].iloc[0]
    late = customer_value(local, int(shifted["customer_id"]))
    app.text_input(key="c360_search").input(str(late.email)).run()
    app.selectbox(key="c360_match").set_value(late.customer_id).run()
    assert app.query_params["customer"] in (str(late.customer_id), [str(late.customer_id)])
    assert _metrics(app)["Last purchase"] == f"{late.last_purchase:%d %b %Y}"


def test_an_agent_may_not_open_the_page(demo_database: Path, tmp_path: Path) -> None:
    app = app_as(copy_database(demo_database, tmp_path), "agent")
    app.run()
    app.switch_page(PAGE).run()
    assert any("may not open this page" in error.value for error in app.error)
    assert not app.metric


def test_the_fit_is_stored_and_refit_replaces_it(demo_database: Path, tmp_path: Path) -> None:
    url = copy_database(demo_database, tmp_path)
    app = _open(url, "admin")
    engine = make_engine(url)
    with engine.connect() as connection:
        first = connection.execute(select(clv_fits.c.id, clv_fits.c.fitted_at)).all()
    assert len(first) == 1  # the page's fit is stored for every server process
    app.button(key="clv_refit").click().run()
    assert not app.exception, app.exception
    with engine.connect() as connection:
        second = connection.execute(select(clv_fits.c.id, clv_fits.c.fitted_at)).all()
    engine.dispose()
    assert len(second) == 1 and second[0].fitted_at > first[0].fitted_at
