"""The Segments page in AppTest: a nested rule built in the UI, its live count, saving it, and who may open it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.db import init_database, make_engine
from crm.marketing.segments import get_segment, list_segments
from crm.schema import segments
from crm.ui.segment_builder import TREE_STATE, tree_to_rules
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as

PAGE = "pages/segments.py"


@pytest.fixture
def tiny_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    engine = make_engine(url)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return url


def _open(url: str, username: str):
    app = app_as(url, username)
    app.run()
    app.switch_page(PAGE)
    app.run()
    assert not app.exception, app.exception
    return app


def _count(app) -> str:
    return next(metric.value for metric in app.metric if metric.label == "Customers in this segment")


def test_building_a_nested_rule_in_the_ui_counts_members_live_and_saves_it(tiny_url: str) -> None:
    app = _open(tiny_url, "ada")
    assert any("never matches a comparison" in info.value for info in app.info)
    root = app.session_state[TREE_STATE]
    first = root["children"][0]["id"]
    # The first condition: gender is female (Alice, Chloe, Eve).
    app.selectbox(key=f"seg_{first}_field").set_value("gender").run()
    app.selectbox(key=f"seg_{first}_value_gender_=").set_value("female").run()
    assert not app.exception, app.exception
    assert _count(app) == "3"
    # An OR group inside: bought at least twice, OR NOT (has an age ≥ 20) → Alice (3 orders), Eve (no birth date).
    app.button(key=f"seg_{root['id']}_add_any").click().run()
    group = app.session_state[TREE_STATE]["children"][1]
    inner = group["children"][0]["id"]
    app.selectbox(key=f"seg_{inner}_field").set_value("orders_count").run()
    app.selectbox(key=f"seg_{inner}_op_orders_count").set_value(">=").run()
    app.number_input(key=f"seg_{inner}_value_orders_count_>=").set_value(2).run()
    app.button(key=f"seg_{group['id']}_add_condition").click().run()
    second = app.session_state[TREE_STATE]["children"][1]["children"][1]["id"]
    app.checkbox(key=f"seg_{second}_not").check().run()
    app.selectbox(key=f"seg_{second}_field").set_value("age").run()
    app.selectbox(key=f"seg_{second}_op_age").set_value(">=").run()
    app.number_input(key=f"seg_{second}_value_age_>=").set_value(20).run()
    assert not app.exception, app.exception
    assert _count(app) == "2"
    app.text_input(key="segment_new_name").input("Women to win").run()
    app.button(key="segment_save_new").click().run()
    assert not app.exception, app.exception
    saved = get_segment(make_engine(tiny_url), "Women to win")
    assert saved.rules == {
        "all": [
            {"field": "gender", "op": "=", "value": "female"},
            {
                "any": [
                    {"field": "orders_count", "op": ">=", "value": 2},
                    {"not": {"field": "age", "op": ">=", "value": 20}},
                ]
            },
        ]
    }


def test_removing_a_condition_and_an_incomplete_rule_is_explained(tiny_url: str) -> None:
    app = _open(tiny_url, "ada")
    # A new builder starts with "source is …" and no text: the page says what is missing.
    errors = [error.value for error in app.error]
    assert any("This rule cannot be used yet" in error and "non\\-empty text" in error for error in errors)
    root = app.session_state[TREE_STATE]
    app.button(key=f"seg_{root['children'][0]['id']}_remove").click().run()
    assert app.session_state[TREE_STATE]["children"] == []
    assert _count(app) == "5"
    assert list_segments(make_engine(tiny_url)) == []


def test_agents_may_not_open_the_segments_page(tiny_url: str) -> None:
    app = app_as(tiny_url, "sam")
    app.run()
    app.switch_page(PAGE).run()
    assert any("may not open this page" in error.value for error in app.error)


def test_pasted_json_fills_the_builder_with_typed_widgets_and_saved_segments_open_in_it(tiny_url: str) -> None:
    rules = {
        "all": [
            {"field": "total_spent", "op": "between", "value": [30, 100]},
            {"field": "created_at", "op": "between", "value": ["2025-01-01", "2025-02-28"]},
            {"field": "source", "op": "in", "value": ["website", "referral"]},
            {"not": {"field": "has_email", "op": "=", "value": False}},
        ]
    }
    app = _open(tiny_url, "ada")
    app.text_area(key="segment_json_paste").input(json.dumps(rules)).run()
    app.button(key="segment_json_apply").click().run()
    assert not app.exception, app.exception
    # Spent 30–100: Bob, Chloe, Dan; created in Jan–Feb: all three; website or referral: Bob and Dan.
    assert _count(app) == "2"
    assert tree_to_rules(app.session_state[TREE_STATE]) == rules
    app.text_input(key="segment_new_name").input("Mid spenders").run()
    app.button(key="segment_save_new").click().run()
    # A fresh session opens the saved segment into the builder.
    app = _open(tiny_url, "ada")
    saved = get_segment(make_engine(tiny_url), "Mid spenders")
    app.selectbox(key="segment_open_choice").set_value(saved.id).run()
    app.button(key="segment_open").click().run()
    assert not app.exception, app.exception
    assert tree_to_rules(app.session_state[TREE_STATE]) == rules
    assert _count(app) == "2"


def test_a_stored_rule_the_builder_cannot_use_is_reported_not_opened(tiny_url: str) -> None:
    engine = make_engine(tiny_url)
    with engine.begin() as connection:
        connection.execute(
            segments.insert().values(
                id=7, name="Hand-made", rules_json='{"all": [{"field": "shoe_size", "op": ">", "value": 40}]}'
            )
        )
    app = _open(tiny_url, "ada")
    app.selectbox(key="segment_open_choice").set_value(7).run()
    app.button(key="segment_open").click().run()
    assert not app.exception, app.exception
    assert any("stored rules are not valid" in error.value and "shoe" in error.value for error in app.error)
