"""Engine factory: SQLite default created on first use, one-line errors for unusable databases,
and the one "does the database hold data?" rule."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, text
from sqlalchemy.exc import OperationalError

from crm.db import (
    NON_BUSINESS_TABLES,
    SQLITE_BUSY_TIMEOUT_MS,
    DatabaseUnavailable,
    check_connection,
    describe_database_error,
    holds_business_data,
    init_database,
    is_empty,
    make_engine,
    normalize_url,
)
from crm.demo import DemoDataExistsError, DemoSize, generate_demo
from crm.schema import (
    audit_log,
    brands,
    categories,
    customers,
    import_mappings,
    metadata,
    products,
    users,
    warehouses,
)

STAMPS = {"created_at": datetime(2025, 1, 1), "updated_at": datetime(2025, 1, 1)}


def test_a_sqlite_file_and_its_folder_are_created_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "crm.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    assert path.exists()
    assert is_empty(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == SQLITE_BUSY_TIMEOUT_MS == 30_000


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    init_database(engine)
    init_database(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM loyalty_tiers")).scalar_one() == 4
        # The migration turns foreign keys off while it recreates tables; the pooled connection gets them back.
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_an_unreachable_postgresql_gives_one_line_naming_the_server() -> None:
    engine = make_engine("postgresql+psycopg2://nobody:secret@/crm?host=/nonexistent-socket-dir", pool_pre_ping=False)
    with pytest.raises(DatabaseUnavailable) as caught:
        check_connection(engine)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("Cannot reach the database postgresql+psycopg2://nobody:***@/crm")
    assert "secret" not in message


@pytest.mark.parametrize(
    "url",
    ["postgresql://nobody:secret@/crm?host=/nowhere", "postgres://nobody:secret@/crm?host=/nowhere"],
    ids=["postgresql", "postgres (Heroku style)"],
)
def test_a_plain_postgresql_url_uses_the_installed_psycopg2_driver(url: str) -> None:
    engine = make_engine(url)
    assert engine.dialect.driver == "psycopg2"
    assert str(normalize_url(url).drivername) == "postgresql+psycopg2"
    with pytest.raises(DatabaseUnavailable, match=r"^Cannot reach the database postgresql\+psycopg2://nobody:\*\*\*@"):
        check_connection(engine)


def test_an_explicit_driver_is_kept() -> None:
    assert normalize_url("postgresql+psycopg2://u@h/crm").drivername == "postgresql+psycopg2"
    assert normalize_url("sqlite:///data/crm.db").drivername == "sqlite"


def _unusable_urls(tmp_path: Path) -> list[tuple[str, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    return [
        (f"sqlite:///{a_file}/crm.db", f"Cannot open the database sqlite:///{a_file}/crm.db: {a_file} is a file"),
        (f"sqlite:///{a_file}/deeper/crm.db", "cannot create the folder"),
        ("sqlite:////proc/pulse-crm-test/crm.db", "cannot create the folder /proc/pulse-crm-test"),
        ("not a url", "The database URL 'not a url' is not valid"),
        ("post gres://me:secret@host/crm", "The database URL 'post gres://me:***@host/crm' is not valid"),
        ("mysql://me:secret@host/crm", "Cannot use the database mysql://me:***@host/crm: no driver for 'mysql'"),
        ("nosuchdb://host/crm", "no driver for 'nosuchdb' is installed"),
    ]


@pytest.mark.parametrize(
    "case",
    range(7),
    ids=[
        "sqlite folder is a file",
        "sqlite folder below a file",
        "sqlite folder not creatable",
        "unparsable",
        "unparsable with password",
        "driver not installed",
        "unknown dialect",
    ],
)
def test_an_unusable_url_is_one_line_naming_the_problem_with_the_password_hidden(tmp_path: Path, case: int) -> None:
    url, expected = _unusable_urls(tmp_path)[case]
    with pytest.raises(DatabaseUnavailable) as caught:
        init_database(make_engine(url))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert "secret" not in message


def test_a_sqlite_file_that_is_no_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database " * 300)
    with pytest.raises(DatabaseUnavailable, match=r"^Cannot open the database sqlite:///.*: file is not a database$"):
        init_database(make_engine(f"sqlite:///{path}"))


def _lose_the_database(engine: Engine) -> tuple[OperationalError, Engine]:
    """A real OperationalError from a database that went away after the engine was made."""
    if engine.dialect.name == "postgresql":
        own_engine = make_engine(engine.url.render_as_string(hide_password=False), pool_pre_ping=False)
        with own_engine.connect() as connection, pytest.raises(OperationalError) as caught:
            connection.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))  # the server ends the session
            connection.execute(text("SELECT 1"))
        return caught.value, own_engine
    path = Path(str(engine.url.database))
    engine.dispose()
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    path.mkdir()  # the file is gone and nothing can be created in its place
    with pytest.raises(OperationalError) as caught, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return caught.value, engine


def test_a_database_lost_after_start_is_described_in_one_line_naming_it(engine: Engine) -> None:
    error, lost_engine = _lose_the_database(engine)
    message = describe_database_error(error, lost_engine)
    verb = "reach" if engine.dialect.name == "postgresql" else "open"
    assert message.startswith(f"Cannot {verb} the database {lost_engine.url.render_as_string(hide_password=True)}: ")
    assert "\n" not in message
    lost_engine.dispose()


def test_describing_errors_keeps_one_line_messages_and_names_other_failures() -> None:
    assert describe_database_error(DatabaseUnavailable("Cannot reach the database x: down")) == (
        "Cannot reach the database x: down"
    )
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly\n\tThis probably"))
    assert describe_database_error(lost) == "Cannot reach the database: server closed the connection unexpectedly"
    assert describe_database_error(ValueError("odd\nsecond line")) == "The database reported an error: odd"


# --- one rule for "is the database empty?" ----------------------------------------------------


def test_a_new_database_with_accounts_reference_rows_and_logs_is_empty(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            users.insert(), [{"username": "ada", "full_name": "Ada", "password_hash": "x", "role": "admin", **STAMPS}]
        )
        connection.execute(
            audit_log.insert(), [{"username": "ada", "action": "create", "entity": "users", "entity_id": "1"}]
        )
        connection.execute(import_mappings.insert(), [{"name": "m", "entity": "customers", "mapping_json": "{}"}])
    assert is_empty(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM loyalty_tiers")).scalar_one() == 4
        assert not holds_business_data(connection)


def test_a_database_without_a_schema_is_empty(tmp_path: Path) -> None:
    assert is_empty(make_engine(f"sqlite:///{tmp_path / 'blank.db'}"))


ONE_ROW: list[tuple[Table, dict[str, object]]] = [
    (brands, {"name": "Aurora", **STAMPS}),
    (categories, {"name": "Apparel", **STAMPS}),
    (warehouses, {"code": "W1", "name": "Main", **STAMPS}),
    (products, {"sku": "TS-1", "name": "T-shirt", "price": Decimal("20.00"), **STAMPS}),
    (customers, {"first_name": "Ann", **STAMPS}),
]


@pytest.mark.parametrize(("table", "row"), ONE_ROW, ids=[table.name for table, _row in ONE_ROW])
def test_one_business_row_makes_the_database_hold_data(engine: Engine, table: Table, row: dict[str, object]) -> None:
    with engine.begin() as connection:
        connection.execute(table.insert(), [row])
    assert not is_empty(engine)


def test_every_table_is_either_business_data_or_listed_as_not_business() -> None:
    business = {table.name for table in metadata.sorted_tables} - NON_BUSINESS_TABLES
    assert set(metadata.tables) >= NON_BUSINESS_TABLES
    assert {"customers", "orders", "products", "brands", "categories", "transactions", "tickets"} <= business
    assert {"users", "loyalty_tiers"} <= NON_BUSINESS_TABLES


def test_demo_data_is_refused_exactly_when_the_database_holds_data(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(products.insert(), [{"sku": "IMP-1", "name": "Imported", "price": Decimal("5"), **STAMPS}])
    assert not is_empty(engine)
    with pytest.raises(DemoDataExistsError, match="already holds data"):
        generate_demo(engine, DemoSize(customers=10, orders=20), seed=1)


def test_demo_data_loads_into_a_database_that_holds_only_accounts(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            users.insert(), [{"username": "ada", "full_name": "Ada", "password_hash": "x", "role": "admin", **STAMPS}]
        )
    summary = generate_demo(engine, DemoSize(customers=10, orders=20), seed=1)
    assert summary.rows["customers"] == 10
    assert not is_empty(engine)


def test_a_sqlite_writer_that_waited_the_whole_busy_timeout_is_told_the_database_is_busy_not_unopenable(
    sqlite_engine: Engine,
) -> None:
    import sqlite3

    locked = OperationalError("UPDATE customers ...", None, sqlite3.OperationalError("database is locked"))
    message = describe_database_error(locked, sqlite_engine)
    assert message.startswith("The database is busy with another change")
    assert "nothing was saved" in message
    assert "Cannot open" not in message


def test_init_moves_id_sequences_behind_their_rows_past_them_and_says_so(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from crm.cli import main

    # Rows with explicit ids, as a bulk load does: on PostgreSQL the sequences stay at 1.
    with engine.begin() as connection:
        connection.execute(
            customers.insert(), [{"id": 1, "first_name": "Ann", **STAMPS}, {"id": 2, "first_name": "Cy", **STAMPS}]
        )
        connection.execute(brands.insert(), [{"id": 5, "name": "Aurora", **STAMPS}])
    url = engine.url.render_as_string(hide_password=False)

    assert main(["--database-url", url, "init"]) == 0
    lines = capsys.readouterr().out.splitlines()

    repaired = [line for line in lines if line.startswith("Repaired")]
    if engine.dialect.name == "postgresql":
        assert sorted(repaired) == [
            "Repaired the id sequence of brands: the next id was 1 but ids up to 5 are taken; it is now 6.",
            "Repaired the id sequence of customers: the next id was 1 but ids up to 2 are taken; it is now 3.",
        ]
    else:  # SQLite numbers new rows after the largest id: there is no sequence to fall behind
        assert repaired == []
    with engine.begin() as connection:
        new_customer = connection.execute(customers.insert().values(first_name="Bo", **STAMPS)).inserted_primary_key
        new_brand = connection.execute(brands.insert().values(name="Borealis", **STAMPS)).inserted_primary_key
    assert (new_customer[0], new_brand[0]) == (3, 6)
    # Sequences already ahead are left alone, and a second init has nothing to say.
    assert main(["--database-url", url, "init"]) == 0
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("Repaired")]
