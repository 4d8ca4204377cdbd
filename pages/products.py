"""Products: the catalogue grid; price changes are kept in price history automatically."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.records import list_records
from crm.ui.cache import cached
from crm.ui.grid import record_grid, record_query
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Products")

products_tab, history_tab = st.tabs(["Products", "Price history"])
with products_tab:
    query = record_query(engine, "products", key="products")
    record_grid(engine, actor, "products", cached(list_records, "products", query), key="products")
with history_tab:
    query = record_query(engine, "price_history", key="price_history")
    record_grid(engine, actor, "price_history", cached(list_records, "price_history", query), key="price_history")
