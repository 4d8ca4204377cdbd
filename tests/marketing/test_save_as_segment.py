"""Save as segment where analyses list people: RFM segments, CLV tiers/churn, Demographics and Customers filters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crm.db import init_database, make_engine
from crm.filters import Filters
from crm.marketing.rules import customer_ids_rule, rules_from_filters, rules_from_record_query
from crm.marketing.segments import get_segment, list_segments, segment_members
from crm.records import RecordQuery
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as


def test_sidebar_filters_become_conditions_and_the_period_is_left_out() -> None:
    filters = Filters(
        start_date=date(2025, 1, 1),
        end_date=date(2025, 3, 31),
        sources=("website",),
        genders=("female", "male"),
        age_min=25,
        age_max=44,
        brands=("Aurora",),
        customer_types=("individual",),
    )
    extra = {"field": "rfm_segment", "op": "=", "value": "At Risk"}
    assert rules_from_filters(filters, extra) == {
        "all": [
            extra,
            {"field": "source", "op": "in", "value": ["website"]},
            {"field": "gender", "op": "in", "value": ["female", "male"]},
            {"field": "brand", "op": "in", "value": ["Aurora"]},
            {"field": "customer_type", "op": "in", "value": ["individual"]},
            {"field": "age", "op": ">=", "value": 25},
            {"field": "age", "op": "<=", "value": 44},
        ]
    }


def test_grid_filters_and_id_lists_become_rules() -> None:
    query = RecordQuery(statuses=("active",), date_from=date(2025, 2, 1), date_to=date(2025, 2, 28), birthday_month=3)
    assert rules_from_record_query(query) == {
        "all": [
            {"field": "status", "op": "in", "value": ["active"]},
            {"field": "created_at", "op": ">=", "value": "2025-02-01"},
            {"field": "created_at", "op": "<=", "value": "2025-02-28"},
            {"field": "birthday_month", "op": "=", "value": 3},
        ]
    }
    assert customer_ids_rule([4, 2, 4]) == {"all": [{"field": "customer_id", "op": "in", "value": [2, 4]}]}
    assert customer_ids_rule([]) == {"any": []}


@pytest.fixture
def tiny_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    engine = make_engine(url)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return url


def _open(url: str, page: str, *, all_time: bool = True):
    app = app_as(url, "ada")
    app.run()
    app.switch_page(page)
    if all_time:
        app.selectbox(key="filter_period").set_value("All time")
    app.run()
    assert not app.exception, app.exception
    return app


def _save(app, key: str, name: str) -> None:
    app.text_input(key=f"{key}_segment_name").set_value(name).run()
    app.button(key=f"{key}_segment_save").click().run()
    assert not app.exception, app.exception


def test_an_rfm_segment_of_the_segmentation_page_is_saved_as_a_rule(tiny_url: str) -> None:
    app = _open(tiny_url, "pages/segmentation.py")
    app.selectbox(key="segmentation_segment").set_value("Loyal").run()
    _save(app, "rfm", "Loyal ones")
    engine = make_engine(tiny_url)
    saved = get_segment(engine, "Loyal ones")
    assert saved.rules == {"all": [{"field": "rfm_segment", "op": "=", "value": "Loyal"}]}
    assert segment_members(engine, saved.rules) == [1]


def test_demographics_filters_and_customers_grid_filters_are_saved(tiny_url: str) -> None:
    app = _open(tiny_url, "pages/demographics.py")
    _save(app, "demographics", "Everyone")
    app = _open(tiny_url, "pages/customers.py", all_time=False)
    app.multiselect(key="customers_statuses").set_value(["prospect"]).run()
    _save(app, "customers_grid", "Prospects")
    engine = make_engine(tiny_url)
    assert get_segment(engine, "Everyone").rules == {"all": []}
    assert segment_members(engine, get_segment(engine, "Prospects").rules) == [5]


def test_a_clv_tier_is_saved_as_its_customer_ids(tiny_url: str) -> None:
    app = _open(tiny_url, "pages/clv.py")
    options = app.selectbox(key="clv_segment_group").options
    assert "Churn risk" in options
    app.selectbox(key="clv_segment_group").set_value(options[0]).run()
    _save(app, "clv", "Tier one")
    [saved] = list_segments(make_engine(tiny_url))
    condition = saved.rules["all"][0]
    assert (condition["field"], condition["op"]) == ("customer_id", "in")
    assert set(condition["value"]) <= {1, 2, 3, 4}
