"""Segmentation: source effectiveness, loyalty tiers, RFM segments, segment × source, segment export."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.overview import DEFINITIONS
from crm.analytics.segmentation import (
    SEGMENTS,
    loyalty_tier_distribution,
    rfm_segments,
    segment_customers,
    segment_source_matrix,
    source_effectiveness,
)
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_money, format_percent, kpi_card

RFM_HELP = (
    "RFM: quintile scores 1–5 (ties broken by customer id) of recency, frequency and revenue of "
    "orders not cancelled/refunded in the period; the segment follows from R and the mean of F and M."
)

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Segmentation")
filters = current_filters()
filter_caption(filters, "Customers and orders")
sources = cached(source_effectiveness, filters)
segments = cached(rfm_segments, filters)
if sources.empty and segments["customers"].sum() == 0:
    empty_state()
    st.stop()

st.subheader("Source effectiveness")
best = sources.sort_values("revenue", ascending=False).iloc[0]
cards = st.columns(3)
with cards[0]:
    kpi_card("Top source by revenue", str(best["source"]), DEFINITIONS["revenue"])
with cards[1]:
    new, converted = sources["new_customers"].sum(), sources["converted_customers"].sum()
    kpi_card("Conversion rate", format_percent(converted / new if new else None), DEFINITIONS["conversion_rate"])
with cards[2]:
    kpi_card("Scored customers (RFM)", f"{int(segments['customers'].sum()):,}", RFM_HELP)
filter_caption(filters)
figure = px.bar(
    sources, x="source", y="revenue", color="conversion_rate", color_continuous_scale="Blues",
    title="Revenue and conversion by source",
    labels={"source": "Source", "revenue": "Revenue ($)", "conversion_rate": "Conversion"},
    hover_data={"revenue": ":$,.2f", "conversion_rate": ":.1%", "average_order_value": ":$,.2f", "new_customers": True},
)  # fmt: skip
show_chart(figure, name="segmentation_sources")
st.dataframe(
    sources, hide_index=True,
    column_config={"conversion_rate": st.column_config.NumberColumn("Conversion", format="percent")},
)  # fmt: skip
table_downloads(sources, name="segmentation_sources")

st.subheader("RFM segments")
filter_caption(filters)
scored = segments[segments["customers"] > 0]
figure = px.treemap(
    scored, path=[px.Constant("All scored customers"), "segment"], values="customers", color="average_monetary",
    color_continuous_scale="Teal", title="Customers per RFM segment (colour: revenue per customer)",
    labels={"average_monetary": "Revenue per customer ($)"},
    hover_data={"revenue": ":$,.2f", "average_recency_days": ":.0f"},
)  # fmt: skip
figure.update_traces(root_color="white", textinfo="label+value+percent root")
show_chart(figure, name="segmentation_rfm")
st.dataframe(
    segments, hide_index=True,
    column_config={
        "share": st.column_config.NumberColumn("Share", format="percent"),
        "revenue_share": st.column_config.NumberColumn("Revenue share", format="percent"),
        "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
    },
)  # fmt: skip
table_downloads(segments, name="segmentation_rfm_segments")

matrix = cached(segment_source_matrix, filters)
filter_caption(filters)
figure = px.density_heatmap(
    matrix, x="source", y="segment", z="customers", histfunc="sum", text_auto=True,
    category_orders={"segment": list(SEGMENTS)}, title="Customers per segment and source",
    labels={"source": "Source", "segment": "Segment", "customers": "Customers"},
)  # fmt: skip
figure.update_layout(coloraxis_colorbar_title_text="Customers")
show_chart(figure, name="segmentation_segment_source")

st.subheader("Loyalty tiers")
tiers = cached(loyalty_tier_distribution, filters)
filter_caption(filters, "Revenue orders")
st.caption("Customer counts ignore the date range: a tier is today's points balance.")
figure = px.bar(
    tiers, x="tier", y="customers", title="Customers per loyalty tier (points balance now)",
    labels={"tier": "Tier", "customers": "Customers"},
    hover_data={"min_points": True, "average_points": ":,.0f", "revenue": ":$,.2f"},
)  # fmt: skip
show_chart(figure, name="segmentation_loyalty")

st.subheader("Customers of a segment")
choice = st.selectbox("Segment", list(scored["segment"]) or list(SEGMENTS), key="segmentation_segment")
members = cached(segment_customers, filters, segment=choice)
row = segments.set_index("segment").loc[choice]
st.markdown(f"**{choice}** — {row['description']} *Suggested action:* {row['action']}")
st.caption(f"{len(members):,} customers, revenue {format_money(members['monetary'].sum())}.")
st.dataframe(members, hide_index=True)
table_downloads(members, name=f"segment_{choice.lower().replace(' ', '_').replace(chr(39), '')}", personal=True)
