"""Sections and figures of the Demographics page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.demographics import AGE_GROUP_ORDER, DemographicsSummary
from crm.analytics.overview import DEFINITIONS
from crm.filters import Filters
from crm.ui.widgets import MISSING, data_table, format_money_short, kpi_card, readable

__all__ = [
    "NO_BUYERS",
    "age_gender_figure",
    "customers_sentence",
    "locations_figure",
    "people_table",
    "revenue_per_buyer_figure",
    "revenue_per_buyer_grid",
    "scope_sentence",
    "summary_cards",
    "with_place",
]

AGE_ORDER = {"age_group": list(AGE_GROUP_ORDER)}
NO_BUYERS = "No order counted in revenue in this selection: nothing to break down by spending or place."


def customers_sentence(filters: Filters) -> str:
    """What the customer counts cover: every matching customer created up to the end of the period.

    ("Customers created until 1 Dec 2026, source: website"): not "from … to …", since customers
    created before the period are counted too.
    """
    if filters.end_date is None:
        return filters.with_dates(None, None).describe("Customers")
    return filters.with_dates(None, filters.end_date).describe("Customers created")


def scope_sentence(filters: Filters) -> str:
    """The page's filter sentence: orders of the period, customers created up to its end."""
    sentence = filters.describe()
    if filters.end_date is not None:
        sentence += f"; customer counts: all created until {filters.end_date.day} {filters.end_date:%b %Y}"
    return sentence


def summary_cards(summary: DemographicsSummary) -> None:
    cards = st.columns(4)
    with cards[0]:
        kpi_card(
            "Customers",
            f"{summary.customers:,}",
            "With a brand filter, the brand's customers.",
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
            summary.top_age_group or MISSING,
        )


def _readable_genders(people: pd.DataFrame) -> pd.DataFrame:
    return people.assign(gender=people["gender"].map(readable))


def age_gender_figure(people: pd.DataFrame, measure: str) -> go.Figure:
    """Grouped bars per age group and gender of ``measure``: "customers" or "revenue"."""
    shown = _readable_genders(people)
    labels = {
        "age_group": "Age group",
        "customers": "Customers",
        "gender": "Gender",
        "buying_customers": "Buying customers",
        "revenue": "Revenue ($)",
        "revenue_per_buyer": "Revenue per buyer",
        "orders": "Orders",
    }
    # Horizontal bars, youngest on top (plotly lists horizontal categories top-down): the age groups read level
    # in a half-row column at 1024 px, and the gender legend sits above the bars, where no axis label meets it.
    if measure == "customers":
        figure = px.bar(
            shown, y="age_group", x="customers", color="gender", barmode="group", orientation="h",
            category_orders=AGE_ORDER, title="Customers by age group and gender", labels=labels,
            hover_data={"buying_customers": True},
        )  # fmt: skip
    else:
        figure = px.bar(
            shown, y="age_group", x="revenue", color="gender", barmode="group", orientation="h",
            category_orders=AGE_ORDER, title="Revenue by age group and gender", labels=labels,
            hover_data={"revenue": ":$,.2f", "revenue_per_buyer": ":$,.2f", "orders": True},
        )  # fmt: skip
        figure.update_xaxes(tickformat="$~s")
    figure.update_layout(
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "title": {"text": ""}},
        margin={"t": 100},
    )
    return figure


def revenue_per_buyer_grid(people: pd.DataFrame) -> pd.DataFrame:
    """Age groups (rows, in age order) × genders (columns) of revenue per buyer; NaN where nobody bought."""
    shown = _readable_genders(people)
    grid = shown.pivot(index="age_group", columns="gender", values="revenue_per_buyer")
    rows = [group for group in AGE_GROUP_ORDER if group in grid.index]
    return grid.reindex(rows)


def revenue_per_buyer_figure(people: pd.DataFrame) -> go.Figure:
    """A cell without buyers stays empty: "no buyers" is not "$0 per buyer"."""
    grid = revenue_per_buyer_grid(people)
    figure = px.imshow(
        grid,
        text_auto="$,.0f",
        aspect="auto",
        color_continuous_scale="Blues",
        title="Revenue per buyer by age group and gender (empty: no buyers)",
        labels={"x": "Gender", "y": "Age group", "color": "Revenue per buyer ($)"},
    )
    figure.update_traces(
        hovertemplate="%{y}, %{x}: %{z:$,.2f} per buyer<extra></extra>", hoverongaps=False, xgap=1, ygap=1
    )
    figure.update_coloraxes(colorbar_tickformat="$,.0f")
    figure.update_layout(plot_bgcolor="white")
    figure.update_yaxes(type="category")
    figure.update_xaxes(type="category")
    return figure


def people_table(people: pd.DataFrame) -> None:
    data_table(_readable_genders(people), labels={"revenue_per_buyer": "Revenue per buyer"})


def with_place(places: pd.DataFrame) -> pd.DataFrame:
    """The locations with a "City, CC" label for the chart axis."""
    return places.assign(place=places["city"] + ", " + places["country"])


def locations_figure(places: pd.DataFrame) -> go.Figure:
    count = len(places)
    title = "The city with the most revenue" if count == 1 else f"Top {count} cities by revenue"
    figure = px.bar(
        with_place(places).iloc[::-1], x="revenue", y="place", orientation="h", title=title,
        labels={"revenue": "Revenue ($)", "place": "City", "buying_customers": "Buying customers", "orders": "Orders"},
        hover_data={"revenue": ":$,.2f", "buying_customers": True, "orders": True},
    )  # fmt: skip
    figure.update_xaxes(tickformat="$,.0f")
    return figure
