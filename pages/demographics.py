"""Demographics: age group × gender, spending by age and gender, top locations."""

from __future__ import annotations

import streamlit as st

from crm.analytics.demographics import age_gender_distribution, summarise, top_locations
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.segment_builder import save_filters_as_segment
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import demographics as view
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Demographics")
filters = current_filters()
filter_caption(filters, sentence=view.scope_sentence(filters))
people = cached(age_gender_distribution, filters)
if people.empty or people["customers"].sum() + people["buying_customers"].sum() == 0:
    empty_state()
    st.stop()
view.summary_cards(summarise(people))

bought = people["buying_customers"].sum() > 0
left, right = st.columns(2)
with left:
    filter_caption(filters, sentence=view.customers_sentence(filters))
    show_chart(view.age_gender_figure(people, "customers"), name="demographics_age_gender")
with right:
    filter_caption(filters)
    if bought:
        show_chart(view.age_gender_figure(people, "revenue"), name="demographics_spending")
    else:
        empty_state(view.NO_BUYERS)
if bought:
    filter_caption(filters)
    show_chart(view.revenue_per_buyer_figure(people), name="demographics_revenue_per_buyer")
view.people_table(people)
table_downloads(people, name="demographics_age_gender")
save_filters_as_segment(engine, actor, filters, key="demographics", default_name="Demographics selection")

st.subheader("Top locations")
filter_caption(filters)
places = cached(top_locations, filters, limit=15)
if places.empty:
    empty_state(view.NO_BUYERS)
else:
    show_chart(view.locations_figure(places), name="demographics_locations")
    table_downloads(places, name="demographics_locations")
