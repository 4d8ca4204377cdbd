"""Inventory: stock per warehouse, low/out-of-stock alerts, levels and the stock ledger."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.records import list_records
from crm.records.inventory import alert_counts, stock_alerts, warehouse_summary
from crm.ui.cache import cached
from crm.ui.charts import table_downloads
from crm.ui.grid import record_grid, record_query
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.stock_view import alerts_table, stock_movement_form, warehouse_filter
from crm.ui.widgets import kpi_card

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Inventory")

warehouse_id, warehouse_code = warehouse_filter()
codes = (warehouse_code,) if warehouse_code else ()
counts = cached(alert_counts, codes)
columns = st.columns(3)
with columns[0]:
    kpi_card("Stock items", f"{counts.items:,}")
with columns[1]:
    kpi_card("Low stock", f"{counts.low_stock:,}")
with columns[2]:
    kpi_card("Out of stock", f"{counts.out_of_stock:,}")

levels_tab, alerts_tab, warehouses_tab, ledger_tab = st.tabs(["Levels", "Alerts", "Warehouses", "Stock movements"])
with levels_tab:
    in_warehouse = (("warehouse_id", warehouse_id),) if warehouse_id else ()
    query = record_query(engine, "inventory", key="inventory", equals=in_warehouse)
    record_grid(engine, actor, "inventory", cached(list_records, "inventory", query), key="inventory")
with alerts_tab:
    alerts_table(cached(stock_alerts, codes))
with warehouses_tab:
    summary = cached(warehouse_summary)
    st.dataframe(summary, hide_index=True, width="stretch")
    table_downloads(summary, name="warehouse_stock")
with ledger_tab:
    with st.expander("Add a movement", icon=":material/add_box:"):
        stock_movement_form(engine, actor)
    query = record_query(engine, "stock_movements", key="stock_movements")
    record_grid(engine, actor, "stock_movements", cached(list_records, "stock_movements", query), key="stock_movements")
