"""Unsubscribe: the page an unsubscribe link opens; no sign-in, the signed token in the link is the proof."""

from __future__ import annotations

import streamlit as st

from crm.ui.campaign_view import unsubscribe_form
from crm.ui.resources import get_engine

engine = get_engine()
st.title("Unsubscribe")
unsubscribe_form(engine, st.query_params.get("token"))
