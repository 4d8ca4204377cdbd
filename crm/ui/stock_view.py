"""Inventory page pieces: the warehouse filter, the alerts table and the "Add a movement" form.

The stock ledger itself is shown read-only by the record grid; people add movements here,
one at a time, through ``crm.records.inventory.add_stock_movement`` (validated, audited).
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.inventory import (
    MANUAL_MOVEMENTS,
    NewMovement,
    StockAlerts,
    StockError,
    add_stock_movement,
    variant_choices,
)
from crm.records.orders import product_choices, warehouse_choices
from crm.ui.cache import cached, invalidate
from crm.ui.charts import table_downloads
from crm.ui.plain import escape_markdown, plain_bullets

__all__ = ["alerts_table", "stock_movement_form", "warehouse_filter"]

ALL_WAREHOUSES = "All warehouses"
FORM_KEY = "stock_movement"
# Products offered in the movement form's picker; the search narrows larger catalogues.
PRODUCT_CHOICES = 50


def warehouse_filter() -> tuple[int | None, str | None]:
    """A warehouse picker for the levels, alerts and counts; returns (id, code) or (None, None) for all."""
    warehouses = cached(warehouse_choices)
    codes = [ALL_WAREHOUSES, *warehouses["code"].tolist()]
    code = st.columns([1, 3])[0].selectbox(
        "Warehouse", codes, key="inventory_warehouse", help="Narrows the counts, the levels and the alerts."
    )
    if code == ALL_WAREHOUSES:
        return None, None
    return int(warehouses.loc[warehouses["code"] == code, "id"].iloc[0]), code


def alerts_table(alerts: StockAlerts) -> None:
    """Low and out-of-stock rows with downloads; says so when the list stops at its limit."""
    if alerts.rows.empty:
        st.caption("No item is low or out of stock.")
        return
    if not alerts.complete:
        st.caption(
            f"Showing the {len(alerts.rows):,} most urgent of {alerts.total:,} alerts; "
            "the Levels tab's Low stock / Out of stock filters page through all of them."
        )
    st.dataframe(alerts.rows, hide_index=True, width="stretch")
    table_downloads(alerts.rows, name="stock_alerts")


def stock_movement_form(engine: Engine, actor: Actor) -> None:
    """Pick product, warehouse, type and quantity; the movement is checked and saved on Add."""
    flash = st.session_state.pop(f"{FORM_KEY}__flash", None)
    if flash:
        st.success(escape_markdown(flash), icon=":material/check_circle:")  # names the product as stored
    if not allowed(actor.role, Permission.EDIT_RECORDS):
        st.caption(":material/lock: Your role may not add stock movements.")
        return
    top = st.columns([2, 3, 2])
    search = top[0].text_input("Find product", key=f"{FORM_KEY}_search", placeholder="Name or SKU")
    products = cached(product_choices, search, limit=PRODUCT_CHOICES)
    if products.empty:
        top[1].info("No active product matches that search.")
        return
    labels = dict(zip(products["id"], products["label"], strict=True))
    product_id = int(top[1].selectbox("Product", list(labels), format_func=labels.get, key=f"{FORM_KEY}_product"))
    variants = cached(variant_choices, product_id)
    variant_labels: dict[int | None, str] = {None: "No variant (the product itself)"}
    variant_labels |= dict(zip(variants["id"], variants["label"], strict=True))
    top[2].selectbox("Variant", list(variant_labels), format_func=variant_labels.get, key=f"{FORM_KEY}_variant")
    bottom = st.columns([2, 3, 2, 3])
    warehouses = cached(warehouse_choices)
    warehouse_ids = dict(zip(warehouses["code"], warehouses["id"], strict=True))
    code = bottom[0].selectbox("Warehouse", list(warehouse_ids), key=f"{FORM_KEY}_warehouse")
    bottom[1].selectbox("Type", list(MANUAL_MOVEMENTS), format_func=MANUAL_MOVEMENTS.get, key=f"{FORM_KEY}_type")
    # No browser-side minimum: a correction may be negative and the server says what is wrong.
    st.session_state.setdefault(f"{FORM_KEY}_quantity", 1)  # in session state: reset to 1 after each Add
    bottom[2].number_input("Quantity", step=1, key=f"{FORM_KEY}_quantity")
    bottom[3].text_input("Note", key=f"{FORM_KEY}_note", max_chars=250, placeholder="Delivery note, reason…")
    st.button(
        "Add movement",
        type="primary",
        key=f"{FORM_KEY}_add",
        disabled=code is None,
        on_click=_record_movement,
        args=(engine, actor, labels, warehouse_ids),
    )
    problems = st.session_state.pop(f"{FORM_KEY}__problems", None)
    if problems:
        st.error("Nothing was saved.\n\n" + plain_bullets(problems))


def _record_movement(engine: Engine, actor: Actor, labels: dict[int, str], warehouse_ids: dict[str, int]) -> None:
    """On Add (a callback, so the form's widgets may be reset before they are drawn again)."""
    state = st.session_state
    variant_id = state.get(f"{FORM_KEY}_variant")
    movement = NewMovement(
        product_id=int(state[f"{FORM_KEY}_product"]),
        warehouse_id=int(warehouse_ids[state[f"{FORM_KEY}_warehouse"]]),
        movement_type=str(state[f"{FORM_KEY}_type"]),
        quantity=int(state[f"{FORM_KEY}_quantity"]),
        variant_id=None if variant_id is None else int(variant_id),
        note=state.get(f"{FORM_KEY}_note") or None,
    )
    try:
        movement_id = add_stock_movement(engine, movement, actor)
    except (StockError, PermissionDeniedError) as error:
        state[f"{FORM_KEY}__problems"] = str(error).splitlines()
        return
    invalidate()
    state[f"{FORM_KEY}_quantity"] = 1
    state[f"{FORM_KEY}_note"] = ""
    product = labels[movement.product_id].rsplit(" · ", 1)[0]  # the label without its price
    state[f"{FORM_KEY}__flash"] = (
        f"Movement {movement_id} recorded: {movement.movement_type} {movement.quantity} of {product} in "
        f"{state[f'{FORM_KEY}_warehouse']}."
    )
