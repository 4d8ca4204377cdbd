"""Fast bulk loading of DataFrames: COPY on PostgreSQL, executemany on SQLite.

Used by the demo generator and the importer; both run inside the caller's transaction,
so a failure leaves nothing half-written.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import CheckConstraint, Connection, Table, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.schema import AddConstraint, DropConstraint

from crm.schema import metadata

__all__ = ["bulk_insert", "checks_deferred", "indexes_deferred", "money", "truncate_all"]

T = TypeVar("T")

# Server memory for rebuilding indexes after a bulk load on PostgreSQL (for that transaction only).
INDEX_BUILD_MEMORY = "256MB"
# Rows converted and sent per round trip: amortises Python overhead, bounds memory.
BATCH_ROWS = 100_000


# SQLAlchemy's SQLite DateTime storage format; PostgreSQL reads the same text.
DATETIME_TEXT = "%Y-%m-%d %H:%M:%S.%f"
MICROSECONDS_PER_DAY = 86_400_000_000


@lru_cache(maxsize=1)
def _clock_texts() -> np.ndarray:
    """Every second of a day as "HH:MM:SS.000000" (86,400 strings, built once)."""
    return np.array(
        [
            f"{hour:02d}:{minute:02d}:{second:02d}.000000"
            for hour in range(24)
            for minute in range(60)
            for second in range(60)
        ],
        dtype=object,
    )


def _datetime_texts(series: pd.Series) -> np.ndarray:
    """Naive datetimes as ``DATETIME_TEXT`` strings (object array), NaT as None.

    Whole seconds are assembled from a day text and a clock text looked up per row: several
    times faster than strftime, which was most of the time spent loading a million orders.
    """
    present = series.notna().to_numpy()
    texts = np.full(len(series), None, dtype=object)
    if not present.any():
        return texts
    if getattr(series.dtype, "tz", None) is not None:  # zone-aware: its wall-clock text, as strftime gives
        texts[present] = series[present].dt.strftime(DATETIME_TEXT).to_numpy(dtype=object)
        return texts
    micros = series.to_numpy(dtype="datetime64[us]")[present].astype(np.int64)
    days, within_day = np.divmod(micros, MICROSECONDS_PER_DAY)
    if (within_day % 1_000_000).any():  # fractions of a second: format them one by one
        texts[present] = series[present].dt.strftime(DATETIME_TEXT).to_numpy(dtype=object)
        return texts
    unique_days, day_index = np.unique(days, return_inverse=True)
    day_texts = np.array(
        [f"{day} " for day in np.datetime_as_string(unique_days.astype("datetime64[D]"))], dtype=object
    )
    texts[present] = day_texts[day_index] + _clock_texts()[within_day // 1_000_000]
    return texts


def _sqlite_value_columns(frame: pd.DataFrame) -> list[list[object]]:
    columns: list[list[object]] = []
    # (values, texts) of the datetime columns converted so far: created_at often equals order_date.
    converted: list[tuple[np.ndarray, list[object]]] = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.to_numpy()
            same = next((texts for seen, texts in converted if np.array_equal(seen, values, equal_nan=True)), None)
            if same is None:
                same = _datetime_texts(series).tolist()
                converted.append((values, same))
            columns.append(same)
        elif pd.api.types.is_bool_dtype(series):
            columns.append(series.astype(int).tolist())
        elif pd.api.types.is_float_dtype(series):
            if series.isna().any():
                columns.append(series.astype(object).where(series.notna(), None).tolist())
            else:
                columns.append(series.tolist())
        elif pd.api.types.is_integer_dtype(series):
            if isinstance(series.dtype, pd.Int64Dtype) or series.isna().any():
                columns.append(series.astype(object).where(series.notna(), None).tolist())
            else:
                columns.append(series.tolist())
        else:
            values = series.astype(object).where(series.notna(), None).tolist()
            if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
                columns.append(values)  # text only: nothing to convert (checked in C, not value by value)
                continue
            # sqlite3 cannot bind Decimal; SQLite keeps NUMERIC as a float anyway (see docs/DESIGN.md).
            columns.append([float(value) if isinstance(value, Decimal) else value for value in values])
    return columns


def _csv_for_copy(chunk: pd.DataFrame) -> tuple[io.BytesIO, str]:
    """``chunk`` as CSV for COPY, and the text that means NULL in it.

    Arrow's C++ writer is several times faster than ``DataFrame.to_csv``; with every value quoted, an
    unquoted empty field is NULL. Frames Arrow cannot type (mixed objects) go through pandas instead.
    """
    prepared = chunk.assign(
        **{
            name: _datetime_texts(chunk[name])
            for name in chunk.columns
            if pd.api.types.is_datetime64_any_dtype(chunk[name])
        }
    )
    try:
        arrow_table = pa.Table.from_pandas(prepared, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        text_buffer = io.StringIO()
        prepared.to_csv(text_buffer, index=False, header=False, na_rep="\\N")
        return io.BytesIO(text_buffer.getvalue().encode()), "\\N"
    buffer = io.BytesIO()
    pa_csv.write_csv(arrow_table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
    buffer.seek(0)
    return buffer, ""


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


def bulk_insert(connection: Connection, table: Table, frames: pd.DataFrame | Iterable[pd.DataFrame]) -> int:
    """Insert every row of ``frames`` (one frame, or frames made on the fly) and return the row count.

    Columns are named like ``table``'s. Money columns may be floats with two decimals or Decimal;
    datetimes naive UTC. On PostgreSQL the next chunk's CSV is written in a worker thread while the
    server copies the current one, so client and server work side by side.
    """
    postgres = connection.dialect.name == "postgresql"

    def batches() -> Iterator[tuple[str, int, pd.DataFrame | tuple[io.BytesIO, str]]]:
        for frame in [frames] if isinstance(frames, pd.DataFrame) else frames:
            if frame.empty:
                continue
            unknown = set(frame.columns) - set(table.c.keys())
            if unknown:
                raise ValueError(f"{table.name} has no column(s) {sorted(unknown)}")
            frame = _with_python_defaults(table, frame)
            columns = ", ".join(f'"{name}"' for name in frame.columns)
            for chunk in _chunks(frame):
                yield columns, len(chunk), (_csv_for_copy(chunk) if postgres else chunk)

    dbapi_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    statement = ""
    rows = 0
    try:
        if postgres:
            for columns, count, (buffer, null) in _ahead(batches()):  # type: ignore[misc]
                statement = f"COPY {table.name} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{null}')"
                # One read of the whole buffer: the copy then runs without needing the GIL back.
                cursor.copy_expert(statement, buffer, size=max(buffer.getbuffer().nbytes, 8192))
                rows += count
        else:
            for columns, count, chunk in batches():
                assert isinstance(chunk, pd.DataFrame)
                placeholders = ", ".join("?" for _ in chunk.columns)
                statement = f"INSERT INTO {table.name} ({columns}) VALUES ({placeholders})"
                cursor.executemany(statement, zip(*_sqlite_value_columns(chunk), strict=True))
                rows += count
    except dbapi_error as error:
        # The raw cursor bypasses SQLAlchemy; raise its exception types (IntegrityError, …) like Core would.
        raise DBAPIError.instance(statement, None, error, dbapi_error) from error
    finally:
        cursor.close()
    return rows


_END = object()


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield ``items``, making the next one in a worker thread while the caller uses the current one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-prepare") as worker:
        upcoming = worker.submit(next, items, _END)
        while True:
            item = upcoming.result()
            if item is _END:
                return
            upcoming = worker.submit(next, items, _END)
            yield item  # type: ignore[misc]


ACCOUNT_TABLES = ("users", "user_sessions", "login_attempts")
# Never emptied by truncate_all (see crm/data_version.py).
KEPT_TABLES = ("data_version",)


def truncate_all(connection: Connection, *, keep_accounts: bool = False) -> None:
    """Delete every row of every CRM table (``demo --replace``); optionally keep sign-in accounts."""
    tables = [
        table
        for table in metadata.sorted_tables
        # The data version only ever counts up: an app server must never meet an old number again.
        if table.name not in KEPT_TABLES and not (keep_accounts and table.name in ACCOUNT_TABLES)
    ]
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
    if postgres:
        # Sorting a few million keys in memory instead of on disk builds the indexes about a quarter
        # faster; SET LOCAL ends with the transaction.
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
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


@contextmanager
def checks_deferred(connection: Connection, tables: Iterable[Table]) -> Iterator[None]:
    """On SQLite, check the CHECK constraints of ``tables`` once after a bulk load instead of row by row.

    SQLite evaluates every CHECK (IN lists included) again for each inserted row, a third of the time
    of loading a million transactions; one query per table afterwards finds the same violations and
    raises ``IntegrityError`` naming the constraint, so the caller's transaction rolls back as before.
    PostgreSQL checks rows during COPY at little cost: there this does nothing.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    # A flag pragma: SQLite expires compiled statements when it changes, so none keeps skipping checks.
    connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    for table in tables:
        _verify_checks(connection, table)


def _verify_checks(connection: Connection, table: Table) -> None:
    checks = [constraint for constraint in table.constraints if isinstance(constraint, CheckConstraint)]
    if not checks:
        return
    conditions = {str(check.name): str(check.sqltext.compile(dialect=connection.dialect)) for check in checks}
    # NOT (condition) is true only when the condition is false: NULL passes, as in a CHECK.
    broken = " OR ".join(f"NOT ({condition})" for condition in conditions.values())
    if connection.exec_driver_sql(f"SELECT 1 FROM {table.name} WHERE {broken} LIMIT 1").first() is None:
        return
    for name, condition in conditions.items():
        statement = f"SELECT 1 FROM {table.name} WHERE NOT ({condition}) LIMIT 1"
        if connection.exec_driver_sql(statement).first() is not None:
            dbapi_error = connection.dialect.loaded_dbapi.IntegrityError
            raise IntegrityError(statement, None, dbapi_error(f"CHECK constraint failed: {name}"))
