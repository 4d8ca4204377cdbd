"""Importing orders (one row per order or per item) and payment transactions.

Orders: rows with the same order number are one order; rows with a SKU are its items.
Without an order-number column each row is one order, numbered from a hash of its
customer, date and amount so that re-importing the file finds the same orders again.
The customer is linked (or created) from an external id, email, phone or generic key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select

from crm.audit import to_json
from crm.bulk import bulk_insert
from crm.imports.core import ImportReport, TypedRows
from crm.imports.lookups import as_text, brand_ids, resolve_customers, resolve_products, stable_numbers
from crm.imports.writing import (
    LOOKUP_CHUNK,
    existing_ids,
    finish_decisions,
    inserted_ids,
    max_id,
    queue_changes,
    queue_creates,
    record_decisions,
    rejection_reasons,
    update_rows,
)
from crm.schema import order_items, orders, transactions, utc_now

__all__ = ["import_orders", "import_transactions"]

_ORDER_COLUMNS = (
    "customer_id",
    "brand_id",
    "status",
    "order_date",
    "subtotal",
    "tax",
    "shipping",
    "discount",
    "total",
    "payment_method",
    "notes",
)
_TRANSACTION_COLUMNS = (
    "customer_id",
    "order_id",
    "transaction_type",
    "status",
    "method",
    "amount",
    "currency",
    "gateway_ref",
    "processed_at",
)


def _customer_repr(rows: TypedRows) -> pd.Series:
    parts = [as_text(rows.values[name]) for name in ("customer_external_id", "customer_key")]
    parts += [as_text(rows.normalized["customer_email"]), as_text(rows.normalized["customer_phone"])]
    text = parts[0]
    for part in parts[1:]:
        text = text + "/" + part
    return text


def _money_column(values: pd.Series) -> pd.Series:
    return values.astype(float).round(2)


def import_orders(connection: Connection, rows: TypedRows, report: ImportReport, policy: str) -> np.ndarray:
    count = len(rows)
    values = rows.values
    has_item = values["sku"].notna().to_numpy()
    quantity = values["quantity"].astype(float).fillna(1.0)
    rows.reject(
        has_item & (quantity.to_numpy() <= 0),
        rows.column_of("quantity"),
        "quantity must be at least 1",
        every_cell=True,
    )
    customer_ids = resolve_customers(connection, rows, report)
    numbers = values["order_number"].astype(object)
    if numbers.isna().any():
        generated = stable_numbers(
            "IMP-", [_customer_repr(rows), values["order_date"], values["total"], values["subtotal"]]
        )
        numbers = numbers.where(numbers.notna(), generated)
    ok = ~rows.rejected
    frame = pd.DataFrame({"order_number": numbers, "customer_id": customer_ids, "position": np.arange(count)})
    # All rows of one order must name the same customer.
    first_customer = frame[ok].groupby("order_number")["customer_id"].transform("first")
    conflict = np.zeros(count, dtype=bool)
    conflict[frame[ok].index[(first_customer != frame.loc[ok, "customer_id"]).to_numpy()]] = True
    rows.reject(
        conflict,
        rows.mapped.get("order_number", "order number"),
        "the same order number belongs to another customer on an earlier row",
    )
    ok = ~rows.rejected
    # Items: product by SKU (created when new), price from the file or the catalogue.
    product_ids, catalogue = resolve_products(
        connection,
        rows,
        values["sku"].where(pd.Series(ok & has_item), None),
        values["product_name"],
        values["unit_price"],
        report,
    )
    unit_price = values["unit_price"].astype(float).fillna(catalogue).fillna(0.0).round(2)
    line_total = (quantity * unit_price).where(pd.Series(has_item), 0.0)
    frame = frame.assign(
        line_total=line_total,
        has_item=has_item,
        **{
            name: values[name]
            for name in (
                "status",
                "order_date",
                "subtotal",
                "tax",
                "shipping",
                "discount",
                "total",
                "payment_method",
                "notes",
                "brand",
            )
        },
    )
    good = frame[ok]
    grouped = good.groupby("order_number", sort=False)
    order_level = grouped.last() if policy == "update" else grouped.first()
    items_sum = grouped["line_total"].sum()
    any_items = grouped["has_item"].any()
    leader_position = grouped["position"].first()
    tax = order_level["tax"].astype(float).fillna(0.0)
    shipping = order_level["shipping"].astype(float).fillna(0.0)
    discount = order_level["discount"].astype(float).fillna(0.0)
    given_total = order_level["total"].astype(float)
    subtotal = order_level["subtotal"].astype(float)
    subtotal = subtotal.where(subtotal.notna(), items_sum.where(any_items))
    subtotal = subtotal.where(subtotal.notna(), given_total - tax - shipping + discount)
    total = given_total.where(given_total.notna(), subtotal + tax + shipping - discount)
    order_level = order_level.assign(
        subtotal=_money_column(subtotal.clip(lower=0)),
        tax=_money_column(tax),
        shipping=_money_column(shipping),
        discount=_money_column(discount),
        total=_money_column(total),
        status=order_level["status"].where(order_level["status"].notna(), rows.specs["status"].default),
    )
    existing = existing_ids(connection, orders.c.order_number, orders.c.id, pd.Series(order_level.index))
    # An existing order keeps its amounts when the file has none (only new orders need one).
    no_amount = (order_level["total"].isna() | (order_level["total"] < 0)) & ~order_level.index.isin(list(existing))
    if no_amount.any():
        bad_numbers = set(order_level.index[no_amount])
        bad_rows = frame["order_number"].isin(bad_numbers).to_numpy() & ok
        rows.reject(
            bad_rows,
            rows.column_of("total"),
            "no total, subtotal or items to compute the order's amount (or the amount is negative)",
        )
        order_level = order_level[~no_amount]
        ok = ~rows.rejected
    order_level["brand_id"] = brand_ids(connection, rows, order_level["brand"], report)
    is_existing = order_level.index.isin(list(existing))
    row_order = frame["order_number"]
    positions = np.arange(count)
    leader_set = set(leader_position.loc[order_level.index].tolist())
    imported = np.zeros(count, dtype=bool)
    # Decisions: the first row of each order carries it (inserted, updated, merged or skipped:
    # one count per order); the order's other rows are combined with it, or skipped with it.
    existing_numbers = set(order_level.index[is_existing])
    for position in positions[ok]:
        number = row_order.iat[position]
        leader = int(leader_position.get(number, position))
        in_existing = number in existing_numbers
        if position in leader_set:
            if in_existing:
                record_decisions(
                    report,
                    rows,
                    np.array([position]),
                    policy,
                    f"order {number} already exists",
                    [f"order #{existing[number]}"],
                )
            else:
                record_decisions(report, rows, np.array([position]), "insert", "", [f"order {number}"])
        else:
            leader_row = int(rows.row_numbers[leader])
            if has_item[position]:
                reason = f"item of order {number} (row {leader_row})"
            else:
                reason = f"repeats order {number} of row {leader_row}"
            if policy == "skip" and (in_existing or not has_item[position]):
                decision = "skip"
                report.skipped_duplicates += 1
            else:
                decision = "combine"
                report.combined += 1
            record_decisions(report, rows, np.array([position]), decision, reason, [f"order {number}"])
        imported[position] = not (in_existing and policy == "skip")
    report.items_read += int((ok & has_item).sum())
    now = pd.Timestamp(utc_now()).as_unit("us")
    new_orders = order_level[~is_existing]
    if not new_orders.empty:
        before = connection.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one()
        insert = pd.DataFrame(
            {
                "order_number": new_orders.index.to_numpy(),
                "customer_id": new_orders["customer_id"].astype("int64").to_numpy(),
                "brand_id": new_orders["brand_id"].astype("Int64").array,
                "status": new_orders["status"].to_numpy(),
                "order_date": pd.to_datetime(new_orders["order_date"]).astype("datetime64[us]").to_numpy(),
                **{name: new_orders[name].to_numpy() for name in ("subtotal", "tax", "shipping", "discount", "total")},
                "payment_method": new_orders["payment_method"].to_numpy(),
                "notes": new_orders["notes"].to_numpy(),
            }
        )
        insert["created_at"] = now
        insert["updated_at"] = now
        report.inserted += bulk_insert(connection, orders, insert)
        new_ids = dict(connection.execute(select(orders.c.order_number, orders.c.id).where(orders.c.id > before)).all())
        queue_creates(rows, orders, [new_ids[number] for number in insert["order_number"]], insert)
        rows.order_status_changes += [
            (new_ids[number], None, status)
            for number, status in zip(insert["order_number"], insert["status"], strict=True)
        ]
    else:
        new_ids = {}
    updated_orders = order_level[is_existing]
    if policy != "skip" and not updated_orders.empty:
        columns = [
            name for name in _ORDER_COLUMNS if name in rows.mapped or name in ("customer_id", "subtotal", "total")
        ]
        if "brand" in rows.mapped:
            columns.append("brand_id")
        columns = list(dict.fromkeys(columns))
        targets = pd.Series([existing[number] for number in updated_orders.index], index=updated_orders.index)
        frame_update = updated_orders.copy()
        frame_update["order_date"] = pd.to_datetime(frame_update["order_date"])
        changed = update_rows(connection, rows, orders, columns, frame_update, targets, policy)
        rows.order_status_changes += [
            (order_id, change["status"][0], change["status"][1])
            for order_id, change in changed.items()
            if "status" in change
        ]
        if policy == "update":
            report.updated += len(updated_orders)
        else:
            report.merged += len(updated_orders)
    else:
        report.skipped_duplicates += int(is_existing.sum())
    # Items of new orders, and (update) replacement items of existing ones.
    item_rows = frame[ok & has_item & frame["order_number"].isin(order_level.index).to_numpy()]
    order_ids = {**new_ids}
    if policy == "update":
        replaced = [existing[number] for number in updated_orders.index if any_items.get(number, False)]
        item_columns = [column for column in order_items.c if column.name not in ("created_at", "updated_at")]
        for start in range(0, len(replaced), LOOKUP_CHUNK):
            chunk = replaced[start : start + LOOKUP_CHUNK]
            removed = connection.execute(select(*item_columns).where(order_items.c.order_id.in_(chunk))).mappings()
            removed = [dict(item) for item in removed]
            queue_changes(
                rows,
                "delete",
                order_items.name,
                [item["id"] for item in removed],
                [to_json({key: value for key, value in item.items() if key != "version"}) for item in removed],
                None,
            )
            connection.execute(delete(order_items).where(order_items.c.order_id.in_(chunk)))
        order_ids |= {number: existing[number] for number in updated_orders.index}
    item_rows = item_rows[item_rows["order_number"].isin(list(order_ids))]
    if not item_rows.empty:
        items = pd.DataFrame(
            {
                "order_id": item_rows["order_number"].map(order_ids).astype("int64").to_numpy(),
                "product_id": product_ids[item_rows.index].astype("int64").to_numpy(),
                "quantity": quantity[item_rows.index].astype("int64").to_numpy(),
                "unit_price": unit_price[item_rows.index].to_numpy(),
            }
        )
        items["created_at"] = now
        items["updated_at"] = now
        before_items = max_id(connection, order_items)
        report.created["order_items"] = report.created.get("order_items", 0) + bulk_insert(
            connection, order_items, items
        )
        # Order items are not locked by the import: only rows of this import's orders are its own.
        ours = (order_items.c.order_id, set(order_ids.values()))
        queue_creates(rows, order_items, inserted_ids(connection, order_items, before_items, len(items), ours), items)
    rejected = np.flatnonzero(rows.rejected)
    record_decisions(report, rows, rejected, "reject", rejection_reasons(rows, rejected))
    return imported & ~rows.rejected


def import_transactions(connection: Connection, rows: TypedRows, report: ImportReport, policy: str) -> np.ndarray:
    count = len(rows)
    values = rows.values
    order_numbers = values["order_number"]
    known_orders: dict[str, tuple[int, int]] = {}
    wanted = sorted(set(order_numbers.dropna().unique()))
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        for number, order_id, customer_id in connection.execute(
            select(orders.c.order_number, orders.c.id, orders.c.customer_id).where(orders.c.order_number.in_(chunk))
        ):
            known_orders[number] = (order_id, customer_id)
    unknown_order = order_numbers.notna().to_numpy() & ~order_numbers.isin(list(known_orders)).to_numpy()
    rows.reject(unknown_order, rows.column_of("order_number"), "no order with this number")
    order_id = order_numbers.map(lambda number: known_orders.get(number, (np.nan, np.nan))[0]).astype(float)
    order_customer = order_numbers.map(lambda number: known_orders.get(number, (np.nan, np.nan))[1]).astype(float)
    customer_ids = resolve_customers(connection, rows, report, fallback=order_customer)
    numbers = values["transaction_number"].astype(object)
    if numbers.isna().any():
        generated = stable_numbers(
            "IMP-T-",
            [_customer_repr(rows), values["processed_at"], values["amount"], values["transaction_type"], order_numbers],
        )
        numbers = numbers.where(numbers.notna(), generated)
    ok = ~rows.rejected
    frame = pd.DataFrame(
        {
            "transaction_number": numbers,
            "customer_id": customer_ids,
            "order_id": order_id,
            "transaction_type": values["transaction_type"].fillna(rows.specs["transaction_type"].default),
            "status": values["status"].fillna(rows.specs["status"].default),
            "method": values["method"].fillna(rows.specs["method"].default),
            "amount": values["amount"].astype(float).round(2),
            "currency": values["currency"].astype("string").str.upper().fillna("USD").astype(object),
            "gateway_ref": values["gateway_ref"],
            "processed_at": pd.to_datetime(values["processed_at"]),
        }
    )
    positions = np.arange(count)
    first_of_number = (
        pd.Series(positions[ok], index=frame.index[ok]).groupby(frame.loc[ok, "transaction_number"]).transform("first")
    )
    leader = positions.copy()
    leader[frame[ok].index.to_numpy()] = first_of_number.to_numpy()
    in_file_duplicate = ok & (leader != positions)
    duplicates = np.flatnonzero(in_file_duplicate)
    reasons = [f"same transaction number as row {int(rows.row_numbers[leader[p]])}" for p in duplicates]
    if policy == "skip":
        record_decisions(report, rows, duplicates, "skip", reasons)
        report.skipped_duplicates += len(duplicates)
    else:
        # Folded into the row they repeat, which is inserted or updated once (counted there).
        record_decisions(report, rows, duplicates, "combine", reasons)
        part = frame[ok].assign(_leader=leader[ok])
        combined = part.groupby("_leader").last() if policy == "update" else part.groupby("_leader").first()
        frame.loc[combined.index, combined.columns] = combined.to_numpy()
        report.combined += len(duplicates)
    leaders_frame = frame[ok & ~in_file_duplicate]
    existing = existing_ids(
        connection, transactions.c.transaction_number, transactions.c.id, leaders_frame["transaction_number"]
    )
    is_existing = leaders_frame["transaction_number"].isin(list(existing)).to_numpy()
    matched = leaders_frame[is_existing]
    targets = matched["transaction_number"].map(existing)
    match_reasons = [f"transaction {number} already exists" for number in matched["transaction_number"]]
    if policy == "skip":
        record_decisions(report, rows, matched.index.to_numpy(), "skip", match_reasons)
        report.skipped_duplicates += len(matched)
    else:
        columns = [name for name in _TRANSACTION_COLUMNS if name in rows.mapped or name in ("customer_id", "order_id")]
        update_rows(connection, rows, transactions, columns, matched, targets, policy)
        record_decisions(report, rows, matched.index.to_numpy(), policy, match_reasons)
        if policy == "update":
            report.updated += len(matched)
        else:
            report.merged += len(matched)
    new = leaders_frame[~is_existing].copy()
    now = pd.Timestamp(utc_now()).as_unit("us")
    new["customer_id"] = new["customer_id"].astype("int64")
    new["order_id"] = new["order_id"].astype("Int64")
    new["processed_at"] = new["processed_at"].astype("datetime64[us]")
    new["created_at"] = now
    new["updated_at"] = now
    before = max_id(connection, transactions)
    report.inserted += bulk_insert(connection, transactions, new)
    queue_creates(rows, transactions, inserted_ids(connection, transactions, before, len(new)), new)
    return finish_decisions(report, rows, new.index.to_numpy(), matched.index.to_numpy(), policy)
