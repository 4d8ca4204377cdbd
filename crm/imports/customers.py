"""Importing customers: names, keys, duplicates (file and database), insert/update/merge."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from crm.bulk import bulk_insert
from crm.imports.core import ImportReport, TypedRows
from crm.imports.dedupe import database_matches, file_duplicates, matched_key
from crm.imports.writing import (
    finish_decisions,
    inserted_ids,
    max_id,
    queue_creates,
    record_decisions,
    update_rows,
)
from crm.schema import customers, utc_now
from crm.vocabulary import source_codes

__all__ = ["CUSTOMER_COLUMNS", "import_customers", "split_full_names"]

# Fields written to the customers table as they are (after typing).
CUSTOMER_COLUMNS = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "address",
    "city",
    "country",
    "birth_date",
    "gender",
    "source",
    "customer_type",
    "status",
    "tags",
    "preferred_season",
    "notes",
    "loyalty_points",
    "marketing_consent",
    "created_at",
)
_KEY_LABELS = {"external_id": "external id", "email": "email", "phone": "phone"}


def split_full_names(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(first names, last names) from full names.

    "Ada Lovelace" -> ("Ada", "Lovelace"); "Lovelace, Ada" -> ("Ada", "Lovelace"); names in
    Chinese, Korean or Japanese script without spaces put the family name first: one character
    for names of two or three (김민준 -> ("민준", "김"), 王小明 -> ("小明", "王")), two for longer
    names, typical of Japanese (山田太郎 -> ("太郎", "山田")). First/last stay editable afterwards.
    A single word is kept whole as the first name.
    """
    text = names.astype("string").str.strip()
    comma = text.str.contains(",", regex=False).fillna(False)
    spaced = text.str.contains(" ", regex=False).fillna(False) & ~comma
    cjk = text.str.match(r"^[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{2,}$").fillna(False) & ~comma & ~spaced
    first = text.copy()
    last = pd.Series(pd.NA, index=text.index, dtype="string")
    parts = text[comma].str.split(",", n=1)
    last[comma], first[comma] = parts.str[0].str.strip(), parts.str[1].str.strip()
    parts = text[spaced].str.rsplit(" ", n=1)
    first[spaced], last[spaced] = parts.str[0].str.strip(), parts.str[1].str.strip()
    # Four or more characters: a two-character family name (山田太郎, 佐藤花子, 남궁민수), else one (王小明, 김민준).
    family_length = (text[cjk].str.len() >= 4).astype(int) + 1
    last[cjk] = [name[:size] for name, size in zip(text[cjk], family_length, strict=True)]
    first[cjk] = [name[size:] for name, size in zip(text[cjk], family_length, strict=True)]
    as_objects = [series.astype(object).where(series.notna() & (series != ""), None) for series in (first, last)]
    return as_objects[0], as_objects[1]


def _name_columns(rows: TypedRows) -> None:
    """Fill first/last name from a full-name column where the file has no separate names.

    A row with neither name gets both from its full name. A row with only a family name
    (성 + 이름, 姓 + 名, Surname + Name files, where the "name" column holds the given name)
    gets the first name from the full name: without the family name in front (김 + 김민준 ->
    민준) or behind ("Lovelace" + "Ada Lovelace" -> Ada), else all of it (김 + 민준 -> 민준).
    A row with only a first name gets the rest of the full name as its family name.
    """
    if "full_name" not in rows.mapped:
        return
    full = rows.values["full_name"]
    has_full = ~rows.blank["full_name"]
    first, last = split_full_names(full)
    use = rows.blank["first_name"] & rows.blank["last_name"] & has_full
    for name, derived in (("first_name", first), ("last_name", last)):
        rows.values[name] = rows.values[name].where(~use, derived)
        rows.blank[name] = rows.blank[name] & ~(use & derived.notna().to_numpy())
    only_last = rows.blank["first_name"] & ~rows.blank["last_name"] & has_full
    if only_last.any():
        given = [
            _without_part(str(whole), str(family))
            for whole, family in zip(full[only_last], rows.values["last_name"][only_last], strict=True)
        ]
        first_names = rows.values["first_name"].astype(object).copy()
        first_names[only_last] = given
        rows.values["first_name"] = first_names
        rows.blank["first_name"] = rows.blank["first_name"] & ~only_last
    only_first = ~rows.blank["first_name"] & rows.blank["last_name"] & has_full
    if only_first.any():
        family = [
            _without_part(str(whole), str(given), keep_whole=False)
            for whole, given in zip(full[only_first], rows.values["first_name"][only_first], strict=True)
        ]
        found = np.array([part is not None for part in family], dtype=bool)
        positions = np.flatnonzero(only_first)[found]
        last_names = rows.values["last_name"].astype(object).copy()
        last_names.iloc[positions] = [part for part in family if part is not None]
        rows.values["last_name"] = last_names
        rows.blank["last_name"] = rows.blank["last_name"].copy()
        rows.blank["last_name"][positions] = False
    for name in ("first_name", "last_name"):
        too_long = (rows.values[name].astype("string").str.len() > 120).fillna(False).to_numpy()
        rows.reject(too_long, rows.column_of("full_name"), "name part longer than 120 characters")


