"""The one engine factory, schema migration and database health checks.

SQLite is the embedded default; PostgreSQL the production database. Differences
between them are confined to this module and ``crm.dialect``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Integer, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from crm.settings import get_settings

__all__ = [
    "PROJECT_ROOT",
    "DatabaseUnavailable",
    "check_connection",
    "init_database",
    "is_empty",
    "make_engine",
    "reset_sequences",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "sql" / "migrations"

# Milliseconds a writer waits for another writer's lock before SQLite reports "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000


class DatabaseUnavailable(RuntimeError):  # noqa: N818 - reads as the condition it reports
    """The database cannot be reached; the message is one line a user can act on."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # The pysqlite driver's own transaction handling breaks SAVEPOINTs (a rolled-back
        # savepoint can silently commit); SQLAlchemy's documented fix is to disable it...
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster commits
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # ...and to emit BEGIN ourselves, so every engine.begin() is a real transaction.
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Engine for ``url`` (default ``CRM_DATABASE_URL``), configured for its dialect.

    A SQLite file's folder is created on first use.
    """
    url = url or get_settings().database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", NullPool)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # survive PostgreSQL restarts / idle disconnects
    if parsed.get_backend_name() == "postgresql" and "options" not in parsed.query:
        # JIT compilation costs ~0.4 s per analytics query and saves less than that at CRM sizes.
        kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    return create_engine(url, **kwargs)


def _describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def check_connection(engine: Engine) -> None:
    """Raise ``DatabaseUnavailable`` with a one-line reason if the database can't be used."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error) else type(error).__name__
        raise DatabaseUnavailable(f"Cannot reach the database {_describe(engine)}: {reason}") from None


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def init_database(engine: Engine) -> None:
    """Create or migrate the schema to the newest revision (idempotent)."""
    from alembic import command

    check_connection(engine)
    command.upgrade(_alembic_config(engine), "head")
    from crm.reference import ensure_reference_data

    ensure_reference_data(engine)


def is_empty(engine: Engine) -> bool:
    """True when the schema is missing or holds no customers yet."""
    if not inspect(engine).has_table("customers"):
        return True
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1 FROM customers LIMIT 1")).first() is None


def reset_sequences(engine: Engine) -> None:
    """Move PostgreSQL id sequences past rows inserted with explicit ids (no-op on SQLite)."""
    if engine.dialect.name != "postgresql":
        return
    from crm.schema import metadata

    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            id_column = table.c.get("id")
            if id_column is None or not isinstance(id_column.type, Integer):
                continue
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )
