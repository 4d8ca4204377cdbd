"""Overview: today's and this month's KPIs at a glance."""

from __future__ import annotations

import streamlit as st

from crm.analytics.overview import PeriodTotals, overview_kpis
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.first_run import offer_demo_data
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import format_money, kpi_card

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Overview")
if offer_demo_data(engine, actor):
    st.stop()

filters = current_filters()
kpis = cached(overview_kpis, filters)
st.caption(
    f"Today is {kpis.as_of:%A %d %B %Y} ({filters.timezone_name}). "
    "Customer filters from the sidebar apply; the period is fixed to today and this month."
)


def _row(title: str, totals: PeriodTotals) -> None:
    st.subheader(title)
    columns = st.columns(4)
    with columns[0]:
        kpi_card("New customers", f"{totals.new_customers:,}", "Customers created in the period.")
    with columns[1]:
        kpi_card("Orders", f"{totals.orders:,}", "Orders placed in the period, any status.")
    with columns[2]:
        kpi_card(
            "Revenue",
            format_money(totals.revenue),
            "Sum of order totals, excluding cancelled and refunded orders, by order date.",
        )
    with columns[3]:
        kpi_card("Average order value", format_money(totals.average_order_value), "Revenue ÷ counted orders.")


_row("Today", kpis.today)
_row("This month", kpis.this_month)
kpi_card("Customers", f"{kpis.total_customers:,}", "All customers matching the sidebar's customer filters.")
