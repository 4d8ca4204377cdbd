"""Pulse CRM — router and frame: sign-in gate, role-based navigation, shared filter sidebar."""

from __future__ import annotations

import streamlit as st

from crm.db import UNAVAILABLE_ERRORS, describe_database_error
from crm.ui.login import sign_in, sign_out_button
from crm.ui.navigation import register_role_navigation, register_signed_out_navigation, run_public_page, spec_of
from crm.ui.plain import escape_markdown
from crm.ui.resources import get_engine
from crm.ui.sidebar import render_filter_sidebar
from crm.ui.widgets import apply_page_style

st.set_page_config(page_title="Pulse CRM", page_icon=":material/monitoring:", layout="wide")
apply_page_style()  # KPI values wrap and shrink instead of being cut off (crm/ui/widgets.py KPI_STYLE)

engine = None
actor = None
try:
    engine = get_engine()
    if run_public_page():  # an unsubscribe link: no sign-in, the signed token in it is the proof
        st.stop()
    actor = sign_in(engine)
except UNAVAILABLE_ERRORS as error:  # unreachable at start, or gone since: one line, never a traceback
    st.error(describe_database_error(error, engine))
if actor is None:
    # Registered before stopping: without any st.navigation Streamlit lists the raw pages/ files.
    register_signed_out_navigation()
    st.stop()

navigation = register_role_navigation(actor.role)
if navigation is None:
    register_signed_out_navigation()
    st.error(f"Your role ({actor.role}) has no pages. Ask an administrator.")
    st.stop()
st.sidebar.caption(f"Signed in as **{escape_markdown(actor.username)}** ({actor.role})")
sign_out_button(engine)
current_spec = spec_of(navigation)
if current_spec is not None and current_spec.uses_filters:
    render_filter_sidebar(engine, actor, current_spec.url_path)
try:
    navigation.run()
except UNAVAILABLE_ERRORS as error:  # the database went away while the page ran
    st.error(describe_database_error(error, engine))
