"""Sections and figures of the Demographics page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.demographics import AGE_GROUP_ORDER, DemographicsSummary
from crm.analytics.overview import DEFINITIONS
from crm.ui.widgets import format_money_short, kpi_card

__all__ = [
    "age_gender_figure",
    "locations_figure",
    "people_table",
    "revenue_per_buyer_figure",
    "summary_cards",
    "with_place",
]

AGE_ORDER = {"age_group": list(AGE_GROUP_ORDER)}


def summary_cards(summary: DemographicsSummary) -> None:
    cards = st.columns(4)
    with cards[0]:
        kpi_card(
            "Customers", f"{summary.customers:,}", "Customers matching the filters, created by the end of the period."
        )
    with cards[1]:
        kpi_card("Buying customers", f"{summary.buying_customers:,}", DEFINITIONS["buying_customers"])
    with cards[2]:
        kpi_card(
            "Revenue per buyer", format_money_short(summary.revenue_per_buyer), DEFINITIONS["average_customer_value"]
        )
    with cards[3]:
        kpi_card(
            "Top age group by revenue",
            summary.top_age_group or "—",
            "The age group whose customers brought the most revenue.",
        )


def age_gender_figure(people: pd.DataFrame, measure: str) -> go.Figure:
    """Grouped bars per age group and gender of ``measure``: "customers" or "revenue"."""
    if measure == "customers":
        return px.bar(
            people, x="age_group", y="customers", color="gender", barmode="group", category_orders=AGE_ORDER,
            title="Customers by age group and gender",
            labels={"age_group": "Age group", "customers": "Customers", "gender": "Gender"},
            hover_data={"buying_customers": True},
        )  # fmt: skip
    return px.bar(
        people, x="age_group", y="revenue", color="gender", barmode="group", category_orders=AGE_ORDER,
        title="Revenue by age group and gender",
        labels={"age_group": "Age group", "revenue": "Revenue ($)", "gender": "Gender"},
        hover_data={"revenue": ":$,.2f", "revenue_per_buyer": ":$,.2f", "orders": True},
    )  # fmt: skip


def revenue_per_buyer_figure(people: pd.DataFrame) -> go.Figure:
    figure = px.density_heatmap(
        people, x="gender", y="age_group", z="revenue_per_buyer", histfunc="sum", text_auto="$.0f",
        category_orders=AGE_ORDER, title="Revenue per buyer by age group and gender",
        labels={"gender": "Gender", "age_group": "Age group", "revenue_per_buyer": "Revenue per buyer ($)"},
    )  # fmt: skip
    figure.update_layout(coloraxis_colorbar_title_text="Revenue per buyer ($)")
    return figure


def people_table(people: pd.DataFrame) -> None:
    st.dataframe(
        people,
        hide_index=True,
        column_config={
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "revenue_per_buyer": st.column_config.NumberColumn("Revenue per buyer", format="dollar"),
        },
    )


def with_place(places: pd.DataFrame) -> pd.DataFrame:
    """The locations with a "City, CC" label for the chart axis."""
    return places.assign(place=places["city"] + ", " + places["country"])


def locations_figure(places: pd.DataFrame) -> go.Figure:
    return px.bar(
        with_place(places).iloc[::-1], x="revenue", y="place", orientation="h", title="Top 15 cities by revenue",
        labels={"revenue": "Revenue ($)", "place": "City"},
        hover_data={"revenue": ":$,.2f", "buying_customers": True, "orders": True},
    )  # fmt: skip
