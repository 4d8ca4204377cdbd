"""Definitions: every KPI name the pages show and what it counts (the glossary, crm/glossary.py)."""

from __future__ import annotations

import streamlit as st

from crm.glossary import GLOSSARY, TOPICS
from crm.permissions import Permission
from crm.ui.plain import escape_markdown
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
require_page_permission(engine, Permission.VIEW_RECORDS)  # every signed-in role
st.title("Definitions")
st.caption(
    "One name, one number: a KPI with the same name is computed the same way on every page. "
    "Where two pages measure different things, their names differ. “N months” is the horizon chosen on a page."
)
search = st.text_input("Find a term", key="definitions_search", placeholder="e.g. orders, revenue, churn")
wanted = search.strip().lower()
shown = 0
for topic in TOPICS:
    terms = [term for term in GLOSSARY.values() if term.topic == topic]
    terms = [term for term in terms if wanted in term.name.lower() or wanted in term.definition.lower()]
    if not terms:
        continue
    st.subheader(topic)
    for term in terms:
        st.markdown(f"**{escape_markdown(term.name)}** — {escape_markdown(term.definition)}")
    shown += len(terms)
if not shown:
    st.info("No term matches that search.", icon=":material/search_off:")
