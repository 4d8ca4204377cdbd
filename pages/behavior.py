"""Behaviour: what customers buy, when, how often — and what to do about it."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.behavior import (
    DAY_NAMES,
    MONTH_NAMES,
    category_by_age_group,
    category_preference,
    product_preference,
    repeat_purchases,
    seasonal_pattern,
    suggestions_from,
    weekly_pattern,
)
from crm.analytics.demographics import AGE_GROUP_ORDER
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_percent, kpi_card

ITEM_REVENUE = "Item revenue = quantity × unit price of items of orders not cancelled/refunded (no tax/shipping)."

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Purchase behaviour")
filters = current_filters()
filter_caption(filters)
categories = cached(category_preference, filters)
if categories.empty:
    empty_state()
    st.stop()
season = cached(seasonal_pattern, filters)
week = cached(weekly_pattern, filters)
by_age = cached(category_by_age_group, filters)
repeat = cached(repeat_purchases, filters)

st.subheader("Suggestions from this data")
for suggestion in suggestions_from(season, week, by_age, repeat, timezone_name=filters.timezone_name):
    st.markdown(f"**{suggestion.topic}.** {suggestion.finding} → {suggestion.action}")

left, right = st.columns(2)
with left:
    filter_caption(filters)
    figure = px.bar(
        categories, x="category", y="item_revenue", title="Item revenue by category",
        labels={"category": "Category", "item_revenue": "Item revenue ($)"},
        hover_data={"item_revenue": ":$,.2f", "quantity": True, "share": ":.1%"},
    )  # fmt: skip
    show_chart(figure, name="behavior_categories")
with right:
    products = cached(product_preference, filters, limit=10)
    filter_caption(filters)
    figure = px.bar(
        products.iloc[::-1], x="item_revenue", y="product", orientation="h", title="Top 10 products",
        labels={"item_revenue": "Item revenue ($)", "product": "Product"},
        hover_data={"item_revenue": ":$,.2f", "quantity": True, "category": True},
    )  # fmt: skip
    show_chart(figure, name="behavior_products")
st.caption(ITEM_REVENUE)

filter_caption(filters)
figure = px.density_heatmap(
    season, x="month_name", y="category", z="item_revenue", histfunc="sum",
    category_orders={"month_name": list(MONTH_NAMES)}, title="Seasonal pattern: item revenue by month and category",
    labels={"month_name": "Month", "category": "Category", "item_revenue": "Item revenue ($)"},
)  # fmt: skip
figure.update_layout(coloraxis_colorbar_title_text="Item revenue ($)")
show_chart(figure, name="behavior_seasonal")

filter_caption(filters)
figure = px.density_heatmap(
    week, x="hour", y="day_name", z="orders", histfunc="sum", nbinsx=24,
    category_orders={"day_name": list(DAY_NAMES)},
    title=f"Orders by day of week and hour ({filters.timezone_name})",
    labels={"hour": "Hour of day", "day_name": "Day of week", "orders": "Orders"},
)  # fmt: skip
figure.update_layout(coloraxis_colorbar_title_text="Orders")
show_chart(figure, name="behavior_weekly")

st.subheader("Repeat purchases")
cards = st.columns(3)
with cards[0]:
    kpi_card("Repeat rate", format_percent(repeat.repeat_rate), "Customers with ≥2 counted orders ÷ customers with ≥1.")
with cards[1]:
    average = "—" if repeat.average_days is None else f"{repeat.average_days:,.0f} days"
    kpi_card("Days between orders", average, "Mean days between two consecutive counted orders of a customer.")
with cards[2]:
    kpi_card("Repeat customers", f"{repeat.repeat_customers:,}", "Customers with at least two counted orders.")
filter_caption(filters)
figure = px.bar(
    repeat.intervals, x="interval", y="customers", title="Repeat customers by their average days between orders",
    labels={"interval": "Average days between orders", "customers": "Customers"},
)  # fmt: skip
show_chart(figure, name="behavior_repeat")

filter_caption(filters)
figure = px.bar(
    by_age, x="age_group", y="share", color="category", category_orders={"age_group": list(AGE_GROUP_ORDER)},
    title="Category mix per age group", labels={"age_group": "Age group", "share": "Share of item revenue"},
    hover_data={"share": ":.1%", "item_revenue": ":$,.2f"},
)  # fmt: skip
figure.update_yaxes(tickformat=".0%")
show_chart(figure, name="behavior_age_categories")
table_downloads(by_age, name="behavior_age_categories")
