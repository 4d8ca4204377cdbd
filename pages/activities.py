"""Activities: interactions (calls, meetings, follow-ups), store visits and their payments, support tickets."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission, allowed
from crm.records import entity_spec, list_records
from crm.ui.cache import cached
from crm.ui.grid import record_grid, record_query
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.visit_form import visit_form

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Activities")
if allowed(actor.role, Permission.EDIT_RECORDS):
    with st.expander("Record a visit", icon=":material/storefront:"):
        visit_form(engine, actor, key="activities_visit")

ENTITIES = ("interactions", "visits", "visit_payments", "tickets")
for tab, entity in zip(st.tabs([entity_spec(name).title for name in ENTITIES]), ENTITIES, strict=True):
    with tab:
        query = record_query(engine, entity, key=entity)
        record_grid(engine, actor, entity, cached(list_records, entity, query), key=entity)
