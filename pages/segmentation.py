"""Segmentation: source effectiveness, RFM segments, segment × source, loyalty, segment export."""

from __future__ import annotations

import streamlit as st

from crm.analytics.segmentation import (
    rfm_cells,
    rfm_segments_from,
    segment_customers,
    segment_source_matrix_from,
    source_effectiveness,
)
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.loyalty_view import loyalty_analytics, loyalty_settings
from crm.ui.progressive import chart_section
from crm.ui.resources import get_engine
from crm.ui.segment_builder import save_filters_as_segment
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.views import segmentation as view
from crm.ui.widgets import empty_state, filter_caption, format_money

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Segmentation")
filters = current_filters()
filter_caption(filters, "Customers and orders")
sources = cached(source_effectiveness, filters)
rfm = cached(rfm_cells, filters)  # customers scored once for the segments and the segment × source matrix
segments = rfm_segments_from(rfm)
scored = segments[segments["customers"] > 0]
if sources.empty and scored.empty:
    empty_state()
    st.stop()

st.subheader("Source effectiveness")
view.source_cards(sources, int(segments["customers"].sum()))
filter_caption(filters)
show_chart(view.source_figure(sources), name="segmentation_sources")
view.sources_table(sources)
table_downloads(sources, name="segmentation_sources")

st.subheader("RFM segments")
filter_caption(filters)
if scored.empty:
    empty_state(view.NO_SCORED_CUSTOMERS)
else:
    show_chart(view.rfm_treemap(scored), name="segmentation_rfm")
    view.segments_table(segments)
    table_downloads(segments, name="segmentation_rfm_segments")
    chart_section(
        rfm_cells,
        filters,
        lambda cells: view.segment_source_figure(segment_source_matrix_from(cells)),
        name="segmentation_segment_source",
    )

loyalty_analytics(engine, filters)
loyalty_settings(engine, actor)

if not scored.empty:
    st.subheader("Customers of a segment")
    choice = st.selectbox("Segment", list(scored["segment"]), key="segmentation_segment")
    members = cached(segment_customers, filters, segment=choice)
    row = segments.set_index("segment").loc[choice]
    st.markdown(f"**{choice}** — {row['description']} *Suggested action:* {row['action']}")
    st.caption(f"{len(members):,} customers, revenue {format_money(members['monetary'].sum())}.")
    view.members_table(members)
    table_downloads(members, name=view.segment_file_name(choice), personal=True)
    st.caption("A saved segment uses RFM over all orders up to today and the sidebar's customer filters.")
    save_filters_as_segment(
        engine, actor, filters, {"field": "rfm_segment", "op": "=", "value": choice}, key="rfm", default_name=choice
    )
