"""Customer 360 keeps its customer: the address (?customer=ID) decides, a search match or a recent
customer writes it, a bare visit shows no one, a bad link says so (tiny_shop)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm.db import init_database, make_engine
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, copy_database, shown_text

CUSTOMER_360 = "pages/customer_360.py"


@pytest.fixture(scope="module")
def tiny_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("c360-tiny") / "tiny.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return path


def _open(url: str, customer: str | None = None) -> AppTest:
    app = app_as(url, "ada")
    app.run()
    app.switch_page(CUSTOMER_360)
    app.query_params.clear()
    if customer is not None:
        app.query_params["customer"] = customer
    app.run()
    assert not app.exception, app.exception
    return app


def _heading(app: AppTest) -> str:
    return shown_text(app.subheader[0].value) if app.subheader else ""


def _address_customer(app: AppTest) -> str:
    value = app.query_params["customer"]
    return value[-1] if isinstance(value, list) else value


def test_a_link_opens_that_customer_and_a_rerun_keeps_them(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), customer="2")
    assert _heading(app).startswith("Bob Lee")
    app.run()  # a rerun (a reload keeps the same address)
    assert _heading(app).startswith("Bob Lee")


def test_a_search_opens_the_picked_match_and_puts_it_in_the_address(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path), customer="2")
    app.text_input(key="c360_search").input("alice").run()
    assert _heading(app).startswith("Bob Lee"), "typing alone does not switch the customer"
    match = app.selectbox(key="c360_match")
    assert match.options == ["Alice Kim · alice@example.com"]
    match.set_value(1).run()
    assert not app.exception, app.exception
    assert _heading(app).startswith("Alice Kim")
    assert _address_customer(app) == "1"
    assert app.text_input(key="c360_search").value == "", "the search is cleared for the next one"
    # Bob, opened before, is offered first among the recent customers.
    recent = app.selectbox(key="c360_recent_pick")
    assert recent.options[0].startswith("Bob Lee")
    recent.set_value(2).run()
    assert _heading(app).startswith("Bob Lee") and _address_customer(app) == "2"


def test_a_bare_visit_shows_nobody_until_a_customer_is_chosen(tiny_database: Path, tmp_path: Path) -> None:
    app = _open(copy_database(tiny_database, tmp_path))
    assert not app.subheader and not app.metric
    assert any("Find a customer" in info.value for info in app.info)


def test_a_link_to_a_missing_or_mangled_customer_says_so(tiny_database: Path, tmp_path: Path) -> None:
    url = copy_database(tiny_database, tmp_path)
    missing = _open(url, customer="999")
    assert any("no customer #999" in info.value for info in missing.info)
    mangled = _open(url, customer="bob")
    assert any("not a customer number" in warning.value for warning in mangled.warning)
