"""Overview: today's and this month's KPIs, the chosen period against the one before, growth trends."""

from __future__ import annotations

import streamlit as st

from crm.analytics.overview import growth_trends, overview_kpis, period_comparison, takings
from crm.permissions import Permission
from crm.ui.birthdays import birthday_section
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.first_run import offer_demo_data
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import overview as view
from crm.ui.views.takings import takings_cards
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Overview")
if offer_demo_data(engine, actor):
    st.stop()

filters = current_filters()
kpis = cached(overview_kpis, filters)
st.caption(f"Today is {kpis.as_of:%A %d %B %Y} ({filters.timezone_name}); customer and brand filters apply.")
st.subheader("Today")
view.day_cards(kpis.today, with_customer_value=False)
st.subheader("This month")
view.day_cards(kpis.this_month, with_customer_value=True)

birthday_section(engine, actor, filters, kpis.as_of)

st.subheader("Selected period")
filter_caption(filters)
# Orders and visits side by side: a shop that only records visits sees its takings here.
money = cached(takings, filters)
takings_cards(money)
comparison = cached(period_comparison, filters)
if comparison.current.orders == 0 and comparison.current.new_customers == 0:
    if money.visit_takings:
        empty_state("No orders or new customers in this selection; the visit takings are above.")
    else:
        empty_state()
    st.stop()
view.period_cards(comparison, kpis.pending)

grain = st.segmented_control("Trend by", ["week", "month", "quarter"], default="month", key="overview_grain")
trends = cached(growth_trends, filters, grain=grain or "month")
filter_caption(filters)
if trends["revenue"].sum() > 0:
    show_chart(view.revenue_trend_figure(trends, grain or "month"), name="overview_revenue_trend")
else:
    empty_state("No revenue in this selection: only new customers to show below.")
filter_caption(filters)
show_chart(view.growth_figure(trends), name="overview_growth")
view.trends_table(trends)
table_downloads(trends, name="overview_trends")
