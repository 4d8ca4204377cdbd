"""Service analytics: tickets opened and solved, response and resolution times, SLA attainment, CSAT, agents."""

from __future__ import annotations

import streamlit as st

from crm.analytics.service import agent_performance, csat_distribution, service_summary, ticket_volume
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import service as view
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Service")
filters = current_filters()
filter_caption(filters, "Tickets")
summary = cached(service_summary, filters)
if summary.opened == 0:
    empty_state("No tickets were opened in this selection. Widen the period or clear a filter.")
    st.stop()
view.service_cards(summary)

grain = st.segmented_control("Group by", ["day", "week", "month", "quarter"], default="month", key="service_grain")
volume = cached(ticket_volume, filters, grain=grain or "month")
left, right = st.columns(2)
with left:
    filter_caption(filters, "Tickets")
    show_chart(view.volume_figure(volume, "category"), name="service_volume_by_category")
with right:
    filter_caption(filters, "Tickets")
    show_chart(view.volume_figure(volume, "priority"), name="service_volume_by_priority")

st.subheader("Customer satisfaction")
filter_caption(filters, "Tickets")
distribution = cached(csat_distribution, filters)
show_chart(view.csat_figure(distribution), name="service_csat")

st.subheader("Agents")
filter_caption(filters, "Tickets")
agents = cached(agent_performance, filters)
view.agent_table(agents)
table_downloads(agents, name="service_agents")
