"""Pulse CRM — router and frame: sign-in gate, role-based navigation, shared filter sidebar."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from crm.db import DatabaseUnavailable
from crm.ui.login import sign_in, sign_out_button
from crm.ui.navigation import PAGES, pages_for_role
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
    # Registering a hidden navigation keeps Streamlit from listing the pages/ folder to signed-out visitors.
    # It holds every page's URL (running nothing), so a deep link keeps its address through the sign-in form.
    st.navigation(
        [st.Page(lambda: None, title="Sign in", url_path="sign-in", default=True)]
        + [st.Page(lambda: None, title=spec.title, url_path=Path(spec.path).stem) for spec in PAGES],
        position="hidden",
    )
    st.stop()

specs = pages_for_role(actor.role)
if not specs:
    st.error(f"Your role ({actor.role}) has no pages. Ask an administrator.")
    st.stop()
sections: dict[str, list[st.Page]] = {}
for spec in specs:
    page = st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec is specs[0])
    sections.setdefault(spec.section, []).append(page)
navigation = st.navigation(sections, expanded=True)  # every allowed page visible, no "View more"

st.sidebar.caption(f"Signed in as **{actor.username}** ({actor.role})")
sign_out_button(engine)
current_spec = next((spec for spec in specs if spec.title == navigation.title), None)
if current_spec is not None and current_spec.uses_filters:
    render_filter_sidebar()
navigation.run()
