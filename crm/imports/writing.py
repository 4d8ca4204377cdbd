"""Shared steps of every entity's import: decisions, rejection texts, key lookups, updates, audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, Date, DateTime, Numeric, Table, bindparam, func, select, update

from crm.audit import to_json
from crm.imports.core import ImportReport, TypedRows
from crm.imports.dedupe import LOOKUP_CHUNK
from crm.schema import utc_now

__all__ = [
    "LOOKUP_CHUNK",
    "database_value",
    "existing_ids",
    "finish_decisions",
    "inserted_ids",
    "max_id",
    "queue_changes",
    "queue_creates",
    "record_decisions",
    "rejection_reasons",
    "update_rows",
]


def record_decisions(
    report: ImportReport,
    rows: TypedRows,
    positions: np.ndarray,
    decision: str,
    reasons: list[str] | str = "",
    targets: list[object] | None = None,
) -> None:
    """Append one decision per row position (with the same reason, or one reason per row)."""
    if isinstance(reasons, str):
        reasons = [reasons] * len(positions)
    targets = targets or [""] * len(positions)
    report.decisions.extend(
        {"row": int(rows.row_numbers[position]), "decision": decision, "reason": reason, "target": target}
        for position, reason, target in zip(positions, reasons, targets, strict=True)
    )


def finish_decisions(
    report: ImportReport, rows: TypedRows, inserted: np.ndarray, matched: np.ndarray, policy: str
) -> np.ndarray:
    """Record the inserts and the rejected rows; return which rows reached the database.

    Matched duplicates count as imported unless the policy skipped them.
    """
    record_decisions(report, rows, inserted, "insert")
    rejected = np.flatnonzero(rows.rejected)
    record_decisions(report, rows, rejected, "reject", rejection_reasons(rows, rejected))
    imported = np.zeros(len(rows), dtype=bool)
    imported[inserted] = True
    if policy != "skip":
        imported[matched] = True
    return imported


def database_value(value: object) -> object:
    """A pandas/numpy cell as the plain Python value the database driver expects (None for blanks)."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def rejection_reasons(rows: TypedRows, positions: np.ndarray) -> list[str]:
    """One text per rejected row: "column: reason; column: reason"."""
    by_row: dict[int, list[str]] = {}
    for error in rows.errors:
        label = f"{error['column']}: {error['reason']}" if error["column"] else error["reason"]
        by_row.setdefault(error["row"], []).append(label)
    return ["; ".join(by_row.get(int(rows.row_numbers[position]), [])) for position in positions]


def existing_ids(connection: Connection, column: Column, id_column: Column, numbers: pd.Series) -> dict[str, int]:
    """Id of the existing row for each distinct number/SKU in ``numbers`` that is already stored."""
    wanted = set(numbers.dropna().unique())
    if not wanted:
        return {}
    found: dict[str, int] = {}
    values = sorted(wanted)
    # Chunked IN lists: portable, and cheap next to the import itself.
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        found.update(
            {
                number: row_id
                for row_id, number in connection.execute(select(id_column, column).where(column.in_(chunk)))
            }
        )
    return found


# Columns every table stamps by itself: not part of what an audit row says was imported.
_UNAUDITED = {"updated_at", "version"}


def queue_changes(
    rows: TypedRows,
    action: str,
    entity: str,
    ids: Sequence[object],
    befores: Sequence[str | None] | None,
    afters: Sequence[str | None] | None,
) -> None:
    """Queue audit rows (one per id) that ``run_import`` writes, with its actor, in the import's transaction."""
    if len(ids) == 0:
        return
    empty = [None] * len(ids)
    columns = {
        "action": [action] * len(ids),
        # str(): a table's name is SQLAlchemy's quoted_name, which the driver inspects row by row.
        "entity": [str(entity)] * len(ids),
        "entity_id": [str(int(row_id)) for row_id in ids],
        "before_json": list(befores) if befores is not None else empty,
        "after_json": list(afters) if afters is not None else empty,
    }
    # Plain Python strings: the rows go straight to the database, no string dtype conversion.
    rows.changes.append(pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()}))


def _json_lines(frame: pd.DataFrame, table: Table) -> list[str]:
    """One JSON object per row of ``frame`` (keys sorted, money as exact strings, dates as ISO).

    pandas' C serialiser keeps a 100k-row import's audit cheap; ``crm.audit.to_json`` writes
    the same shape one row at a time.
    """
    prepared = pd.DataFrame(index=frame.index)
    for name in sorted(frame.columns):
        series = frame[name]
        column_type = table.c[name].type
        if isinstance(column_type, Numeric) and column_type.scale and pd.api.types.is_numeric_dtype(series):
            text = series.map(lambda value, scale=column_type.scale: f"{value:.{scale}f}")
            series = text.astype(object).where(series.notna(), None)
        elif isinstance(series.dtype, pd.Int64Dtype):
            series = series.astype(object).where(series.notna(), None)
        prepared[name] = series
    text = prepared.to_json(orient="records", lines=True, force_ascii=False, date_format="iso", date_unit="s")
    # pandas writes "/" as "\/" (valid JSON, but hard to read in the audit log): every slash it
    # escapes is preceded by exactly that one backslash, so the plain replacement is exact.
    return text.replace("\\/", "/").rstrip("\n").split("\n") if len(prepared) else []


