"""The one engine factory, schema migration and database health checks.

SQLite is the embedded default; PostgreSQL the production database. Differences
between them are confined to this module and ``crm.dialect``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Integer, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool

from crm.dialect import register_sqlite_functions
from crm.settings import get_settings

__all__ = [
    "NON_BUSINESS_TABLES",
    "PROJECT_ROOT",
    "UNAVAILABLE_ERRORS",
    "DatabaseUnavailable",
    "MigrationBlocked",
    "SequenceRepair",
    "advance_sequences",
    "check_connection",
    "describe_database_error",
    "holds_business_data",
    "init_database",
    "is_empty",
    "make_engine",
    "normalize_url",
    "repair_sequences",
    "reset_sequences",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "sql" / "migrations"

# Milliseconds a writer waits for another writer's lock before SQLite reports "database is locked":
# long enough for a save to wait out an import of tens of thousands of rows.
SQLITE_BUSY_TIMEOUT_MS = 30_000


# Tables whose rows don't make a database "hold data": sign-in accounts and their sessions, the
# reference rows every database gets (loyalty tiers), the log of what happened, saved import settings
# and users' saved views. Everything else is business data that demo loading must not mix with
# (DESIGN.md "Database").
NON_BUSINESS_TABLES = frozenset(
    {
        "users",
        "user_sessions",
        "login_attempts",
        "loyalty_tiers",
        "loyalty_settings",
        "audit_log",
        "import_mappings",
        # A user's named sidebar views (crm/saved_views.py).
        "saved_views",
        # Who gets which mail, and what was sent: settings and logs of the app, not shop data.
        "digest_subscriptions",
        "alert_rules",
        "alert_recipients",
        "alert_episodes",
        "notification_deliveries",
        # Service desk reference rows and numbering bookkeeping (crm/service).
        "sla_policies",
        "ticket_number_days",
        # The data version counter and stored CLV fits (a cache): crm/data_version.py, crm/analytics/clv/stored.py.
        "data_version",
        "clv_fits",
    }
)

# `postgresql://` alone means psycopg (3) to SQLAlchemy 2.1, which is not installed; Heroku-style
# `postgres://` is no dialect name at all. Both mean the psycopg2 driver Pulse CRM ships with.
_POSTGRES_ALIASES = {"postgresql": "postgresql+psycopg2", "postgres": "postgresql+psycopg2"}
# user:password@ in a URL SQLAlchemy could not parse, so its password can still be hidden.
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


class DatabaseUnavailable(RuntimeError):  # noqa: N818 - reads as the condition it reports
    """The database cannot be reached or used; the message is one line a user can act on."""


class MigrationBlocked(DatabaseUnavailable):
    """Stored rows break a rule the next migration adds; the message names them and how to fix them."""


# What a running app or command gets when its database goes away (server stopped, file removed,
# socket closed): catch these and show ``describe_database_error`` instead of a traceback.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    OperationalError,
    InterfaceError,
    DisconnectionError,
)


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0].strip() if lines else type(original).__name__


def _hide_password(url: str) -> str:
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def normalize_url(url: str) -> URL:
    """``url`` parsed, with the PostgreSQL driver made explicit (psycopg2).

    Raises ``DatabaseUnavailable`` naming the URL (password hidden) when it cannot be parsed.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"The database URL {_hide_password(url)!r} is not valid: "
            "expected e.g. sqlite:///data/crm.db or postgresql://user:password@host/crm"
        ) from None
    driver = _POSTGRES_ALIASES.get(parsed.drivername)
    if driver is None and parsed.drivername.startswith("postgres+"):
        driver = "postgresql+" + parsed.drivername.removeprefix("postgres+")
    return parsed.set(drivername=driver) if driver else parsed


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
        # SQLite has no time-zone database: local-time grouping calls a Python zoneinfo function.
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # ...and to emit BEGIN ourselves, so every engine.begin() is a real transaction. An explicit
        # begin (engine.begin(), connection.begin()) is how this code base writes: it takes the write
        # lock up front, waiting within the busy timeout. A deferred BEGIN that read first and then
        # wrote would fail at once with "database is locked" when another writer got in between
        # (SQLite cannot wait to upgrade a read snapshot). Reads (engine.connect() autobegin) stay
        # deferred, so they never wait for writers (WAL).
        deferred = getattr(connection, "_crm_autobeginning", False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    # Tell the begin event an implicit (read) transaction from an explicit (write) one.
    engine._connection_cls = _SQLiteConnection  # type: ignore[attr-defined]


class _SQLiteConnection(Connection):
    """A connection that marks its implicit transactions, so SQLite's begin event can keep them deferred."""

    _crm_autobeginning = False

    def _autobegin(self) -> None:
        self._crm_autobeginning = True
        try:
            super()._autobegin()
        finally:
            self._crm_autobeginning = False


def _prepare_sqlite_folder(parsed: URL) -> None:
    """Create the folder of a SQLite file on first use, or say in one line why it can't be."""
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise DatabaseUnavailable(
            f"Cannot open the database {_describe_url(parsed)}: {error.filename or folder} is a file, not a folder"
        ) from None
    except OSError as error:
        raise DatabaseUnavailable(
            f"Cannot open the database {_describe_url(parsed)}: cannot create the folder {folder} "
            f"({error.strerror or type(error).__name__})"
        ) from None


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Engine for ``url`` (default ``CRM_DATABASE_URL``), configured for its dialect.

    A SQLite file's folder is created on first use. A URL that cannot be parsed, a SQLite folder
    that cannot be created or a database without its driver raise ``DatabaseUnavailable`` with
    one line naming the problem (password hidden).
    """
    parsed = normalize_url(url or get_settings().database_url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _prepare_sqlite_folder(parsed)
        if parsed.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", NullPool)
    else:
        kwargs.setdefault("pool_pre_ping", True)  # survive PostgreSQL restarts / idle disconnects
    if backend == "postgresql" and "options" not in parsed.query:
        # JIT compilation costs ~0.4 s per analytics query and saves less than that at CRM sizes.
        kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as error:
        raise DatabaseUnavailable(
            f"Cannot use the database {_describe_url(parsed)}: no driver for {parsed.drivername!r} is installed "
            "(Pulse CRM supports sqlite:/// and postgresql://)"
        ) from error
    except (ArgumentError, TypeError, ValueError) as error:
        raise DatabaseUnavailable(f"Cannot use the database {_describe_url(parsed)}: {_first_line(error)}") from None
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def _describe_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _unavailable_message(url: URL | None, error: BaseException) -> str:
    if url is None:
        return f"Cannot reach the database: {_first_line(error)}"
    verb = "open" if url.get_backend_name() == "sqlite" else "reach"
    return f"Cannot {verb} the database {_describe_url(url)}: {_first_line(error)}"


def describe_database_error(error: BaseException, engine: Engine | None = None) -> str:
    """One line for a user about a database failure, e.g. the server went away after the app started.

    ``DatabaseUnavailable`` keeps its message; an ``OperationalError`` or ``InterfaceError`` (lost
    connection, locked or unreadable file) reads like ``check_connection``'s message, naming the
    database of ``engine`` with its password hidden. Other errors give their first line.
    """
    if isinstance(error, DatabaseUnavailable):
        return str(error).strip().splitlines()[0] if str(error).strip() else "The database is unavailable"
    url = None if engine is None else engine.url
    if _is_lock_timeout(error):
        # Another writer held SQLite's lock for longer than the busy timeout: the database is fine.
        return (
            "The database is busy with another change (an import or a long save) and stayed busy for "
            f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s; nothing was saved. Try again in a moment."
        )
    if isinstance(error, UNAVAILABLE_ERRORS) or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return _unavailable_message(url, error)
    where = "" if url is None else f" {_describe_url(url)}"
    return f"The database{where} reported an error: {_first_line(error)}"


def _is_lock_timeout(error: BaseException) -> bool:
    """SQLite's "database is locked"/"is busy": a writer waited the whole busy timeout in vain."""
    original = getattr(error, "orig", None)
    if not isinstance(original, sqlite3.OperationalError):
        return False
    message = str(original).lower()
    return "database is locked" in message or "database is busy" in message


def check_connection(engine: Engine) -> None:
    """Raise ``DatabaseUnavailable`` with a one-line reason if the database can't be used."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(_unavailable_message(engine.url, error)) from None


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def init_database(engine: Engine) -> list[SequenceRepair]:
    """Create or migrate the schema to the newest revision (idempotent); return the sequences repaired.

    PostgreSQL id sequences behind their table's rows are moved past them (``repair_sequences``)
    before anything is inserted, so no insert fails with a duplicate key afterwards.
    """
    from alembic import command

    check_connection(engine)
    command.upgrade(_alembic_config(engine), "head")
    repairs: list[SequenceRepair] = []
    if engine.dialect.name == "postgresql":  # SQLite numbers rows after the largest id: nothing to repair
        with engine.begin() as connection:
            repairs = repair_sequences(connection)
    from crm.reference import ensure_reference_data

    ensure_reference_data(engine)
    return repairs


def holds_business_data(connection: Connection) -> bool:
    """True when any business table (every table but ``NON_BUSINESS_TABLES``) has a row.

    The one rule for "is the database empty?": demo loading refuses, and ``demo --if-empty``
    and the first-run offer skip, exactly when this is true. Call it inside the writing
    transaction to decide and write atomically.
    """
    from crm.schema import metadata

    existing = set(inspect(connection).get_table_names())
    for table in metadata.sorted_tables:
        if table.name in NON_BUSINESS_TABLES or table.name not in existing:
            continue
        if connection.execute(select(1).select_from(table).limit(1)).first() is not None:
            return True
    return False


def is_empty(engine: Engine) -> bool:
    """True when the schema is missing or holds no business data (see ``holds_business_data``)."""
    with engine.connect() as connection:
        return not holds_business_data(connection)


@dataclass(frozen=True)
class SequenceRepair:
    """An id sequence that was behind its table's rows and has been moved past them."""

    table: str
    next_id_before: int
    next_id_after: int

    def describe(self) -> str:
        return (
            f"Repaired the id sequence of {self.table}: the next id was {self.next_id_before:,} but ids up to "
            f"{self.next_id_after - 1:,} are taken; it is now {self.next_id_after:,}."
        )


def _sequenced_tables(connection: Connection) -> list[tuple[str, str]]:
    """(table, sequence) of every table whose integer ``id`` draws from a PostgreSQL sequence."""
    from crm.schema import metadata

    existing = set(inspect(connection).get_table_names())
    found = []
    for table in metadata.sorted_tables:
        id_column = table.c.get("id")
        if id_column is None or not isinstance(id_column.type, Integer) or table.name not in existing:
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one()
        if sequence is not None:
            found.append((table.name, sequence))
    return found


def advance_sequences(connection: Connection) -> None:
    """Move PostgreSQL id sequences past rows inserted with explicit ids (no-op on SQLite).

    Call it inside the transaction that inserted the rows, so the rows never commit without it:
    a crash in between would leave every sequence at 1 and every later insert a duplicate key.
    (``setval`` itself is not undone by a rollback; a rolled-back load only leaves a gap in ids.)
    """
    if connection.dialect.name != "postgresql":
        return
    for table, sequence in _sequenced_tables(connection):
        connection.execute(
            text(f"SELECT setval(:sequence, COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"),
            {"sequence": sequence},
        )


def repair_sequences(connection: Connection) -> list[SequenceRepair]:
    """Move every PostgreSQL id sequence that is behind its table's largest id past it; say which.

    A sequence is behind when its next value is an id already taken (rows loaded with explicit
    ids by an older version, a crash, a restore without sequences). Sequences ahead are left alone.
    """
    if connection.dialect.name != "postgresql":
        return []
    repairs = []
    for table, sequence in _sequenced_tables(connection):
        largest = connection.execute(text(f"SELECT MAX(id) FROM {table}")).scalar_one()
        if largest is None:
            continue
        last_value, is_called = connection.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        next_id = last_value + 1 if is_called else last_value
        if next_id > largest:
            continue
        connection.execute(text("SELECT setval(:sequence, :largest, true)"), {"sequence": sequence, "largest": largest})
        repairs.append(SequenceRepair(table, next_id, largest + 1))
    return repairs


def reset_sequences(engine: Engine) -> None:
    """Move PostgreSQL id sequences past rows inserted with explicit ids (no-op on SQLite)."""
    with engine.begin() as connection:
        advance_sequences(connection)
