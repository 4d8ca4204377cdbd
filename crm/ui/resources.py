"""Process-wide resources held by Streamlit: the engine (migrated on first use) and the analytics read engine."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.db import init_database, make_engine
from crm.settings import get_settings
from crm.ui.session import ensure_navigation_mode

__all__ = ["database_url", "get_engine", "get_read_engine", "read_database_url"]


def database_url() -> str:
    return get_settings().database_url


def read_database_url() -> str:
    """Where analytics read: ``CRM_DATABASE_READ_URL`` (a read replica) or else ``CRM_DATABASE_URL``."""
    return get_settings().analytics_url


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


@st.cache_resource(show_spinner=False)
def _read_engine_for(url: str) -> Engine:
    # Never migrated from here: a replica is read-only and receives the primary's migrations.
    return make_engine(url)


def get_read_engine() -> Engine:
    """The engine analytics read from: the read replica when configured, else the app's engine.

    Only reads go here (crm/ui/cache.py routes analytics calls to it); writes always use ``get_engine``.
    """
    engine = get_engine()  # the primary is opened (and migrated) first in any case
    url = read_database_url()
    return engine if url == database_url() else _read_engine_for(url)
