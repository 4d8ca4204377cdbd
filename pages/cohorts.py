"""Cohorts: retention, revenue and cumulative value per customer by first-order month."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.cohorts import cohort_retention, summarise
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_money, format_percent, kpi_card

MEASURES = {
    "retention": ("% active", ".0%", "Customers of the cohort with a counted order that month ÷ cohort size."),
    "revenue": ("Revenue", "$,.0f", "Totals of the cohort's orders not cancelled/refunded in that month."),
    "cumulative_value_per_customer": (
        "Cumulative value per customer",
        "$,.0f",
        "Revenue of the cohort from its first month up to that month ÷ cohort size.",
    ),
}

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
cards = st.columns(3)
with cards[0]:
    kpi_card("Cohorts", f"{summary.cohorts:,}", "First-order months in the period.")
with cards[1]:
    kpi_card("New buyers", f"{summary.new_buyers:,}", "Customers whose first counted order is in the period.")
with cards[2]:
    kpi_card(
        "Month-1 retention",
        format_percent(summary.month_one_retention),
        "Customers who ordered again in the month after their first ÷ customers of those cohorts.",
    )

measure = st.segmented_control(
    "Show", list(MEASURES), default="retention", format_func=lambda key: MEASURES[key][0], key="cohort_measure"
)
measure = measure or "retention"
label, number_format, definition = MEASURES[measure]
grid = cohorts.pivot(index="cohort", columns="months_since_first", values=measure)
filter_caption(filters, "First orders")
figure = px.imshow(
    grid,
    text_auto=number_format,
    aspect="auto",
    color_continuous_scale="Blues",
    title=f"{label} by first-order month",
    labels={"x": "Months since first order", "y": "Cohort (first-order month)", "color": label},
)
if measure == "retention" and (grid.columns > 0).any():
    # Month 0 is 100 % by definition; scale the colours to the later months so they can be told apart.
    figure.update_coloraxes(cmin=0, cmax=float(grid.loc[:, grid.columns > 0].max().max()))
figure.update_traces(hovertemplate=f"Cohort %{{y}}, month %{{x}}: %{{z:{number_format}}}<extra></extra>")
show_chart(figure, name=f"cohorts_{measure}")
st.caption(f"{label}: {definition}")
st.caption(
    f"Largest cohort: {summary.largest_cohort} ({summary.largest_size:,} customers); "
    f"revenue of all cohorts {format_money(cohorts['revenue'].sum())}."
)
st.dataframe(cohorts, hide_index=True)
table_downloads(cohorts, name="cohorts")
