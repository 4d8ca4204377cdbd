"""Upgrading a database that holds data: revision 0002 keeps every row, repairs what it can, refuses the rest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from crm.db import MigrationBlocked, _alembic_config, init_database, make_engine
from crm.schema import categories, customers, inventory, kb_categories, stock_movements, ticket_notes, tickets
from tests.fixtures.tiny_shop import load_tiny_shop

NOON = datetime(2025, 1, 1, 12)
STAMPS = {"created_at": NOON, "updated_at": NOON}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new database migrated to revision 0001 only (the schema before null-safe uniques and checks)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        command.upgrade(_alembic_config(engine), "0001")
        yield engine
        engine.dispose()
        return
    server: Engine = request.getfixturevalue("postgres_engine")  # skips (or fails in CI) without PostgreSQL
    admin = make_engine(server.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"crm_migration_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(server.url).set(database=name).render_as_string(hide_password=False))
    command.upgrade(_alembic_config(engine), "0001")
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]


def _head_revision(engine: Engine) -> str:
    """The newest migration: an upgrade runs every later one too."""
    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


def _revision(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def test_upgrading_keeps_every_row_and_every_reference(database_at_0001: Engine) -> None:
    engine = database_at_0001
    load_tiny_shop(engine)
    with engine.begin() as connection:
        # Rows whose parents the upgrade recreates on SQLite: a cascade or SET NULL would show here.
        connection.execute(ticket_notes.insert(), [{"ticket_id": 1, "body": "called back", "created_at": NOON}])
        connection.execute(customers.update().where(customers.c.id == 1).values(preferred_category_id=2))
    kept = (customers, tickets, ticket_notes, inventory, categories)
    before = {table.name: _count(engine, table) for table in kept}
    init_database(engine)
    assert _revision(engine) == _head_revision(engine)
    assert {table.name: _count(engine, table) for table in kept} == before
    assert before["ticket_notes"] == 1
    with engine.connect() as connection:
        assert connection.execute(select(customers.c.preferred_category_id).where(customers.c.id == 1)).scalar() == 2
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []


def test_repeated_root_category_names_get_their_id_appended(database_at_0001: Engine) -> None:
    engine = database_at_0001
    with engine.begin() as connection:
        for table in (categories, kb_categories):
            connection.execute(
                table.insert(),
                [
                    {"id": 1, "name": "Shoes", **STAMPS},
                    {"id": 2, "name": "Shoes", **STAMPS},
                    {"id": 3, "name": "Bags", **STAMPS},
                ],
            )
    init_database(engine)
    with engine.connect() as connection:
        for table in (categories, kb_categories):
            names = connection.execute(select(table.c.id, table.c.name).order_by(table.c.id)).all()
            assert [tuple(row) for row in names] == [(1, "Shoes"), (2, "Shoes (#2)"), (3, "Bags")]


def test_reservations_above_on_hand_are_released_through_the_ledger(database_at_0001: Engine) -> None:
    engine = database_at_0001
    load_tiny_shop(engine)
    with engine.begin() as connection:
        # The Mug: 8 on hand, 5 reserved in tiny_shop; a stock count of 3 left more reserved than there is.
        connection.execute(inventory.update().where(inventory.c.id == 2).values(on_hand=3))
    init_database(engine)
    with engine.connect() as connection:
        on_hand, reserved = connection.execute(
            select(inventory.c.on_hand, inventory.c.reserved).where(inventory.c.id == 2)
        ).one()
        movement = connection.execute(select(stock_movements)).mappings().one()
    assert (on_hand, reserved) == (3, 3)
    assert (movement["product_id"], movement["warehouse_id"], movement["movement_type"], movement["quantity"]) == (
        2,
        1,
        "release",
        -2,
    )
    assert "5 reserved but only 3 on hand" in movement["note"]


def test_rows_only_a_person_can_fix_stop_the_upgrade_with_one_line_naming_them(database_at_0001: Engine) -> None:
    engine = database_at_0001
    load_tiny_shop(engine)
    with engine.begin() as connection:
        connection.execute(inventory.insert(), [{"product_id": 1, "warehouse_id": 1, "on_hand": 2, **STAMPS}])
        connection.execute(tickets.update().where(tickets.c.id == 2).values(ticket_number="T-2"))
    with pytest.raises(MigrationBlocked) as caught:
        init_database(engine)
    message = str(caught.value)
    assert "\n" not in message
    assert "inventory has 2 rows for product 1 (no variant) in warehouse 1: keep one" in message
    assert "ticket numbers T-2 are not CS + YYYYMMDD + 4 digits" in message
    assert message.endswith("Fix these rows, then run `python -m crm init` again.")
    assert _revision(engine) == "0001"  # nothing half-done
    assert _count(engine, inventory) == 4


def test_downgrading_and_upgrading_again_gives_the_same_schema(database_at_0001: Engine) -> None:
    engine = database_at_0001
    load_tiny_shop(engine)
    init_database(engine)
    command.downgrade(_alembic_config(engine), "0001")
    assert _revision(engine) == "0001"
    init_database(engine)
    assert _revision(engine) == _head_revision(engine)
    assert _count(engine, customers) == 5
