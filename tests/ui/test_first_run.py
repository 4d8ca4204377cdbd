"""First start: an empty database offers demo data; loading it shows a real overview."""

from __future__ import annotations

from pathlib import Path

import bcrypt
from sqlalchemy import func, select

from crm.db import init_database, make_engine
from crm.schema import customers, users
from tests.ui.apptest_support import app_as


def _empty_database_with_user(path: Path, username: str, role: str) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_database(engine)
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


def test_an_admin_on_an_empty_database_is_offered_demo_data_and_can_load_it(tmp_path: Path) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "owner", "admin")
    app = app_as(url, "owner")
    app.run()
    assert not app.exception
    assert any("database is empty" in info.value for info in app.info)
    app.number_input[0].set_value(100)
    next(button for button in app.button if button.label == "Load demo data").click()
    app.run()
    assert not app.exception
    with make_engine(url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 100
    revenue_cards = [metric for metric in app.metric if metric.label == "Revenue"]
    assert revenue_cards
    assert all(card.value.startswith("$") for card in revenue_cards)


def test_an_analyst_on_an_empty_database_is_told_to_ask_for_data(tmp_path: Path) -> None:
    url = _empty_database_with_user(tmp_path / "crm.db", "ana", "analyst")
    app = app_as(url, "ana")
    app.run()
    assert not app.exception
    assert not [button for button in app.button if button.label == "Load demo data"]
    assert any("Ask an administrator" in caption.value for caption in app.caption)
