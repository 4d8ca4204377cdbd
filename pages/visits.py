"""Visits: visits and visitors per month, payments taken, returning visitors, busiest days and hours."""

from __future__ import annotations

import streamlit as st

from crm.analytics.visits import busiest_visit_times, visit_payments_by_month, visit_summary, visits_by_month
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import visits as view
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Visits")
filters = current_filters()
filter_caption(filters, "Visits")
summary = cached(visit_summary, filters)
payments = cached(visit_payments_by_month, filters)
if summary.visits == 0 and payments.empty:
    empty_state("No visits in this selection. Record visits from Customer 360 or the Activities page.")
    st.stop()
view.summary_cards(summary)

by_month = cached(visits_by_month, filters)
filter_caption(filters, "Visits")
show_chart(view.visits_figure(by_month), name="visits_per_month")
filter_caption(filters, "Visit payments")
show_chart(view.payments_figure(payments), name="visit_payments_per_month")
filter_caption(filters, "Visits")
show_chart(view.busiest_figure(cached(busiest_visit_times, filters), filters.timezone_name), name="visits_busiest")

st.subheader("Visits per month")
view.visits_table(by_month)
table_downloads(by_month, name="visits_per_month")
table_downloads(payments, name="visit_payments_per_month")
