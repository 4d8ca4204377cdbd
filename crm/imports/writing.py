"""Shared steps of every entity's import: decisions, rejection texts, key lookups, updates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, Table, bindparam, func, select, update

from crm.imports.core import ImportReport, TypedRows
from crm.schema import utc_now

__all__ = [
    "database_value",
    "existing_ids",
    "finish_decisions",
    "record_decisions",
    "rejection_reasons",
    "update_rows",
]

# Values per IN (...) list when looking up numbers/SKUs: portable and cheap next to the import.
LOOKUP_CHUNK = 5_000


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


def update_rows(
    connection: Connection, table: Table, columns: list[str], frame: pd.DataFrame, targets: pd.Series, policy: str
) -> None:
    """UPDATE rows ``targets`` from ``frame``: ``update`` overwrites with non-blank values, ``merge`` fills blanks.

    One executemany statement: COALESCE keeps the stored value wherever the file is blank.
    """
    if not columns or frame.empty:
        return
    values = {}
    for name in columns:
        new = bindparam(f"new_{name}", type_=table.c[name].type)
        values[name] = func.coalesce(new, table.c[name]) if policy == "update" else func.coalesce(table.c[name], new)
    values["version"] = table.c.version + 1
    values["updated_at"] = utc_now()
    statement = update(table).where(table.c.id == bindparam("target_id")).values(values)
    parameters = []
    for position, target in zip(frame.index, targets, strict=True):
        parameter = {f"new_{name}": database_value(frame.at[position, name]) for name in columns}
        parameter["target_id"] = int(target)
        parameters.append(parameter)
    connection.execute(statement, parameters)
