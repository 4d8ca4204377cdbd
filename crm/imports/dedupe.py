"""Finding duplicates by key, inside the file and against the database."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sqlalchemy import Column, Connection, func, select

__all__ = ["LOOKUP_CHUNK", "database_matches", "file_duplicates", "matched_key"]

# Values per IN (...) list when looking up keys, numbers and SKUs: far below SQLite's and
# PostgreSQL's parameter limits, and few round trips for a 100k-row file.
LOOKUP_CHUNK = 5_000
# A file with at least this many keys per stored row reads the column's keys in one scan
# instead: loading a column of 10k keys beats 20 IN lists of 5,000 for a 100k-row file.
SCAN_WHEN_KEYS_PER_ROW = 0.25

# Passes of key grouping; chains longer than this (A~B by email, B~C by phone, ...) are rare.
_MAX_PASSES = 6


def file_duplicates(keys: Mapping[str, pd.Series], candidates: np.ndarray) -> np.ndarray:
    """For every row, the position of the first row of the file it duplicates (itself when unique).

    Rows sharing any key are one group, transitively (A and B share an email, B and C a
    phone: all three are one customer). Only ``candidates`` rows take part.
    """
    count = len(candidates)
    leader = np.arange(count)
    for _ in range(_MAX_PASSES):
        before = leader.copy()
        for key in keys.values():
            has = key.notna().to_numpy() & candidates
            if not has.any():
                continue
            group_first = (
                pd.DataFrame({"key": key.to_numpy()[has], "leader": leader[has]})
                .groupby("key", sort=False)["leader"]
                .transform("min")
                .to_numpy()
            )
            leader[has] = np.minimum(leader[has], group_first)
            while not np.array_equal(leader[leader], leader):
                leader = leader[leader]
        if np.array_equal(before, leader):
            break
    return leader


def matched_key(keys: Mapping[str, pd.Series], positions: np.ndarray, others: np.ndarray) -> list[str]:
    """Name of the first key on which row ``positions[i]`` equals row ``others[i]``."""
    names = np.full(len(positions), "", dtype=object)
    for name, key in keys.items():
        values = key.to_numpy()
        equal = pd.notna(values[positions]) & (values[positions] == values[others]) & (names == "")
        names[equal] = name
    return names.tolist()


def database_matches(
    connection: Connection, id_column: Column, keys: Mapping[str, tuple[Column, pd.Series]]
) -> tuple[pd.Series, pd.Series]:
    """Existing row id for every file row (first key that matches, in ``keys`` order), and that key's name.

    ``keys`` maps a key name to (database column, the file's normalised values). Only the
    file's own keys are looked up, in chunked IN lists on indexed columns, so a 10-row file
    costs a few index probes however many customers the database holds.
    """
    index = next(iter(keys.values()))[1].index
    found = pd.Series(np.nan, index=index, dtype=float)
    by = pd.Series("", index=index, dtype=object)
    stored_rows: int | None = None
    for name, (column, values) in keys.items():
        # A key already matched by an earlier one needs no second look.
        wanted = sorted(set(values[found.isna()].dropna().tolist()))
        if not wanted:
            continue
        if stored_rows is None:
            stored_rows = connection.execute(select(func.count()).select_from(id_column.table)).scalar_one()
        if stored_rows == 0:
            continue
        existing = _stored_keys(
            connection, id_column, column, wanted, scan=len(wanted) >= stored_rows * SCAN_WHEN_KEYS_PER_ROW
        )
        ids = values.map(existing)
        new_match = found.isna() & ids.notna()
        found = found.where(~new_match, ids)
        by = by.where(~new_match, name)
    return found, by


def _stored_keys(
    connection: Connection, id_column: Column, column: Column, wanted: list[object], *, scan: bool
) -> dict[object, int]:
    """{key: id of the oldest row with it} for the ``wanted`` keys that are stored."""
    existing: dict[object, int] = {}
    # Descending ids, so the oldest row wins for a key shared by several rows.
    if scan:
        statement = select(column, id_column).where(column.is_not(None)).order_by(id_column.desc())
        existing = dict(connection.execute(statement).all())
        return existing
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        statement = select(column, id_column).where(column.in_(chunk)).order_by(id_column.desc())
        existing.update(dict(connection.execute(statement).all()))
    return existing
