"""Import wizard: upload a CSV/Excel file, check how it was read, map columns, preview, import."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.ui.import_wizard import render_wizard
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.IMPORT_DATA)
st.title("Import data")
st.caption(
    "Customers, orders, transactions or products from CSV or Excel. Nothing is written until you press "
    "Import; the whole file is then imported in one transaction, so a failure leaves nothing half-done."
)
render_wizard(engine, actor)
