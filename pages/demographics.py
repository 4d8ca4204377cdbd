"""Demographics: age group × gender, spending by age and gender, top locations."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.demographics import AGE_GROUP_ORDER, age_gender_distribution, summarise, top_locations
from crm.analytics.overview import DEFINITIONS
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_money_short, kpi_card

engine = get_engine()
require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Demographics")
filters = current_filters()
filter_caption(filters, "Customers and orders")
people = cached(age_gender_distribution, filters)
if people.empty or people["customers"].sum() + people["buying_customers"].sum() == 0:
    empty_state()
    st.stop()

summary = summarise(people)
cards = st.columns(4)
with cards[0]:
    kpi_card("Customers", f"{summary.customers:,}", "Customers matching the filters, created by the end of the period.")
with cards[1]:
    kpi_card("Buying customers", f"{summary.buying_customers:,}", DEFINITIONS["buying_customers"])
with cards[2]:
    kpi_card("Revenue per buyer", format_money_short(summary.revenue_per_buyer), DEFINITIONS["average_customer_value"])
with cards[3]:
    kpi_card(
        "Top age group by revenue",
        summary.top_age_group or "—",
        "The age group whose customers brought the most revenue.",
    )

order = {"age_group": list(AGE_GROUP_ORDER)}
left, right = st.columns(2)
with left:
    filter_caption(filters, "Customers")
    figure = px.bar(
        people,
        x="age_group",
        y="customers",
        color="gender",
        barmode="group",
        category_orders=order,
        title="Customers by age group and gender",
        labels={"age_group": "Age group", "customers": "Customers", "gender": "Gender"},
        hover_data={"buying_customers": True},
    )
    show_chart(figure, name="demographics_age_gender")
with right:
    filter_caption(filters)
    figure = px.bar(
        people,
        x="age_group",
        y="revenue",
        color="gender",
        barmode="group",
        category_orders=order,
        title="Revenue by age group and gender",
        labels={"age_group": "Age group", "revenue": "Revenue ($)", "gender": "Gender"},
        hover_data={"revenue": ":$,.2f", "revenue_per_buyer": ":$,.2f", "orders": True},
    )
    show_chart(figure, name="demographics_spending")

filter_caption(filters)
figure = px.density_heatmap(
    people,
    x="gender",
    y="age_group",
    z="revenue_per_buyer",
    histfunc="sum",
    text_auto="$.0f",
    category_orders=order,
    title="Revenue per buyer by age group and gender",
    labels={"gender": "Gender", "age_group": "Age group", "revenue_per_buyer": "Revenue per buyer ($)"},
)
figure.update_layout(coloraxis_colorbar_title_text="Revenue per buyer ($)")
show_chart(figure, name="demographics_revenue_per_buyer")
st.dataframe(
    people,
    hide_index=True,
    column_config={
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        "revenue_per_buyer": st.column_config.NumberColumn("Revenue per buyer", format="dollar"),
    },
)
table_downloads(people, name="demographics_age_gender")

st.subheader("Top locations")
places = cached(top_locations, filters, limit=15)
places["place"] = places["city"] + ", " + places["country"]
filter_caption(filters)
figure = px.bar(
    places.iloc[::-1],
    x="revenue",
    y="place",
    orientation="h",
    title="Top 15 cities by revenue",
    labels={"revenue": "Revenue ($)", "place": "City"},
    hover_data={"revenue": ":$,.2f", "buying_customers": True, "orders": True},
)
show_chart(figure, name="demographics_locations")
table_downloads(places.drop(columns="place"), name="demographics_locations")
