"""Orders: search and edit orders, change the status of several at once, create orders with items."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission, allowed
from crm.records import RecordQuery, list_records
from crm.ui.cache import cached
from crm.ui.grid import record_grid, record_query
from crm.ui.order_form import batch_status_form, new_order_form
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Orders")
# Forms a role cannot submit are not shown at all (an analyst reads orders, never writes them).
may_edit = allowed(actor.role, Permission.EDIT_RECORDS)

if may_edit:
    with st.expander("New order", icon=":material/add_shopping_cart:"):
        new_order_form(engine, actor)

st.caption("Search by order number or customer name, email or phone; stock follows the order status.")
query = record_query(engine, "orders", key="orders")
page = cached(list_records, "orders", query)
record_grid(engine, actor, "orders", page, key="orders")

if may_edit:
    st.subheader("Change status of several orders")
    batch_status_form(engine, actor, page.rows)

st.subheader("Items of an order")
numbers = page.rows["order_number"].tolist()
chosen = st.selectbox("Order", numbers, key="orders_items_order") if numbers else None
if chosen is not None:
    order_id = int(page.rows.loc[page.rows["order_number"] == chosen, "id"].iloc[0])
    items = cached(list_records, "order_items", RecordQuery(equals=(("order_id", order_id),), page_size=200))
    st.caption("Editing items recomputes the order's subtotal, tax and total and moves its stock.")
    record_grid(engine, actor, "order_items", items, key=f"order_items_{order_id}")
