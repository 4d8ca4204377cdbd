"""Sections and figures of the Segmentation page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.overview import DEFINITIONS
from crm.analytics.segmentation import SEGMENTS
from crm.ui.widgets import MISSING, data_table, format_percent, kpi_card, readable

__all__ = [
    "NO_SCORED_CUSTOMERS",
    "RFM_HELP",
    "loyalty_figure",
    "members_table",
    "rfm_treemap",
    "segment_file_name",
    "segment_source_figure",
    "segment_source_grid",
    "segments_table",
    "source_cards",
    "source_figure",
    "sources_table",
]

RFM_HELP = (
    "RFM: quintile scores 1–5 (ties broken by customer id) of recency, frequency and revenue of "
    "orders not cancelled/refunded in the period; the segment follows from R and the mean of F and M."
)
# The lightest blues are nearly white: a bar of the least converting source would vanish.
READABLE_BLUES = px.colors.sequential.Blues[3:]


NO_SCORED_CUSTOMERS = (
    "No customer has an order counted in revenue in this selection, so there is nothing to score. "
    "Widen the period or clear a filter."
)


def source_cards(sources: pd.DataFrame, scored_customers: int) -> None:
    with_revenue = sources[sources["revenue"] > 0]
    best = (
        readable(with_revenue.sort_values("revenue", ascending=False).iloc[0]["source"])
        if len(with_revenue)
        else MISSING
    )
    new, converted = sources["new_customers"].sum(), sources["converted_customers"].sum()
    cards = st.columns(3)
    with cards[0]:
        kpi_card("Top source by revenue", best, f"{MISSING} when no source brought revenue.")
    with cards[1]:
        kpi_card("Conversion rate", format_percent(converted / new if new else None), DEFINITIONS["conversion_rate"])
    with cards[2]:
        kpi_card("Scored customers (RFM)", f"{scored_customers:,}", RFM_HELP)


def source_figure(sources: pd.DataFrame) -> go.Figure:
    """Revenue per source coloured by conversion; new customers instead when no source brought revenue."""
    measure = "revenue" if sources["revenue"].sum() > 0 else "new_customers"
    rates = sources["conversion_rate"].dropna()
    # Spread the colours over the sources' own range; with one rate only (e.g. all 0 %) Plotly would
    # centre the bar on it and label the scale "−50 % … 50 %", so pin it to 0 %–100 % instead.
    range_color = None if rates.nunique() > 1 else [0.0, 1.0]
    figure = px.bar(
        sources.assign(source=sources["source"].map(readable)), x="source", y=measure, color="conversion_rate",
        color_continuous_scale=READABLE_BLUES,
        range_color=range_color,
        title="Revenue and conversion by source" if measure == "revenue"
        else "New customers and conversion by source (no revenue in this selection)",
        labels={
            "source": "Source", "revenue": "Revenue ($)", "conversion_rate": "Conversion",
            "average_order_value": "AOV", "new_customers": "New customers",
        },
        hover_data={
            "revenue": ":$,.2f", "conversion_rate": ":.1%", "average_order_value": ":$,.2f", "new_customers": True
        },
    )  # fmt: skip
    figure.update_coloraxes(colorbar_tickformat=".0%")
    if measure == "revenue":
        figure.update_yaxes(tickformat="$,.0f")
    return figure


def sources_table(sources: pd.DataFrame) -> None:
    data_table(
        sources.assign(source=sources["source"].map(readable)),
        labels={"conversion_rate": "Conversion", "average_order_value": "AOV"},
    )


def rfm_treemap(scored: pd.DataFrame) -> go.Figure:
    figure = px.treemap(
        scored, path=[px.Constant("All scored customers"), "segment"], values="customers", color="average_monetary",
        color_continuous_scale="Teal", title="Customers per RFM segment (colour: revenue per customer)",
        labels={
            "average_monetary": "Revenue per customer ($)", "revenue": "Revenue", "customers": "Customers",
            "average_recency_days": "Days since last order",
        },
        hover_data={"revenue": ":$,.2f", "average_recency_days": ":.0f"},
    )  # fmt: skip
    figure.update_traces(root_color="white", textinfo="label+value+percent root")
    figure.update_coloraxes(colorbar_tickformat="$,.0f")
    return figure


def segments_table(segments: pd.DataFrame) -> None:
    data_table(
        segments,
        labels={
            # Short headers (means, as the table's title says) so the table fits a laptop's width.
            "average_recency_days": "Days since last order",
            "average_frequency": "Orders per customer",
            "average_monetary": "Revenue per customer",
        },
    )


def segment_source_grid(matrix: pd.DataFrame) -> pd.DataFrame:
    """Segments (rows, standard order) × sources (columns) of customers; NaN where a pair has nobody."""
    shown = matrix.assign(source=matrix["source"].map(readable))
    grid = shown.pivot(index="segment", columns="source", values="customers")
    return grid.reindex([segment for segment in SEGMENTS if segment in grid.index])


def segment_source_figure(matrix: pd.DataFrame) -> go.Figure:
    figure = px.imshow(
        segment_source_grid(matrix), text_auto=True, aspect="auto", color_continuous_scale="Blues",
        title="Customers per segment and source", labels={"x": "Source", "y": "Segment", "color": "Customers"},
    )  # fmt: skip
    figure.update_traces(hovertemplate="%{y}, %{x}: %{z:,} customers<extra></extra>", hoverongaps=False)
    # Segment and source names are categories: never let Plotly turn them into a numeric axis.
    figure.update_xaxes(type="category")
    figure.update_yaxes(type="category")
    figure.update_layout(plot_bgcolor="white")
    return figure


def loyalty_figure(tiers: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        tiers.assign(tier=tiers["tier"].map(readable)), x="tier", y="customers",
        title="Customers per loyalty tier (points balance now)",
        labels={
            "tier": "Tier", "customers": "Customers", "min_points": "From points", "average_points": "Average points",
            "revenue": "Revenue",
        },
        hover_data={"min_points": True, "average_points": ":,.0f", "revenue": ":$,.2f"},
    )  # fmt: skip
    return figure


def members_table(members: pd.DataFrame) -> None:
    data_table(
        members.assign(source=members["source"].map(readable)),
        labels={"recency_days": "Days since last order", "frequency": "Orders", "monetary": "Revenue"},
        money=("monetary",),
    )


def segment_file_name(segment: str) -> str:
    """'segment_cant_lose_them' for "Can't Lose Them": safe as a download name."""
    return "segment_" + segment.lower().replace(" ", "_").replace("'", "")
