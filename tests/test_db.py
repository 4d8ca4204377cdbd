"""Engine factory: SQLite default created on first use, one-line errors for unreachable databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from crm.db import DatabaseUnavailable, check_connection, init_database, is_empty, make_engine


def test_a_sqlite_file_and_its_folder_are_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "crm.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    assert path.exists()
    assert is_empty(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 15_000


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    init_database(engine)
    init_database(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM loyalty_tiers")).scalar_one() == 4


def test_an_unreachable_postgresql_gives_one_line_naming_the_server() -> None:
    engine = make_engine("postgresql+psycopg2://nobody:secret@/crm?host=/nonexistent-socket-dir", pool_pre_ping=False)
    with pytest.raises(DatabaseUnavailable) as caught:
        check_connection(engine)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Cannot reach the database postgresql+psycopg2://nobody:***@/crm")
    assert "secret" not in message
