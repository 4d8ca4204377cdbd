"""Sections and figures of the Behaviour page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.behavior import DAY_NAMES, MONTH_NAMES, RepeatPurchases, Suggestion
from crm.analytics.demographics import AGE_GROUP_ORDER
from crm.ui.plain import escape_markdown
from crm.ui.widgets import format_percent, kpi_card

__all__ = [
    "ITEM_REVENUE",
    "age_categories_figure",
    "categories_figure",
    "products_figure",
    "repeat_cards",
    "repeat_intervals_figure",
    "seasonal_figure",
    "suggestion_list",
    "weekly_figure",
]

ITEM_REVENUE = "Item revenue = quantity × unit price of items of orders not cancelled/refunded (no tax/shipping)."


def suggestion_list(suggestions: list[Suggestion]) -> None:
    for suggestion in suggestions:
        # Findings name categories and products as stored: plain text.
        texts = (suggestion.topic, suggestion.finding, suggestion.action)
        topic, finding, action = (escape_markdown(text) for text in texts)
        st.markdown(f"**{topic}.** {finding} → {action}")


def categories_figure(categories: pd.DataFrame) -> go.Figure:
    """Horizontal bars, best category on top: names stay level in a half-width column."""
    return px.bar(
        categories.sort_values("item_revenue"), y="category", x="item_revenue", orientation="h",
        title="Item revenue by category",
        labels={"category": "Category", "item_revenue": "Item revenue ($)", "quantity": "Items", "share": "Share"},
        hover_data={"item_revenue": ":$,.2f", "quantity": True, "share": ":.1%"},
    ).update_xaxes(tickformat="$~s").update_yaxes(automargin=True)  # fmt: skip


def products_figure(products: pd.DataFrame) -> go.Figure:
    """Horizontal bars, best product on top."""
    return px.bar(
        products.iloc[::-1],
        x="item_revenue",
        y="product",
        orientation="h",
        title=f"Top {len(products)} products",
        labels={"item_revenue": "Item revenue ($)", "product": "Product", "quantity": "Items", "category": "Category"},
        hover_data={"item_revenue": ":$,.2f", "quantity": True, "category": True},
    ).update_xaxes(tickformat="$~s")  # fmt: skip  ($10k: short money ticks stay level in half a row)


def seasonal_figure(season: pd.DataFrame) -> go.Figure:
    figure = px.density_heatmap(
        season, x="month_name", y="category", z="item_revenue", histfunc="sum",
        category_orders={"month_name": list(MONTH_NAMES)}, title="Seasonal pattern: item revenue by month and category",
        labels={"month_name": "Month", "category": "Category", "item_revenue": "Item revenue ($)"},
    )  # fmt: skip
    figure.update_layout(coloraxis_colorbar_title_text="Item revenue ($)")
    figure.update_coloraxes(colorbar_tickformat="$,.0f")
    figure.update_traces(hovertemplate="%{x}, %{y}: %{z:$,.2f}<extra></extra>")
    return figure


def weekly_figure(week: pd.DataFrame, timezone_name: str) -> go.Figure:
    figure = px.density_heatmap(
        week, x="hour", y="day_name", z="orders", histfunc="sum", nbinsx=24,
        category_orders={"day_name": list(DAY_NAMES)},
        title=f"Orders by day of week and hour ({timezone_name})",
        labels={"hour": "Hour of day", "day_name": "Day of week", "orders": "Orders"},
    )  # fmt: skip
    figure.update_layout(coloraxis_colorbar_title_text="Orders")
    return figure


def repeat_cards(repeat: RepeatPurchases) -> None:
    cards = st.columns(3)
    with cards[0]:
        kpi_card("Repeat rate", format_percent(repeat.repeat_rate))
    with cards[1]:
        average = "—" if repeat.average_days is None else f"{repeat.average_days:,.0f} days"
        kpi_card("Days between orders", average)
    with cards[2]:
        kpi_card("Repeat customers", f"{repeat.repeat_customers:,}")


def repeat_intervals_figure(intervals: pd.DataFrame) -> go.Figure:
    return px.bar(
        intervals, x="interval", y="customers", title="Repeat customers by their average days between orders",
        labels={"interval": "Average days between orders", "customers": "Customers"},
    )  # fmt: skip


def age_categories_figure(by_age: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        by_age, x="age_group", y="share", color="category", category_orders={"age_group": list(AGE_GROUP_ORDER)},
        title="Category mix per age group",
        labels={
            "age_group": "Age group", "share": "Share of item revenue", "category": "Category",
            "item_revenue": "Item revenue", "age_group_buyers": "Buyers in the age group",
        },
        hover_data={"share": ":.1%", "item_revenue": ":$,.2f", "age_group_buyers": True},
    )  # fmt: skip
    figure.update_yaxes(tickformat=".0%")
    return figure
