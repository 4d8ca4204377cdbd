"""Rows an import refers to by name or key: customers, brands, products, categories, suppliers.

Missing ones are created inside the import's transaction (and counted in the report),
so an orders file can bring its customers and products along.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, select

from crm.bulk import bulk_insert
from crm.contacts import email_keys, phone_keys
from crm.imports.core import ImportReport, TypedRows
from crm.imports.customers import split_full_names
from crm.imports.dedupe import LOOKUP_CHUNK, database_matches, file_duplicates
from crm.imports.writing import inserted_ids, max_id, queue_creates
from crm.schema import brands, categories, customers, products, suppliers, utc_now

__all__ = [
    "as_text",
    "brand_ids",
    "category_ids",
    "ids_by_name",
    "resolve_customers",
    "resolve_products",
    "stable_numbers",
    "supplier_ids",
]

# A bare customer key with at least this many digits (and nothing else) may be a phone number:
# it is looked up among the phones too, but a new customer keeps it as an external id only.
KEY_AS_PHONE_MIN_DIGITS = 7


def _timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    now = pd.Timestamp(utc_now()).as_unit("us")
    frame["created_at"] = now
    frame["updated_at"] = now
    return frame


def ids_by_name(
    connection: Connection,
    rows: TypedRows,
    table: Table,
    names: pd.Series,
    report: ImportReport,
    *,
    name_column: str = "name",
) -> pd.Series:
    """Id of the row called ``names[i]`` in ``table`` (matched case-insensitively); missing names are created."""
    column = table.c[name_column]
    wanted = names.dropna().astype(str).str.strip()
    wanted = wanted[wanted != ""]
    if wanted.empty:
        return pd.Series(np.nan, index=names.index)
    existing = {
        str(name).strip().lower(): row_id
        for row_id, name in connection.execute(select(table.c.id, column).order_by(table.c.id.desc()))
    }
    missing = sorted({name for name in wanted.unique() if name.lower() not in existing}, key=str.lower)
    unique_missing = list({name.lower(): name for name in missing}.values())
    if unique_missing:
        frame = _timestamps(pd.DataFrame({name_column: unique_missing}))
        bulk_insert(connection, table, frame)
        report.created[table.name] = report.created.get(table.name, 0) + len(unique_missing)
        for row_id, name in connection.execute(
            select(table.c.id, column).where(func.lower(column).in_([name.lower() for name in unique_missing]))
        ):
            existing[str(name).strip().lower()] = row_id
        # By name, not by id order: this table is not locked by the import.
        queue_creates(rows, table, [existing[name.lower()] for name in unique_missing], frame[[name_column]])
    return names.astype("string").str.strip().str.lower().map(existing).astype(float)


def as_text(values: pd.Series) -> pd.Series:
    """Values as plain text, blanks as "" (pandas' ``astype(str)`` keeps missing values missing)."""
    return values.astype("string").fillna("").astype(object)


def stable_numbers(prefix: str, parts: list[pd.Series]) -> pd.Series:
    """Deterministic numbers for rows that have none, so re-importing a file finds them again.

    The number hashes the row's identifying values plus its occurrence among identical rows
    (two identical purchases on one day are two orders, and stay two on re-import).
    """
    text = as_text(parts[0])
    for part in parts[1:]:
        text = text + "|" + as_text(part)
    occurrence = text.groupby(text).cumcount().astype(str)
    keyed = text + "|" + occurrence
    return keyed.map(lambda value: f"{prefix}{hashlib.sha1(value.encode()).hexdigest()[:16].upper()}")


def _customer_keys(rows: TypedRows) -> dict[str, pd.Series]:
    """External id, email and phone keys per row, from the dedicated columns or a generic key column.

    These are the keys an existing customer is *found* by. A generic key of digits
    (10000001) may be a phone or an account number, so it is tried as both; what a new
    customer stores is decided in ``resolve_customers``.
    """
    external = rows.values["customer_external_id"].astype(object)
    email = rows.normalized["customer_email"]
    phone = rows.normalized["customer_phone"]
    generic = rows.values["customer_key"].astype("string").str.strip()
    generic = generic.where(generic != "")
    is_email = generic.str.contains("@", regex=False).fillna(False)
    digits = generic.str.replace(r"[\s()+\-.]", "", regex=True)
    is_phone = (
        ~is_email
        & digits.str.fullmatch(r"\d+").fillna(False)
        & (digits.str.len() >= KEY_AS_PHONE_MIN_DIGITS).fillna(False)
    )
    email = email.where(email.notna(), email_keys(generic.where(is_email)))
    external = external.where(external.notna(), generic.where(~is_email).astype(object))
    keys = {
        "external_id": external.where(pd.notna(external), None),
        "email": email.where(pd.notna(email), None),
        # The same key a phone column gets: "010-4645-8329" finds the customer stored as +821046458329.
        "phone": phone.where(pd.notna(phone), phone_keys(generic.where(is_phone))),
    }
    keys["phone"] = keys["phone"].where(pd.notna(keys["phone"]), None)
    return keys


def resolve_customers(
    connection: Connection, rows: TypedRows, report: ImportReport, *, fallback: pd.Series | None = None
) -> pd.Series:
    """Customer id of every row (NaN for rejected rows); customers not found are created.

    A row is linked by external id, then email, then phone. ``fallback`` gives ids for rows
    without a customer key (a transaction's order), used before rejecting them.
    """
    keys = _customer_keys(rows)
    has_key = np.zeros(len(rows), dtype=bool)
    for key in keys.values():
        has_key |= key.notna().to_numpy()
    if fallback is not None:
        has_key |= fallback.notna().to_numpy()
    key_fields = ("customer_key", "customer_external_id", "customer_email", "customer_phone")
    key_columns = [rows.mapped[name] for name in key_fields if name in rows.mapped]
    if key_columns:
        reason = f"no customer: {' and '.join(key_columns)} {'is' if len(key_columns) == 1 else 'are'} blank"
        if fallback is not None:
            reason += " and no order links one"
    else:
        reason = "no customer: map a customer email, phone or ID column"
    rows.reject(~has_key, ", ".join(key_columns) or "customer", reason)
    lookup = {
        "external_id": customers.c.external_id,
        "email": customers.c.email_normalized,
        "phone": customers.c.phone_normalized,
    }
    found, _ = database_matches(connection, customers.c.id, {name: (lookup[name], keys[name]) for name in lookup})
    if fallback is not None:
        found = found.where(found.notna(), fallback)
    keyed = np.zeros(len(rows), dtype=bool)
    for key in keys.values():
        keyed |= key.notna().to_numpy()
    need = found.isna().to_numpy() & keyed & ~rows.rejected
    if need.any():
        leaders = file_duplicates({name: key.where(pd.Series(need), None) for name, key in keys.items()}, need)
        new = np.flatnonzero(need & (leaders == np.arange(len(rows))))
        first, last = split_full_names(rows.values["customer_name"].iloc[new].reset_index(drop=True))
        external = keys["external_id"].iloc[new].reset_index(drop=True)
        email = rows.values["customer_email"].iloc[new].reset_index(drop=True)
        email = email.where(email.notna(), keys["email"].iloc[new].reset_index(drop=True))
        # Only a phone column gives a new customer a phone; a numeric customer key is kept as
        # its external id (it may be an account number, and a wrong phone would be worse).
        phone = rows.values["customer_phone"].iloc[new].reset_index(drop=True)
        phone_normalized = rows.normalized["customer_phone"].iloc[new].reset_index(drop=True)
        # The schema wants something to tell a customer apart by; an ID alone gets a readable name.
        anonymous = first.isna() & last.isna() & email.isna() & phone.isna()
        first = first.where(~anonymous, "Customer")
        last = last.where(~anonymous, external)
        frame = pd.DataFrame(
            {
                "external_id": external,
                "first_name": first,
                "last_name": last,
                "email": email,
                "email_normalized": keys["email"].iloc[new].reset_index(drop=True),
                "phone": phone,
                "phone_normalized": phone_normalized,
                "customer_type": "individual",
                "status": "active",
                "loyalty_points": 0,
            }
        )
        before = max_id(connection, customers)
        frame = _timestamps(frame)
        bulk_insert(connection, customers, frame)
        queue_creates(rows, customers, inserted_ids(connection, customers, before, len(frame)), frame)
        report.created["customers"] = report.created.get("customers", 0) + len(frame)
        # Look up only the rows still without a customer: the ones just created (and their repeats).
        still = pd.Series(need, index=found.index)
        found_new, _ = database_matches(
            connection, customers.c.id, {name: (lookup[name], keys[name].where(still, None)) for name in lookup}
        )
        found = found.where(~still, found_new)
    return found.where(~pd.Series(rows.rejected), np.nan)


def resolve_products(
    connection: Connection,
    rows: TypedRows,
    skus: pd.Series,
    names: pd.Series,
    prices: pd.Series,
    report: ImportReport,
) -> tuple[pd.Series, pd.Series]:
    """(product id, catalogue price) per SKU; unknown SKUs become products (name or SKU, given price)."""
    wanted = skus.dropna()
    if wanted.empty:
        return pd.Series(np.nan, index=skus.index), pd.Series(np.nan, index=skus.index)

    def _existing(wanted_skus: list[str]) -> dict[str, tuple[int, float]]:
        found: dict[str, tuple[int, float]] = {}
        for start in range(0, len(wanted_skus), LOOKUP_CHUNK):
            chunk = wanted_skus[start : start + LOOKUP_CHUNK]
            statement = select(products.c.id, products.c.sku, products.c.price).where(products.c.sku.in_(chunk))
            found.update({sku: (row_id, float(price)) for row_id, sku, price in connection.execute(statement)})
        return found

    existing = _existing(sorted(set(wanted.tolist())))
    missing = ~skus.isin(list(existing)) & skus.notna()
    if missing.any():
        first = pd.DataFrame({"sku": skus, "name": names, "price": prices})[missing].drop_duplicates("sku")
        frame = pd.DataFrame(
            {
                "sku": first["sku"].to_numpy(),
                "name": first["name"].where(first["name"].notna(), first["sku"]).to_numpy(),
                "price": first["price"].fillna(0).to_numpy(),
                "cost": 0.0,
                "is_active": True,
            }
        )
        frame = _timestamps(frame)
        bulk_insert(connection, products, frame)
        report.created["products"] = report.created.get("products", 0) + len(frame)
        existing = _existing(sorted(set(wanted.tolist())))
        # By SKU, not by id order: an orders import does not lock the products table.
        queue_creates(rows, products, [existing[sku][0] for sku in frame["sku"]], frame)
    ids = skus.map(lambda sku: existing[sku][0] if sku in existing else np.nan).astype(float)
    catalogue = skus.map(lambda sku: existing[sku][1] if sku in existing else np.nan).astype(float)
    return ids, catalogue


def category_ids(connection: Connection, rows: TypedRows, names: pd.Series, report: ImportReport) -> pd.Series:
    return ids_by_name(connection, rows, categories, names, report)


def brand_ids(connection: Connection, rows: TypedRows, names: pd.Series, report: ImportReport) -> pd.Series:
    return ids_by_name(connection, rows, brands, names, report)


def supplier_ids(connection: Connection, rows: TypedRows, names: pd.Series, report: ImportReport) -> pd.Series:
    return ids_by_name(connection, rows, suppliers, names, report)