def queue_creates(rows: TypedRows, table: Table, ids: Sequence[object], frame: pd.DataFrame) -> None:
    """Queue a "create" audit row per inserted row: its id and the values it was created with.

    Columns the import left wholly blank are not repeated on every row.
    """
    columns = [name for name in frame.columns if name not in _UNAUDITED and frame[name].notna().any()]
    columns = [name for name in columns if not name.endswith("_normalized")]  # derived from email/phone
    if len(ids) != len(frame):
        raise RuntimeError(f"{table.name}: {len(ids)} new ids for {len(frame)} inserted rows")
    queue_changes(rows, "create", table.name, ids, None, _json_lines(frame[columns], table) if len(frame) else [])


def inserted_ids(
    connection: Connection,
    table: Table,
    after_id: int,
    expected: int,
    owner: tuple[Column, set[int]] | None = None,
) -> list[int]:
    """Ids of the ``expected`` rows just inserted after ``after_id``, in insertion order.

    The import holds the write lock of the table it imports into (``_serialise_imports``),
    and SQLite's rowids and PostgreSQL's sequences hand out increasing ids in the order rows
    are sent, so the ids above the previous maximum are the new rows, in the frame's order.
    A table the import does not lock (order items) names ``owner`` — (column, the ids the
    new rows point to) — so a row another session inserted meanwhile is told apart.
    """
    lowest, highest, count = connection.execute(
        select(func.min(table.c.id), func.max(table.c.id), func.count()).where(table.c.id > after_id)
    ).one()
    if count == expected and (count == 0 or highest - lowest + 1 == count):
        return list(range(lowest, highest + 1)) if count else []  # one unbroken run: nothing to fetch
    if owner is None:
        raise RuntimeError(f"{table.name}: {count} rows appeared during the import, {expected} were inserted")
    column, parents = owner
    statement = select(table.c.id, column).where(table.c.id > after_id).order_by(table.c.id)
    ids = [row_id for row_id, parent in connection.execute(statement) if parent in parents]
    if len(ids) != expected:
        raise RuntimeError(f"{table.name}: {len(ids)} new rows found, {expected} were inserted")
    return ids


def max_id(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _comparable(value: Any, column: Column) -> Any:
    """A stored or imported value in one form per column type, so equal values compare equal."""
    if value is None:
        return None
    column_type = column.type
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(column_type, Date) and not isinstance(column_type, DateTime):
        return value.date() if isinstance(value, datetime) else value
    if isinstance(column_type, DateTime) and isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
        if isinstance(column_type, Numeric) and column_type.scale is not None:
            return number.quantize(Decimal(1).scaleb(-column_type.scale))
        return int(number) if number == number.to_integral_value() else number
    return value


def update_rows(
    connection: Connection,
    rows: TypedRows,
    table: Table,
    columns: list[str],
    frame: pd.DataFrame,
    targets: pd.Series,
    policy: str,
) -> dict[int, dict[str, tuple[Any, Any]]]:
    """UPDATE rows ``targets`` from ``frame``: ``update`` overwrites with non-blank values, ``merge`` fills blanks.

    The stored values are read first, so only rows that really change are written (their
    ``version`` goes up) and each gets an ``update``/``merge`` audit row with the changed
    columns before and after. Returns {id: {column: (before, after)}} of the changed rows.
    """
    if not columns or frame.empty:
        return {}
    target_ids = [int(target) for target in targets]
    current: dict[int, dict[str, Any]] = {}
    selected = [table.c.id, *(table.c[name] for name in columns)]
    distinct = sorted(set(target_ids))
    for start in range(0, len(distinct), LOOKUP_CHUNK):
        chunk = distinct[start : start + LOOKUP_CHUNK]
        for row in connection.execute(select(*selected).where(table.c.id.in_(chunk))).mappings():
            current[row["id"]] = {name: _comparable(row[name], table.c[name]) for name in columns}
    changes: dict[int, dict[str, tuple[Any, Any]]] = {}
    parameters = []
    for position, target in zip(frame.index, target_ids, strict=True):
        stored = current.get(target)
        if stored is None:
            continue
        new_values = {name: _comparable(database_value(frame.at[position, name]), table.c[name]) for name in columns}
        changed = {}
        for name in columns:
            old, new = stored[name], new_values[name]
            result = (new if new is not None else old) if policy == "update" else (old if old is not None else new)
            if result != old:
                changed[name] = (old, result)
                stored[name] = result  # a later row of the file aimed at the same record sees this value
        if not changed:
            continue
        previous = changes.setdefault(target, {})
        for name, (old, result) in changed.items():
            previous[name] = (previous[name][0] if name in previous else old, result)
        parameter = {f"new_{name}": new_values[name] for name in columns}
        parameter["target_id"] = target
        parameters.append(parameter)
    if not parameters:
        return {}
    values = {}
    for name in columns:
        new = bindparam(f"new_{name}", type_=table.c[name].type)
        values[name] = func.coalesce(new, table.c[name]) if policy == "update" else func.coalesce(table.c[name], new)
    values["version"] = table.c.version + 1
    values["updated_at"] = utc_now()
    connection.execute(update(table).where(table.c.id == bindparam("target_id")).values(values), parameters)
    ids = list(changes)
    audited = [{name: pair for name, pair in changes[row_id].items() if name not in _UNAUDITED} for row_id in ids]
    queue_changes(
        rows,
        policy,
        table.name,
        ids,
        [to_json({name: pair[0] for name, pair in change.items()}) for change in audited],
        [to_json({name: pair[1] for name, pair in change.items()}) for change in audited],
    )
    return changes
