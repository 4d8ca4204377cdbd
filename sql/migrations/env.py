"""Alembic environment: migrations run on the engine handed over by crm.db.init_database.

Run from the command line with ``python -m crm init`` (alembic's own CLI works too:
``alembic -c sql/alembic.ini upgrade head`` uses CRM_DATABASE_URL).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from crm.db import MigrationBlocked, make_engine
from crm.schema import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine()


def _set_sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    # The PRAGMA is ignored inside a transaction, so it goes to the driver before alembic's BEGIN
    # (crm.db runs pysqlite in autocommit mode and emits BEGIN itself).
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations recreate a table (copy, drop, rename). With foreign keys on, dropping the
        # old copy would cascade into or be refused by the tables that point at it (tickets → notes).
        _set_sqlite_foreign_keys(connection, enabled=False)
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,  # SQLite can't ALTER most things
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:  # rolls the whole migration back
                    raise MigrationBlocked(
                        f"Cannot upgrade the database schema: rows point at missing rows (table, rowid, parent): "
                        f"{[tuple(row[:3]) for row in broken[:5]]}"
                    )
        connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():  # a failed migration: undo it before the PRAGMA can apply
                connection.rollback()
            _set_sqlite_foreign_keys(connection, enabled=True)
