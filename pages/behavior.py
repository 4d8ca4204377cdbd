"""Behaviour: what customers buy, when, how often — and what to do about it."""

from __future__ import annotations

import streamlit as st

from crm.analytics.behavior import (
    category_by_age_group_from,
    category_preference_from,
    item_sales,
    product_preference_from,
    repeat_purchases,
    seasonal_pattern_from,
    suggestions_from,
    weekly_pattern,
)
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.progressive import chart_section
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import behavior as view
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Purchase behaviour")
filters = current_filters()
filter_caption(filters)
sales = cached(item_sales, filters)  # one scan of the order lines for all four item-level results
categories = category_preference_from(sales)
if categories.empty:
    empty_state()
    st.stop()
season = seasonal_pattern_from(sales)
week = cached(weekly_pattern, filters)
by_age = category_by_age_group_from(sales)
repeat = cached(repeat_purchases, filters)

st.subheader("Suggestions from this data")
view.suggestion_list(suggestions_from(season, week, by_age, repeat, timezone_name=filters.timezone_name))

left, right = st.columns(2)
with left:
    filter_caption(filters)
    show_chart(view.categories_figure(categories), name="behavior_categories")
with right:
    # The same cached scan: the section draws from it without a query of its own.
    chart_section(
        item_sales,
        filters,
        lambda sales: view.products_figure(product_preference_from(sales, limit=10)),
        name="behavior_products",
    )
st.caption(view.ITEM_REVENUE)
filter_caption(filters)
show_chart(view.seasonal_figure(season), name="behavior_seasonal")
filter_caption(filters)
show_chart(view.weekly_figure(week, filters.timezone_name), name="behavior_weekly")

st.subheader("Repeat purchases")
view.repeat_cards(repeat)
filter_caption(filters)
show_chart(view.repeat_intervals_figure(repeat.intervals), name="behavior_repeat")
filter_caption(filters)
show_chart(view.age_categories_figure(by_age), name="behavior_age_categories")
table_downloads(by_age, name="behavior_age_categories")
