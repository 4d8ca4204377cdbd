"""Customers: search, filter and edit the customer list (server-side paging)."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.records import list_records
from crm.ui.cache import cached
from crm.ui.customer_choice import open_customer_link
from crm.ui.customer_form import new_customer_form
from crm.ui.grid import record_grid, record_query
from crm.ui.merge_view import merge_section
from crm.ui.resources import get_engine
from crm.ui.segment_builder import save_grid_as_segment
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Customers")

with st.expander("New customer", icon=":material/person_add:"):
    new_customer_form(engine, actor)

st.caption("Search by name, email, phone or company; filter by status, type, source or birthday this month.")

query = record_query(engine, "customers", key="customers")
page = cached(list_records, "customers", query)
record_grid(engine, actor, "customers", page, key="customers")
save_grid_as_segment(engine, actor, query, key="customers_grid")
# Open one of the rows shown in Customer 360 (a real link: ?customer=ID, so it can open in a new tab).
open_customer_link(page.rows, key="customers")
merge_section(engine, actor)
