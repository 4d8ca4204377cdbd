"""Process-wide resources held by Streamlit: the engine (migrated on first use)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.db import init_database, make_engine
from crm.settings import get_settings
from crm.ui.session import ensure_navigation_mode

__all__ = ["database_url", "get_engine"]


def database_url() -> str:
    return get_settings().database_url


@st.cache_resource(show_spinner="Opening the database…")
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    init_database(engine)  # create or migrate the schema before the first page uses it
    return engine


def get_engine() -> Engine:
    """The app's engine for ``CRM_DATABASE_URL``; raises ``DatabaseUnavailable`` with a one-line reason."""
    # Pages call this first: the first request after a server start, run as a bare pages/ file,
    # goes through Home.py (which shows a database error in one line) before the database is opened.
    ensure_navigation_mode()
    return _engine_for(database_url())