def _without_part(whole: str, part: str, *, keep_whole: bool = True) -> str | None:
    """``whole`` without ``part`` at its start or end ("김민준" - "김" -> "민준"); ``whole`` (or None) otherwise."""
    whole, part = whole.strip(), part.strip()
    if part and len(whole) > len(part):
        if whole.startswith(part):
            return whole[len(part) :].strip(" ,") or (whole if keep_whole else None)
        if whole.endswith(part):
            return whole[: -len(part)].strip(" ,") or (whole if keep_whole else None)
    return whole if keep_whole else None


def _frame(connection: Connection, rows: TypedRows) -> pd.DataFrame:
    frame = pd.DataFrame({name: rows.values[name] for name in CUSTOMER_COLUMNS})
    # "Website", "web site" and "WEBSITE" are the stored code "website" (one option per source).
    frame["source"] = source_codes(connection, frame["source"])
    frame["email_normalized"] = rows.normalized["email"]
    frame["phone_normalized"] = rows.normalized["phone"]
    frame["external_id"] = frame["external_id"].astype(object).where(frame["external_id"].notna(), None)
    return frame


def _combine_file_duplicates(frame: pd.DataFrame, leaders: np.ndarray, policy: str) -> pd.DataFrame:
    """Leader rows carrying the values of their in-file duplicates (update: last non-blank wins; merge: first)."""
    grouped_rows = leaders != np.arange(len(leaders))
    involved = np.isin(np.arange(len(leaders)), leaders[grouped_rows]) | grouped_rows
    if not involved.any():
        return frame
    part = frame[involved].copy()
    part["_leader"] = leaders[involved]
    grouped = part.groupby("_leader", sort=False)
    combined = grouped.last() if policy == "update" else grouped.first()
    result = frame.copy()
    for column in combined.columns:
        result.loc[combined.index, column] = combined[column].to_numpy()
    return result


def _insert_frame(frame: pd.DataFrame, rows: TypedRows) -> pd.DataFrame:
    now = pd.Timestamp(utc_now())
    insert = frame.copy()
    for name in ("customer_type", "status"):
        insert[name] = insert[name].where(insert[name].notna(), rows.specs[name].default)
    insert["loyalty_points"] = insert["loyalty_points"].fillna(0).astype("int64")
    # Nobody is assumed to agree to marketing: a blank cell means no consent.
    insert["marketing_consent"] = insert["marketing_consent"].where(insert["marketing_consent"].notna(), False)
    insert["marketing_consent"] = insert["marketing_consent"].astype(bool)
    insert["birth_date"] = pd.to_datetime(insert["birth_date"]).dt.strftime("%Y-%m-%d").astype(object)
    insert["birth_date"] = insert["birth_date"].where(frame["birth_date"].notna(), None)
    insert["created_at"] = pd.to_datetime(insert["created_at"]).astype("datetime64[us]").fillna(now)
    insert["updated_at"] = now
    insert["updated_at"] = insert["updated_at"].astype("datetime64[us]")
    return insert


def _apply_updates(
    connection: Connection, frame: pd.DataFrame, targets: pd.Series, rows: TypedRows, policy: str
) -> None:
    """UPDATE the matched customers: ``update`` overwrites with non-blank file values, ``merge`` fills blanks."""
    columns = [
        name
        for name in CUSTOMER_COLUMNS
        if name in rows.mapped or (name in ("first_name", "last_name") and "full_name" in rows.mapped)
    ]
    if "email" in columns:
        columns.append("email_normalized")
    if "phone" in columns:
        columns.append("phone_normalized")
    changed = update_rows(connection, rows, customers, columns, frame, targets, policy)
    # A balance the file changed is booked in the loyalty ledger by run_import.
    rows.balance_changes += [
        (customer_id, int(change["loyalty_points"][0] or 0), int(change["loyalty_points"][1] or 0))
        for customer_id, change in changed.items()
        if "loyalty_points" in change
    ]


