"""Revenue & transactions: revenue over time and its growth, payment methods, sources, brands, refunds."""

from __future__ import annotations

import streamlit as st

from crm.analytics.overview import period_comparison
from crm.analytics.revenue import (
    payment_methods,
    refunds_over_time,
    revenue_by_brand,
    revenue_by_source,
    revenue_over_time,
    transaction_summary,
)
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.progressive import chart_section
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import revenue as view
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Revenue & transactions")
filters = current_filters()
filter_caption(filters)
comparison = cached(period_comparison, filters)
if comparison.current.orders == 0:
    empty_state()
    st.stop()
refunds = cached(refunds_over_time, filters, grain="month")
view.revenue_cards(comparison, refunds)

grain = st.segmented_control("Group by", ["day", "week", "month", "quarter"], default="month", key="revenue_grain")
over_time = cached(revenue_over_time, filters, grain=grain or "month")
filter_caption(filters)
show_chart(view.revenue_over_time_figure(over_time, grain or "month"), name="revenue_over_time")
if over_time["partial"].any():
    st.caption("Periods cut by the date range are partial; no growth is shown next to them.")
filter_caption(filters)
show_chart(view.growth_figure(over_time), name="revenue_growth")

# Each chart is computed in parallel with the rest of the page and drawn as soon as it is ready.
sections = [
    (payment_methods, view.payment_method_figure, "Orders", "revenue_payment_methods"),
    (transaction_summary, view.transactions_figure, "Transactions", "revenue_transactions"),
    (revenue_by_source, view.revenue_by_source_figure, "Orders", "revenue_by_source"),
    (revenue_by_brand, view.revenue_by_brand_figure, "Orders", "revenue_by_brand"),
]
for index, (load, figure_for, subject, name) in enumerate(sections):
    if index % 2 == 0:
        columns = st.columns(2)
    with columns[index % 2]:
        chart_section(load, filters, figure_for, name=name, subject=subject)

st.subheader("Refunds and cancellations")
filter_caption(filters)
if refunds.empty:
    st.caption("No refunds or cancellations in this selection.")
else:
    show_chart(view.refunds_figure(refunds), name="revenue_refunds")
    table_downloads(refunds, name="revenue_refunds")
st.subheader("Revenue table")
view.revenue_table(over_time)
table_downloads(over_time, name="revenue_over_time")
