"""Importing products: keyed by SKU; category, brand and supplier by name (created when new).

A price changed by an update or merge is written to ``price_history``, as every price change is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from crm.bulk import bulk_insert
from crm.imports.core import ImportReport, TypedRows
from crm.imports.lookups import brand_ids, category_ids, supplier_ids
from crm.imports.writing import (
    existing_ids,
    finish_decisions,
    inserted_ids,
    max_id,
    queue_creates,
    record_decisions,
    update_rows,
)
from crm.schema import price_history, products, utc_now

__all__ = ["import_products"]

_PRODUCT_COLUMNS = (
    "name",
    "description",
    "category_id",
    "brand_id",
    "supplier_id",
    "price",
    "cost",
    "weight_kg",
    "length_cm",
    "width_cm",
    "height_cm",
    "image_url",
    "is_active",
)
_BY_NAME = {"category": "category_id", "brand": "brand_id", "supplier": "supplier_id"}


def import_products(connection: Connection, rows: TypedRows, report: ImportReport, policy: str) -> np.ndarray:
    count = len(rows)
    values = rows.values
    positions = np.arange(count)
    ok = ~rows.rejected
    frame = pd.DataFrame({"sku": values["sku"], "position": positions})
    for name in (
        "name",
        "description",
        "price",
        "cost",
        "weight_kg",
        "length_cm",
        "width_cm",
        "height_cm",
        "image_url",
        "is_active",
        "category",
        "brand",
        "supplier",
    ):
        frame[name] = values[name]
    first = pd.Series(positions[ok], index=frame.index[ok]).groupby(frame.loc[ok, "sku"]).transform("first")
    leader = positions.copy()
    leader[frame.index[ok].to_numpy()] = first.to_numpy()
    duplicates = np.flatnonzero(ok & (leader != positions))
    reasons = [f"same SKU as row {int(rows.row_numbers[leader[p]])}" for p in duplicates]
    if policy == "skip":
        record_decisions(report, rows, duplicates, "skip", reasons)
        report.skipped_duplicates += len(duplicates)
    else:
        # Folded into the row they repeat, which is inserted or updated once (counted there).
        part = frame[ok].assign(_leader=leader[ok])
        combined = part.groupby("_leader").last() if policy == "update" else part.groupby("_leader").first()
        frame.loc[combined.index, combined.columns] = combined.to_numpy()
        record_decisions(report, rows, duplicates, "combine", reasons)
        report.combined += len(duplicates)
    leaders = frame[ok & (leader == positions)].copy()
    lookups = {"category": category_ids, "brand": brand_ids, "supplier": supplier_ids}
    for name, column in _BY_NAME.items():
        leaders[column] = lookups[name](connection, rows, leaders[name], report) if name in rows.mapped else np.nan
    existing = existing_ids(connection, products.c.sku, products.c.id, leaders["sku"])
    is_existing = leaders["sku"].isin(list(existing)).to_numpy()
    matched = leaders[is_existing]
    targets = matched["sku"].map(existing)
    match_reasons = [f"SKU {sku} already exists" for sku in matched["sku"]]
    if policy == "skip":
        record_decisions(report, rows, matched.index.to_numpy(), "skip", match_reasons)
        report.skipped_duplicates += len(matched)
    elif not matched.empty:
        mapped_ids = {column for name, column in _BY_NAME.items() if name in rows.mapped}
        columns = [column for column in _PRODUCT_COLUMNS if column in rows.mapped or column in mapped_ids]
        changes = update_rows(connection, rows, products, columns, matched, targets, policy)
        history = [
            {"product_id": product_id, "old_price": change["price"][0], "new_price": change["price"][1]}
            for product_id, change in changes.items()
            if "price" in change
        ]
        if history:
            now = utc_now()
            connection.execute(price_history.insert(), [entry | {"changed_at": now} for entry in history])
        record_decisions(report, rows, matched.index.to_numpy(), policy, match_reasons)
        if policy == "update":
            report.updated += len(matched)
        else:
            report.merged += len(matched)
    new = leaders[~is_existing]
    now = pd.Timestamp(utc_now()).as_unit("us")
    insert = pd.DataFrame(
        {
            "sku": new["sku"].to_numpy(),
            "name": new["name"].where(new["name"].notna(), new["sku"]).to_numpy(),
            "description": new["description"].to_numpy(),
            "category_id": new["category_id"].astype("Int64").array,
            "brand_id": new["brand_id"].astype("Int64").array,
            "supplier_id": new["supplier_id"].astype("Int64").array,
            "price": new["price"].astype(float).fillna(0.0).to_numpy(),
            "cost": new["cost"].astype(float).fillna(0.0).to_numpy(),
            **{
                name: new[name].astype(float).to_numpy() for name in ("weight_kg", "length_cm", "width_cm", "height_cm")
            },
            "image_url": new["image_url"].to_numpy(),
            "is_active": new["is_active"].where(new["is_active"].notna(), True).astype(bool).to_numpy(),
        }
    )
    insert["created_at"] = now
    insert["updated_at"] = now
    before = max_id(connection, products)
    report.inserted += bulk_insert(connection, products, insert)
    queue_creates(rows, products, inserted_ids(connection, products, before, len(insert)), insert)
    return finish_decisions(report, rows, new.index.to_numpy(), matched.index.to_numpy(), policy)
