"""Segments: build a rule (nested AND/OR/NOT groups), see who matches now, save it for campaigns."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.ui import segment_builder as builder
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.MANAGE_SEGMENTS)
st.title("Segments")
st.caption(
    "Customers who match a rule today. Behaviour fields count orders that are not cancelled or refunded; "
    "days and ages are measured on today in the app's time zone."
)
count_slot = st.empty()  # the live count stays above the builder; filled once the rule is read
rules = builder.rule_builder()
builder.rules_json_panel(rules)
members_column, saved_column = st.columns([3, 2], gap="large")
with members_column:
    st.subheader("Members now")
    builder.segment_preview(engine, actor, rules, file_name="segment_members", count_slot=count_slot)
with saved_column:
    st.subheader("Saved segments")
    builder.saved_segments_panel(engine, actor, rules)
