"""Pulse CRM — router and frame: sign-in gate, role-based navigation, shared filter sidebar."""

from __future__ import annotations

import streamlit as st

from crm.db import DatabaseUnavailable
from crm.ui.login import sign_in, sign_out_button
from crm.ui.navigation import register_role_navigation, register_signed_out_navigation, spec_of
from crm.ui.resources import get_engine
from crm.ui.sidebar import render_filter_sidebar

st.set_page_config(page_title="Pulse CRM", page_icon=":material/monitoring:", layout="wide")

try:
    engine = get_engine()
except DatabaseUnavailable as error:
    st.error(str(error))
    st.stop()

actor = sign_in(engine)
if actor is None:
    register_signed_out_navigation()
    st.stop()

navigation = register_role_navigation(actor.role)
if navigation is None:
    register_signed_out_navigation()
    st.error(f"Your role ({actor.role}) has no pages. Ask an administrator.")
    st.stop()
st.sidebar.caption(f"Signed in as **{actor.username}** ({actor.role})")
sign_out_button(engine)
current_spec = spec_of(navigation)
if current_spec is not None and current_spec.uses_filters:
    render_filter_sidebar()
navigation.run()
