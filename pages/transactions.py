"""Transactions: payments, refunds and chargebacks, searchable by number and customer."""

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
st.title("Transactions")
st.caption("Search by number or customer name, email or phone; filter by status, type and date.")

query = record_query(engine, "transactions", key="transactions")
page = cached(list_records, "transactions", query)
record_grid(engine, actor, "transactions", page, key="transactions")
