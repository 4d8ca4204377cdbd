"""Order widgets: the New order form with live totals, and the batch status change."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.orders import (
    DEFAULT_TAX_RATE,
    NewOrder,
    OrderError,
    OrderLine,
    create_order,
    customer_choices,
    order_totals,
    product_choices,
    update_order_status,
    warehouse_choices,
)
from crm.schema import ORDER_STATUSES, PAYMENT_METHODS
from crm.ui.cache import cached, invalidate
from crm.ui.widgets import format_money

__all__ = ["batch_status_form", "new_order_form"]

LINES_KEY = "new_order_lines"
# Products offered in the item picker; narrow with the product search for larger catalogues.
PRODUCT_CHOICES = 500


def _empty_lines() -> pd.DataFrame:
    return pd.DataFrame({"product": pd.Series([], dtype=object), "quantity": pd.Series([], dtype="Int64")})


def new_order_form(engine: Engine, actor: Actor) -> None:
    """Pick a customer and items; subtotal, tax, shipping, discount and total update as you type."""
    if not allowed(actor.role, Permission.EDIT_RECORDS):
        st.caption(":material/lock: Your role may not create orders.")
        return
    left, right = st.columns(2)
    customer_search = left.text_input("Find customer", key="new_order_customer_search", placeholder="Name, email…")
    customers = cached(customer_choices, customer_search)
    if customers.empty:
        left.info("No customer matches that search.")
        return
    customer_id = left.selectbox(
        "Customer",
        customers["id"].tolist(),
        format_func=dict(zip(customers["id"], customers["label"], strict=True)).get,
        key="new_order_customer",
    )
    product_search = right.text_input("Find products", key="new_order_product_search", placeholder="Name or SKU")
    products = cached(product_choices, product_search, limit=PRODUCT_CHOICES)
    warehouses = cached(warehouse_choices)
    lines = st.data_editor(
        _empty_lines(),
        key=LINES_KEY,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "product": st.column_config.SelectboxColumn("Product", options=products["label"].tolist(), required=True),
            "quantity": st.column_config.NumberColumn("Quantity", min_value=1, step=1, format="%d", required=True),
        },
    )
    settings = st.columns(5)
    warehouse = settings[0].selectbox("Warehouse", warehouses["code"].tolist(), key="new_order_warehouse")
    tax_percent = settings[1].number_input("Tax %", 0.0, 100.0, float(DEFAULT_TAX_RATE * 100), 0.5, key="new_order_tax")
    shipping = settings[2].number_input("Shipping", 0.0, step=1.0, key="new_order_shipping")
    discount = settings[3].number_input("Discount", 0.0, step=1.0, key="new_order_discount")
    method = settings[4].selectbox("Payment", PAYMENT_METHODS, key="new_order_method")
    by_label = products.set_index("label")
    chosen = [
        (by_label.loc[row.product], int(row.quantity))
        for row in lines.itertuples()
        if isinstance(row.product, str)
        and row.product in by_label.index
        and pd.notna(row.quantity)
        and row.quantity > 0
    ]
    try:
        totals = order_totals(
            [(quantity, str(product["price"])) for product, quantity in chosen],
            tax_rate=Decimal(str(tax_percent)) / 100,
            shipping=str(shipping),
            discount=str(discount),
        )
    except OrderError as error:
        st.error(str(error))
        return
    figures = st.columns(5)
    for column, (label, value) in zip(
        figures,
        [
            ("Subtotal", totals.subtotal),
            ("Tax", totals.tax),
            ("Shipping", totals.shipping),
            ("Discount", totals.discount),
            ("Total", totals.total),
        ],
        strict=True,
    ):
        column.metric(label, format_money(value))
    if st.button("Create order", type="primary", disabled=not chosen, key="new_order_create"):
        warehouse_ids = dict(zip(warehouses["code"], warehouses["id"], strict=True))
        new_order = NewOrder(
            customer_id=int(customer_id),
            lines=tuple(OrderLine(product_id=int(product["id"]), quantity=quantity) for product, quantity in chosen),
            warehouse_id=int(warehouse_ids[warehouse]) if warehouse else None,
            tax_rate=Decimal(str(tax_percent)) / 100,
            shipping=Decimal(str(shipping)),
            discount=Decimal(str(discount)),
            payment_method=method,
        )
        try:
            order_id = create_order(engine, new_order, actor)
        except (OrderError, PermissionDeniedError) as error:
            st.error(str(error))
            return
        invalidate()
        st.session_state.pop(LINES_KEY, None)
        st.session_state["orders__flash"] = f"Order ORD-{order_id:08d} created; its stock is reserved."
        st.rerun()


def batch_status_form(engine: Engine, actor: Actor, shown: pd.DataFrame) -> None:
    """Set one status on several orders of the current page (stock follows, all or nothing)."""
    if not allowed(actor.role, Permission.EDIT_RECORDS) or shown.empty:
        return
    versions = dict(zip(shown["order_number"], zip(shown["id"], shown["version"], strict=True), strict=True))
    columns = st.columns([4, 2, 1])
    selected = columns[0].multiselect("Orders on this page", list(versions), key="orders_batch_selection")
    status = columns[1].selectbox("New status", ORDER_STATUSES, key="orders_batch_status")
    columns[2].write("")
    if columns[2].button("Apply", disabled=not selected, key="orders_batch_apply"):
        try:
            change = update_order_status(
                engine, {int(versions[number][0]): int(versions[number][1]) for number in selected}, status, actor
            )
        except (OrderError, PermissionDeniedError) as error:
            st.error(str(error))
            return
        invalidate()
        st.session_state.pop("orders_batch_selection", None)
        st.session_state["orders__flash"] = f"{len(change.updated)} order(s) set to {status}" + (
            f"; {len(change.unchanged)} already were." if change.unchanged else "."
        )
        st.rerun()
