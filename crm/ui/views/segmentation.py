"""Sections and figures of the Segmentation page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.overview import DEFINITIONS
from crm.analytics.segmentation import SEGMENTS
from crm.ui.widgets import format_percent, kpi_card

__all__ = [
    "RFM_HELP",
    "loyalty_figure",
    "rfm_treemap",
    "segment_file_name",
    "segment_source_figure",
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


def source_cards(sources: pd.DataFrame, scored_customers: int) -> None:
    best = sources.sort_values("revenue", ascending=False).iloc[0]
    new, converted = sources["new_customers"].sum(), sources["converted_customers"].sum()
    cards = st.columns(3)
    with cards[0]:
        kpi_card("Top source by revenue", str(best["source"]), DEFINITIONS["revenue"])
    with cards[1]:
        kpi_card("Conversion rate", format_percent(converted / new if new else None), DEFINITIONS["conversion_rate"])
    with cards[2]:
        kpi_card("Scored customers (RFM)", f"{scored_customers:,}", RFM_HELP)


def source_figure(sources: pd.DataFrame) -> go.Figure:
    return px.bar(
        sources, x="source", y="revenue", color="conversion_rate", color_continuous_scale=READABLE_BLUES,
        title="Revenue and conversion by source",
        labels={"source": "Source", "revenue": "Revenue ($)", "conversion_rate": "Conversion"},
        hover_data={
            "revenue": ":$,.2f", "conversion_rate": ":.1%", "average_order_value": ":$,.2f", "new_customers": True
        },
    )  # fmt: skip


def sources_table(sources: pd.DataFrame) -> None:
    st.dataframe(
        sources, hide_index=True,
        column_config={"conversion_rate": st.column_config.NumberColumn("Conversion", format="percent")},
    )  # fmt: skip


def rfm_treemap(scored: pd.DataFrame) -> go.Figure:
    figure = px.treemap(
        scored, path=[px.Constant("All scored customers"), "segment"], values="customers", color="average_monetary",
        color_continuous_scale="Teal", title="Customers per RFM segment (colour: revenue per customer)",
        labels={"average_monetary": "Revenue per customer ($)"},
        hover_data={"revenue": ":$,.2f", "average_recency_days": ":.0f"},
    )  # fmt: skip
    figure.update_traces(root_color="white", textinfo="label+value+percent root")
    return figure


def segments_table(segments: pd.DataFrame) -> None:
    st.dataframe(
        segments, hide_index=True,
        column_config={
            "share": st.column_config.NumberColumn("Share", format="percent"),
            "revenue_share": st.column_config.NumberColumn("Revenue share", format="percent"),
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
        },
    )  # fmt: skip


def segment_source_figure(matrix: pd.DataFrame) -> go.Figure:
    figure = px.density_heatmap(
        matrix, x="source", y="segment", z="customers", histfunc="sum", text_auto=True,
        category_orders={"segment": list(SEGMENTS)}, title="Customers per segment and source",
        labels={"source": "Source", "segment": "Segment", "customers": "Customers"},
    )  # fmt: skip
    figure.update_layout(coloraxis_colorbar_title_text="Customers")
    return figure


def loyalty_figure(tiers: pd.DataFrame) -> go.Figure:
    return px.bar(
        tiers, x="tier", y="customers", title="Customers per loyalty tier (points balance now)",
        labels={"tier": "Tier", "customers": "Customers"},
        hover_data={"min_points": True, "average_points": ":,.0f", "revenue": ":$,.2f"},
    )  # fmt: skip


def segment_file_name(segment: str) -> str:
    """'segment_cant_lose_them' for "Can't Lose Them": safe as a download name."""
    return "segment_" + segment.lower().replace(" ", "_").replace("'", "")
