"""Order widgets: the New order form with live totals, and the batch status change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
from crm.ui.plain import escape_markdown, plain_bullets
from crm.ui.widgets import format_money
from crm.vocabulary import code_label

__all__ = ["LINES_KEY", "batch_status_form", "new_order_form"]

# The order being put together: a list of {"line": n, "product_id", "label", "price"} in session
# state, so lines survive every new product search (each line's quantity is its own widget).
LINES_KEY = "new_order_lines"
# Products offered per search; the search narrows larger catalogues (chosen lines stay regardless).
PRODUCT_CHOICES = 50


def _quantity_key(line: int) -> str:
    return f"new_order_quantity_{line}"


def _lines() -> list[dict[str, Any]]:
    return st.session_state.setdefault(LINES_KEY, [])


def _add_line(product: dict[str, Any]) -> None:
    """Add the picked product (or one more of it, when it already has a line)."""
    lines = _lines()
    for line in lines:
        if line["product_id"] == product["id"]:
            current = st.session_state.get(_quantity_key(line["line"]))
            st.session_state[_quantity_key(line["line"])] = (current or 0) + 1
            return
    number = int(st.session_state.get("new_order_next_line", 1))
    st.session_state["new_order_next_line"] = number + 1
    lines.append(
        {"line": number, "product_id": int(product["id"]), "label": product["label"], "price": product["price"]}
    )
    st.session_state[_quantity_key(number)] = 1


def _remove_line(number: int) -> None:
    st.session_state[LINES_KEY] = [line for line in _lines() if line["line"] != number]
    st.session_state.pop(_quantity_key(number), None)


def _clear_lines() -> None:
    for line in _lines():
        st.session_state.pop(_quantity_key(line["line"]), None)
    st.session_state[LINES_KEY] = []


def _product_picker(container: Any) -> None:
    search = container.text_input("Find products", key="new_order_product_search", placeholder="Name or SKU")
    products = cached(product_choices, search, limit=PRODUCT_CHOICES + 1)
    if products.empty:
        container.info("No active product matches that search.")
        return
    offered = products.head(PRODUCT_CHOICES)
    by_id = {int(row["id"]): row for row in offered.to_dict("records")}
    picker, button = container.columns([4, 1], vertical_alignment="bottom")
    product_id = picker.selectbox(
        "Product", list(by_id), format_func=lambda key: by_id[key]["label"], key="new_order_product"
    )
    button.button("Add", key="new_order_add_line", on_click=_add_line, args=(by_id[product_id],), icon=":material/add:")
    if len(products) > PRODUCT_CHOICES:
        container.caption(f"The first {PRODUCT_CHOICES} matches; type more of the name or SKU to narrow.")


def _line_rows() -> tuple[list[tuple[dict[str, Any], int]], list[str]]:
    """Draw the chosen lines (quantity editable, remove button); return (line, quantity) pairs and problems."""
    chosen: list[tuple[dict[str, Any], int]] = []
    problems: list[str] = []
    for position, line in enumerate(_lines(), start=1):
        cells = st.columns([5, 2, 2, 1], vertical_alignment="bottom")
        cells[0].markdown(f"**{position}.** {escape_markdown(line['label'])}")
        # No browser minimum: an empty or zero quantity is named below instead of silently changed.
        quantity = cells[1].number_input("Quantity", step=1, value=None, key=_quantity_key(line["line"]))
        line_total = format_money(Decimal(str(line["price"])) * int(quantity or 0))
        cells[2].markdown(f"Line total  \n**{escape_markdown(line_total)}**")
        cells[3].button(
            "Remove",
            key=f"new_order_remove_{line['line']}",
            on_click=_remove_line,
            args=(line["line"],),
            icon=":material/delete:",
            help="Remove this item",
        )
        if quantity is None or int(quantity) < 1 or int(quantity) != quantity:
            problems.append(f"Item {position} ({line['label']}): enter a quantity of 1 or more.")
        else:
            chosen.append((line, int(quantity)))
    return chosen, problems


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
    # No customer is chosen until someone picks one: an order must not go to whoever is newest.
    customer_id = left.selectbox(
        "Customer",
        customers["id"].tolist(),
        index=None,
        placeholder="Choose a customer",
        format_func=dict(zip(customers["id"], customers["label"], strict=True)).get,
        key="new_order_customer",
    )
    _product_picker(right)
    chosen, problems = _line_rows()
    if not _lines():
        st.caption("No items yet: find a product and press Add.")
    warehouses = cached(warehouse_choices)
    settings = st.columns(5)
    warehouse = settings[0].selectbox("Warehouse", warehouses["code"].tolist(), key="new_order_warehouse")
    tax_percent = settings[1].number_input("Tax %", 0.0, 100.0, float(DEFAULT_TAX_RATE * 100), 0.5, key="new_order_tax")
    shipping = settings[2].number_input("Shipping", 0.0, step=1.0, key="new_order_shipping")
    discount = settings[3].number_input("Discount", 0.0, step=1.0, key="new_order_discount")
    method = settings[4].selectbox("Payment", PAYMENT_METHODS, format_func=code_label, key="new_order_method")
    try:
        totals = order_totals(
            [(quantity, str(line["price"])) for line, quantity in chosen],
            tax_rate=Decimal(str(tax_percent)) / 100,
            shipping=str(shipping),
            discount=str(discount),
        )
    except OrderError as error:
        problems.append(str(error))
        totals = None
    if totals is not None:
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
    if customer_id is None and chosen:
        problems.insert(0, "Choose the customer the order is for.")
    if problems:
        st.error("Before creating the order:\n\n" + plain_bullets(problems))
    if st.button(
        "Create order",
        type="primary",
        disabled=not chosen or bool(problems) or customer_id is None,
        key="new_order_create",
    ):
        warehouse_ids = dict(zip(warehouses["code"], warehouses["id"], strict=True))
        new_order = NewOrder(
            customer_id=int(customer_id or 0),
            lines=tuple(OrderLine(product_id=int(line["product_id"]), quantity=quantity) for line, quantity in chosen),
            warehouse_id=int(warehouse_ids[warehouse]) if warehouse else None,
            tax_rate=Decimal(str(tax_percent)) / 100,
            shipping=Decimal(str(shipping)),
            discount=Decimal(str(discount)),
            payment_method=method,
        )
        try:
            order_id = create_order(engine, new_order, actor)
        except (OrderError, PermissionDeniedError) as error:
            st.error(escape_markdown(error))
            return
        invalidate()
        _clear_lines()
        st.session_state["orders__flash"] = f"Order ORD-{order_id:08d} created; its stock is reserved."
        st.rerun()


def batch_status_form(engine: Engine, actor: Actor, shown: pd.DataFrame) -> None:
    """Set one status on several orders of the current page (stock follows, all or nothing)."""
    if not allowed(actor.role, Permission.EDIT_RECORDS) or shown.empty:
        return
    versions = dict(zip(shown["order_number"], zip(shown["id"], shown["version"], strict=True), strict=True))
    columns = st.columns([4, 2, 1], vertical_alignment="bottom")
    selected = columns[0].multiselect("Orders on this page", list(versions), key="orders_batch_selection")
    columns[1].selectbox("New status", ORDER_STATUSES, format_func=code_label, key="orders_batch_status")
    columns[2].button(
        "Apply", disabled=not selected, key="orders_batch_apply", on_click=_apply_status, args=(engine, actor, versions)
    )
    problem = st.session_state.pop("orders_batch_problem", None)
    if problem:
        st.error(escape_markdown(problem))


def _apply_status(engine: Engine, actor: Actor, versions: dict[str, tuple[int, int]]) -> None:
    """On Apply (a callback, so the selection can be cleared before the multiselect is drawn again)."""
    state = st.session_state
    selected, status = state.get("orders_batch_selection") or [], state["orders_batch_status"]
    try:
        change = update_order_status(
            engine, {int(versions[number][0]): int(versions[number][1]) for number in selected}, status, actor
        )
    except (OrderError, PermissionDeniedError) as error:
        state["orders_batch_problem"] = str(error)
        return
    invalidate()
    state["orders_batch_selection"] = []
    state["orders__flash"] = f"{len(change.updated)} order(s) set to {code_label(status).lower()}" + (
        f"; {len(change.unchanged)} already were." if change.unchanged else "."
    )
