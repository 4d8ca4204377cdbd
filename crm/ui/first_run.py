"""First start with an empty database: offer to load demo data."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.db import is_empty
from crm.demo import DemoSize, generate_demo
from crm.permissions import Actor, Permission, allowed
from crm.ui.cache import invalidate

__all__ = ["offer_demo_data"]


def offer_demo_data(engine: Engine, actor: Actor) -> bool:
    """Show the demo-data offer while the database has no customers; True while it is shown."""
    if not is_empty(engine):
        return False
    st.info("The database is empty. Import your own data, or load a demo shop to explore Pulse CRM.")
    if not allowed(actor.role, Permission.IMPORT_DATA):
        st.caption("Ask an administrator or manager to load data.")
        return True
    customers = st.number_input("Demo customers", 100, 100_000, 2_000, step=500)
    if st.button("Load demo data", type="primary"):
        with st.spinner("Generating a demo shop…"):
            generate_demo(engine, DemoSize(customers=int(customers), orders=int(customers) * 10), seed=7)
        invalidate()
        st.success("Demo data loaded.")
        st.rerun()
    return True
