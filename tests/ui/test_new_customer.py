"""The New customer form, readable codes in the grid, and bad cells pointed at after a refused save."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from crm.schema import audit_log, customers
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, shown_text


@pytest.fixture
def shop_url(sqlite_engine: Engine) -> str:
    load_tiny_shop(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 1).values(source="social_media"))
    return sqlite_engine.url.render_as_string(hide_password=False)


def _customers_page(url: str, username: str = "sam") -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page("pages/customers.py").run()
    assert not app.exception, app.exception
    return app


def test_the_new_customer_form_checks_while_typing_and_saves_an_audited_customer(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = _customers_page(shop_url)
    assert app.button(key="new_customer_create").disabled  # nothing typed yet
    app.text_input(key="new_customer_email").input("finn@").run()
    assert any("Not an email address" in shown_text(error.value) for error in app.error)
    assert app.button(key="new_customer_create").disabled
    app.text_input(key="new_customer_first_name").input("Finn").run()
    app.text_input(key="new_customer_email").input("Finn@Example.com").run()
    app.text_input(key="new_customer_phone").input("+1 (212) 555-0199").run()
    app.selectbox(key="new_customer_source_choice").set_value("social_media").run()
    assert not app.error
    app.button(key="new_customer_create").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        finn = connection.execute(select(customers).where(customers.c.first_name == "Finn")).mappings().one()
        actions = connection.execute(
            select(audit_log.c.action).where(
                audit_log.c.entity == "customers", audit_log.c.entity_id == str(finn["id"])
            )
        ).all()
    assert (finn["email_normalized"], finn["phone_normalized"], finn["source"]) == (
        "finn@example.com",
        "+12125550199",
        "social_media",
    )
    assert [action for (action,) in actions] == ["create"]
    assert app.text_input(key="new_customer_first_name").value == ""  # the form is empty for the next one


def test_a_customer_with_the_same_email_or_name_is_offered_before_adding_a_second(shop_url: str) -> None:
    app = _customers_page(shop_url)
    # Alice Kim is customer 1 (alice@example.com) in the tiny shop.
    app.text_input(key="new_customer_email").input("ALICE@example.com").run()
    warnings = " ".join(shown_text(warning.value) for warning in app.warning)
    assert "may be a customer you already have" in warnings
    links = [link for link in app.get("page_link") if "same email" in link.proto.label]
    assert len(links) == 1 and "Alice" in links[0].proto.label
    assert "customer=1" in links[0].proto.query_string


def test_the_grid_shows_sources_as_labels_and_blank_cells_as_blank(shop_url: str) -> None:
    app = _customers_page(shop_url)
    grid = app.dataframe[0]
    assert grid.proto.editing_mode != 0  # the editable grid
    frame = grid.value
    assert "Social media" in frame["source"].tolist()
    assert "social_media" not in frame["source"].tolist()
    assert grid.proto.placeholder == ""


def test_a_refused_save_marks_the_bad_cell_above_the_grid(shop_url: str, sqlite_engine: Engine) -> None:
    app = _customers_page(shop_url)
    app.session_state["customers__edits0"] = {
        "edited_rows": {0: {"email": "nope"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="customers__save").click().run()
    assert "1 problem(s)" in shown_text(app.error[0].value)
    problems = app.dataframe[0].value
    assert problems.iloc[0][["Row", "Column"]].tolist() == ["Row 1 (id 5)", "Email"]
    marked = app.dataframe[1]
    assert marked.value["Id"].tolist() == [5]
    assert "rgba(255, 43, 43, 0.25)" in str(marked.proto)  # the red tint of the marked cell
