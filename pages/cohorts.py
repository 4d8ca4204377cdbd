"""Cohorts: retention, revenue and cumulative value per customer by first-order month."""

from __future__ import annotations

import streamlit as st

from crm.analytics.cohorts import cohort_retention, summarise
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import cohorts as view
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Cohorts")
filters = current_filters()
st.caption("A cohort is the month of a customer's first counted order; the period picks which cohorts are shown.")
filter_caption(filters, "First orders")
cohorts = cached(cohort_retention, filters)
if cohorts.empty:
    empty_state()
    st.stop()

summary = summarise(cohorts)
view.summary_cards(summary)
measure = st.segmented_control(
    "Show", list(view.MEASURES), default="retention", format_func=lambda key: view.MEASURES[key].label,
    key="cohort_measure",
) or "retention"  # fmt: skip
filter_caption(filters, "First orders")
show_chart(view.cohort_heatmap(cohorts, measure, period_start=filters.start_date), name=f"cohorts_{measure}")
st.caption(f"{view.MEASURES[measure].label}: {view.MEASURES[measure].definition}")
st.caption(view.summary_caption(summary, float(cohorts["revenue"].sum())))
view.cohort_table(cohorts)
table_downloads(cohorts, name="cohorts")
