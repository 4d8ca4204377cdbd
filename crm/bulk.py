"""Fast bulk loading of DataFrames: COPY on PostgreSQL, executemany on SQLite.

Used by the demo generator and the importer; both run inside the caller's transaction,
so a failure leaves nothing half-written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import AddConstraint, DropConstraint

from crm.schema import metadata

__all__ = ["bulk_insert", "indexes_deferred", "money", "truncate_all"]

# Rows converted and sent per round trip: amortises Python overhead, bounds memory.
BATCH_ROWS = 100_000


def _sqlite_value_columns(frame: pd.DataFrame) -> list[list[object]]:
    columns: list[list[object]] = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            # SQLAlchemy's SQLite DateTime storage format; NaT becomes NULL.
            values = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object)
            values = values.where(series.notna(), None)
            columns.append(values.tolist())
        elif pd.api.types.is_bool_dtype(series):
            columns.append(series.astype(int).tolist())
        elif pd.api.types.is_float_dtype(series):
            values = series.astype(object).where(series.notna(), None)
            columns.append(values.tolist())
        elif pd.api.types.is_integer_dtype(series):
            if isinstance(series.dtype, pd.Int64Dtype) or series.isna().any():
                columns.append(series.astype(object).where(series.notna(), None).tolist())
            else:
                columns.append(series.tolist())
        else:
            values = series.astype(object).where(series.notna(), None).tolist()
            # sqlite3 cannot bind Decimal; SQLite keeps NUMERIC as a float anyway (see docs/DESIGN.md).
            columns.append([float(value) if isinstance(value, Decimal) else value for value in values])
    return columns


def _chunks(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    # Converting a few hundred thousand rows at a time keeps peak memory flat for millions of rows.
    for start in range(0, len(frame), BATCH_ROWS):
        yield frame.iloc[start : start + BATCH_ROWS]


def _with_python_defaults(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Add columns whose default is computed in Python (created_at, updated_at), as Core inserts would.

    COPY and raw executemany bypass SQLAlchemy, so without this those NOT NULL columns would be empty.
    """
    missing = {}
    for column in table.columns:
        default = column.default
        if column.name in frame.columns or default is None:
            continue
        if getattr(default, "is_callable", False):
            missing[column.name] = default.arg(None)  # type: ignore[attr-defined]
        elif getattr(default, "is_scalar", False):
            missing[column.name] = default.arg  # type: ignore[attr-defined]
    return frame.assign(**missing) if missing else frame


def bulk_insert(connection: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named like ``table``'s) and return the row count.

    Money columns may be floats with two decimals or Decimal; datetimes naive UTC.
    """
    if frame.empty:
        return 0
    unknown = set(frame.columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {sorted(unknown)}")
    frame = _with_python_defaults(table, frame)
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    dbapi_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    statement = ""
    try:
        if connection.dialect.name == "postgresql":
            statement = f"COPY {table.name} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
            for chunk in _chunks(frame):
                buffer = io.StringIO()
                chunk.to_csv(buffer, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S.%f")
                buffer.seek(0)
                cursor.copy_expert(statement, buffer)
        else:
            placeholders = ", ".join("?" for _ in frame.columns)
            statement = f"INSERT INTO {table.name} ({columns}) VALUES ({placeholders})"
            for chunk in _chunks(frame):
                cursor.executemany(statement, list(zip(*_sqlite_value_columns(chunk), strict=True)))
    except dbapi_error as error:
        # The raw cursor bypasses SQLAlchemy; raise its exception types (IntegrityError, …) like Core would.
        raise DBAPIError.instance(statement, None, error, dbapi_error) from error
    finally:
        cursor.close()
    return len(frame)


ACCOUNT_TABLES = ("users", "user_sessions", "login_attempts")


def truncate_all(connection: Connection, *, keep_accounts: bool = False) -> None:
    """Delete every row of every CRM table (``demo --replace``); optionally keep sign-in accounts."""
    tables = [table for table in metadata.sorted_tables if not (keep_accounts and table.name in ACCOUNT_TABLES)]
    if connection.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        return
    for table in reversed(tables):
        # SQLite checks RESTRICT row by row, so a tree (categories) must be flattened before deleting.
        for constraint in table.foreign_key_constraints:
            if constraint.referred_table is table:
                connection.execute(table.update().values({column.name: None for column in constraint.columns}))
        connection.execute(table.delete())


def money(cents: np.ndarray) -> np.ndarray:
    """Integer cents to float currency units with exactly two decimals (exact for < 2^53 cents)."""
    return np.round(cents.astype(np.int64) / 100.0, 2)


@contextmanager
def indexes_deferred(connection: Connection, tables: Iterable[Table]) -> Iterator[None]:
    """Drop the secondary indexes (and, on PostgreSQL, foreign keys) of ``tables`` for a bulk load.

    Building an index once after loading millions of rows is several times faster than
    maintaining it row by row, and re-adding a foreign key validates all rows in one join.
    Everything is rebuilt before the caller's transaction commits, so readers never see
    the tables without them; a failure rolls the drops back with the load.
    """
    tables = list(tables)
    postgres = connection.dialect.name == "postgresql"
    for table in tables:
        for index in table.indexes:
            index.drop(connection)
        if postgres:
            for constraint in table.foreign_key_constraints:
                connection.execute(DropConstraint(constraint))
    yield
    for table in tables:
        for index in table.indexes:
            index.create(connection)
        if postgres:
            for constraint in table.foreign_key_constraints:
                connection.execute(AddConstraint(constraint))
