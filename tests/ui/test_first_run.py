"""First start: an empty database offers demo data, signed in or (demo mode) before any user exists."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import func, select

from crm.db import init_database, make_engine
from crm.demo import generate_demo
from crm.schema import customers, products, users
from tests.ui.apptest_support import FrameAppTest, app_as


def _empty_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_database(engine)
    engine.dispose()
    return url


def _empty_database_with_user(path: Path, username: str, role: str) -> str:
    url = _empty_database(path)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(
                username=username,
                full_name=username.title(),
                role=role,
                password_hash=bcrypt.hashpw(b"irrelevant-here", bcrypt.gensalt(rounds=4)).decode(),
            )
        )
    engine.dispose()
    return url


def _count(url: str, table: object) -> int:
    with make_engine(url).connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _usernames(url: str) -> set[str]:
    with make_engine(url).connect() as connection:
        return set(connection.execute(select(users.c.username)).scalars())


def _add_a_product(url: str) -> None:
    with make_engine(url).begin() as connection:
        connection.execute(products.insert().values(sku="IMPORTED-1", name="Imported meanwhile", price=5, cost=2))


def _import_elsewhere_just_before_loading(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Data arrives between the offer's emptiness check and generate_demo's own (a race with an import)."""

    def racing_generate_demo(*args: object, **kwargs: object) -> object:
        _add_a_product(url)
        return generate_demo(*args, **kwargs)

    monkeypatch.setattr("crm.ui.first_run.generate_demo", racing_generate_demo)


def _load_button(app: FrameAppTest) -> list:
    return [button for button in app.button if button.label == "Load demo data"]


# --- signed in, empty database ---------------------------------------------------------------


def test_an_admin_on_an_empty_database_is_offered_demo_data_and_can_load_it(tmp_path: Path) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "owner", "admin")
    app = app_as(url, "owner")
    app.run()
    assert not app.exception
    assert any("database is empty" in info.value for info in app.info)
    app.number_input[0].set_value(100)
    _load_button(app)[0].click()
    app.run()
    assert not app.exception
    assert _count(url, customers) == 100
    revenue_cards = [metric for metric in app.metric if metric.label == "Revenue"]
    assert revenue_cards
    assert all(card.value.startswith("$") for card in revenue_cards)
    assert _usernames(url) == {"owner"}  # outside demo mode no account with a public password appears


def test_in_demo_mode_loading_demo_data_while_signed_in_adds_the_demo_accounts(tmp_path: Path) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "owner", "admin")
    app = app_as(url, "owner", demo_mode=True).run()
    app.number_input[0].set_value(100)
    _load_button(app)[0].click()
    app.run()
    assert not app.exception
    assert {"owner", "admin", "manager", "analyst", "agent"} <= _usernames(url)


def test_an_analyst_on_an_empty_database_is_told_to_ask_for_data(tmp_path: Path) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "ana", "analyst")
    app = app_as(url, "ana")
    app.run()
    assert not app.exception
    assert not _load_button(app)
    assert any("Ask an administrator" in caption.value for caption in app.caption)


def test_data_that_arrives_while_loading_is_refused_in_one_line_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "owner", "admin")
    app = app_as(url, "owner").run()
    _import_elsewhere_just_before_loading(url, monkeypatch)
    app.number_input[0].set_value(100)
    _load_button(app)[0].click()
    app.run()
    assert not app.exception
    assert any("already holds data" in error.value for error in app.error)
    assert _count(url, customers) == 0
    assert _count(url, products) == 1


def test_a_demo_size_the_generator_refuses_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "owner", "admin")
    app = app_as(url, "owner").run()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ValueError("Use at least 10 customers (asked for 5).")

    monkeypatch.setattr("crm.ui.first_run.generate_demo", refuse)
    _load_button(app)[0].click()
    app.run()
    assert not app.exception
    assert [error.value for error in app.error] == ["No demo data was loaded: Use at least 10 customers (asked for 5)."]


# --- no users yet, on the sign-in page ------------------------------------------------------


def test_with_no_users_the_sign_in_page_explains_how_to_create_the_admin(tmp_path: Path) -> None:
    app = app_as(_empty_database(tmp_path / "crm.db"), None).run()
    assert not app.exception
    assert "python -m crm users add <username>" in app.warning[0].value
    assert not app.text_input
    assert not _load_button(app)  # outside demo mode nothing is created from the browser


def test_in_demo_mode_the_sign_in_page_loads_demo_data_and_its_accounts_then_signs_in(tmp_path: Path) -> None:
    url = _empty_database(tmp_path / "crm.db")
    app = app_as(url, None, demo_mode=True).run()
    assert not app.exception
    assert "python -m crm users add <username>" in app.info[0].value
    assert not app.text_input
    app.number_input[0].set_value(100)
    _load_button(app)[0].click()
    app.run()
    assert not app.exception
    assert [message.value for message in app.success] == ["Demo data loaded. Sign in with one of the demo accounts."]
    assert _count(url, customers) == 100
    assert {"admin", "manager", "analyst", "agent"} <= _usernames(url)
    assert any(expander.label == "Demo accounts" for expander in app.expander)
    app.text_input[0].input("admin")
    app.text_input[1].input("demo-admin")
    next(button for button in app.button if button.label == "Sign in").click()
    app.run()
    assert "Signed in as **admin** (admin)" in [caption.value for caption in app.sidebar.caption]
    assert app.title[0].value == "Overview"
    assert not _load_button(app)


def test_in_demo_mode_an_imported_database_without_users_gets_no_demo_offer(tmp_path: Path) -> None:
    url = _empty_database(tmp_path / "crm.db")
    _add_a_product(url)
    app = app_as(url, None, demo_mode=True).run()
    assert not app.exception
    assert "python -m crm users add <username>" in app.warning[0].value
    assert not _load_button(app)


def test_in_demo_mode_data_that_arrives_while_loading_on_the_sign_in_page_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _empty_database(tmp_path / "crm.db")
    app = app_as(url, None, demo_mode=True).run()
    _import_elsewhere_just_before_loading(url, monkeypatch)
    _load_button(app)[0].click()
    app.run()
    assert not app.exception
    assert any("already holds data" in error.value for error in app.error)
    assert _usernames(url) == set()  # one transaction: no demo account without its data
    assert not app.text_input