def import_customers(connection: Connection, rows: TypedRows, report: ImportReport, policy: str) -> np.ndarray:
    _name_columns(rows)
    identifiable = np.zeros(len(rows), dtype=bool)
    for name in ("first_name", "last_name", "company", "email", "phone"):
        identifiable |= rows.values[name].notna().to_numpy()
    rows.reject(~identifiable, "", "no name, company, email or phone: the customer could not be told apart")
    frame = _frame(connection, rows)
    keys = {"external_id": frame["external_id"], "email": frame["email_normalized"], "phone": frame["phone_normalized"]}
    candidates = ~rows.rejected
    positions = np.arange(len(rows))
    leaders = file_duplicates(keys, candidates)
    in_file_duplicate = candidates & (leaders != positions)
    duplicates = np.flatnonzero(in_file_duplicate)
    key_names = matched_key(keys, duplicates, leaders[duplicates])
    reasons = [
        f"same {_KEY_LABELS[key]} as row {int(rows.row_numbers[leader])}"
        for key, leader in zip(key_names, leaders[duplicates], strict=True)
    ]
    targets = [f"row {int(rows.row_numbers[leader])}" for leader in leaders[duplicates]]
    if policy == "skip":
        record_decisions(report, rows, duplicates, "skip", reasons, targets)
        report.skipped_duplicates += len(duplicates)
    else:
        # The duplicate's values go into the row it repeats; that row's record is then
        # inserted or updated once (counted there), this row is counted as combined.
        frame = _combine_file_duplicates(frame, np.where(candidates, leaders, positions), policy)
        record_decisions(report, rows, duplicates, "combine", reasons, targets)
        report.combined += len(duplicates)
    leader_rows = candidates & ~in_file_duplicate
    leaders_frame = frame[leader_rows]
    existing, matched_by = database_matches(
        connection,
        customers.c.id,
        {
            "external_id": (customers.c.external_id, leaders_frame["external_id"]),
            "email": (customers.c.email_normalized, leaders_frame["email_normalized"]),
            "phone": (customers.c.phone_normalized, leaders_frame["phone_normalized"]),
        },
    )
    matched = existing.notna()
    matched_positions = leaders_frame.index[matched].to_numpy()
    match_reasons = [
        f"{_KEY_LABELS[key]} already belongs to customer #{int(target)}"
        for key, target in zip(matched_by[matched], existing[matched], strict=True)
    ]
    match_targets = [f"customer #{int(target)}" for target in existing[matched]]
    if policy == "skip":
        record_decisions(report, rows, matched_positions, "skip", match_reasons, match_targets)
        report.skipped_duplicates += len(matched_positions)
    else:
        _apply_updates(connection, leaders_frame[matched.to_numpy()], existing[matched], rows, policy)
        record_decisions(report, rows, matched_positions, policy, match_reasons, match_targets)
        report.updated += len(matched_positions) if policy == "update" else 0
        report.merged += len(matched_positions) if policy == "merge" else 0
    new = leaders_frame[~matched.to_numpy()]
    if rows.already_imported_at is not None:
        # Rows without any key can only be recognised by the file they came from.
        keyless = new[["external_id", "email_normalized", "phone_normalized"]].isna().all(axis=1).to_numpy()
        skipped = new.index[keyless].to_numpy()
        record_decisions(
            report, rows, skipped, "skip", f"already imported from this file on {rows.already_imported_at}"
        )
        report.skipped_duplicates += len(skipped)
        new = new[~keyless]
    before = max_id(connection, customers)
    insert = _insert_frame(new, rows)
    report.inserted += bulk_insert(connection, customers, insert)
    new_ids = inserted_ids(connection, customers, before, len(insert))
    queue_creates(rows, customers, new_ids, insert)
    rows.balance_changes += [
        (int(customer_id), 0, int(points))
        for customer_id, points in zip(new_ids, insert["loyalty_points"], strict=True)
        if int(points)
    ]
    return finish_decisions(report, rows, new.index.to_numpy(), matched_positions, policy)
