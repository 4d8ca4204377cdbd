"""Cached calls into ``crm``, keyed by the data version so every app server sees every committed write.

``cached(function, filters, ...)`` caches by (function, database, data version, arguments); the
``Filters`` dataclass is hashable, so it is part of the key.

The data version (crm/data_version.py) is a counter bumped in the commit of every transaction
that changed data, whichever process wrote it: another app server on the same PostgreSQL, or
``python -m crm import``. It is read once per page run (one primary-key lookup) and put into
every key, so a run after a committed write computes afresh on every server, while runs
without writes reuse the cached results. Sign-ins and exports do not bump it: they leave
analytics cached. ``invalidate()`` (called by writers in this process) also forgets the
version read in this run, so what the run draws after its own write is fresh too.

Analytics (every function outside ``crm.records``) read from the read engine: the read
replica of ``CRM_DATABASE_READ_URL`` when set, else the main database. The version is read
from the same database the data comes from, so a lagging replica never gets its old rows
cached under a new version. Record reads (grids, pickers, the 360 view) always use the main
database: people edit from them, and optimistic locking compares with the primary.

The time to live only bounds memory now (entries under old versions are never asked for
again); records keep a short one for changes made outside the app (psql), which bump nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine
from streamlit.runtime.scriptrunner import get_script_run_ctx

from crm.data_version import read_data_version
from crm.ui.resources import database_url, get_engine, get_read_engine, read_database_url

__all__ = ["CACHE_SECONDS", "RECORD_CACHE_SECONDS", "cached", "current_data_version", "invalidate"]

ResultT = TypeVar("ResultT")

# Analytics results stay for 10 minutes unused (memory bound; freshness comes from the data version).
CACHE_SECONDS = 600
# Record reads: a change made outside the app (no data version bump) shows within this many seconds.
RECORD_CACHE_SECONDS = 15
# Analytics modules that also write (stored CLV fits): they read and write the main database.
_PRIMARY_MODULES = ("crm.analytics.clv.stored",)
# session_state key of (this run's marker, {database URL: data version}).
_VERSIONS_KEY = "_crm_data_versions"


def _engine_for(url: str) -> Engine:
    return get_engine() if url == database_url() else get_read_engine()


def _run(function_path: str, url: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    module_name, _, name = function_path.partition(":")
    function = getattr(importlib.import_module(module_name), name)
    return function(_engine_for(url), *args, **dict(kwargs))


@st.cache_data(ttl=CACHE_SECONDS, max_entries=1000, show_spinner=False)
def _call(
    function_path: str, url: str, data_version: int, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> Any:
    return _run(function_path, url, args, kwargs)


@st.cache_data(ttl=RECORD_CACHE_SECONDS, max_entries=1000, show_spinner=False)
def _call_records(
    function_path: str, url: str, data_version: int, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]
) -> Any:
    return _run(function_path, url, args, kwargs)


def _run_marker() -> object | None:
    """An object that is the same throughout one script run and new in the next (None outside a run)."""
    context = get_script_run_ctx(suppress_warning=True)
    # Streamlit gives every run (and every fragment run) a fresh cursors dict; holding on to it
    # in session_state keeps it alive, so an identity comparison cannot be fooled by a reused id.
    return None if context is None else context.cursors


def current_data_version(url: str | None = None) -> int:
    """The data version of ``url`` (default: the analytics database), read once per page run."""
    url = url or read_database_url()
    marker = _run_marker()
    if marker is None:
        return read_data_version(_engine_for(url))
    stored = st.session_state.get(_VERSIONS_KEY)
    if stored is None or stored[0] is not marker:
        stored = (marker, {})
        st.session_state[_VERSIONS_KEY] = stored
    versions: dict[str, int] = stored[1]
    if url not in versions:
        versions[url] = read_data_version(_engine_for(url))
    return versions[url]


def cached(function: Callable[..., ResultT], *args: Any, **kwargs: Any) -> ResultT:
    """``function(engine, *args, **kwargs)``, cached until data changes (on any server) or its time to live."""
    path = f"{function.__module__}:{function.__qualname__}"
    if function.__module__.startswith("crm.records"):
        call, url = _call_records, database_url()
    elif function.__module__ in _PRIMARY_MODULES:
        call, url = _call, database_url()
    else:
        call, url = _call, read_database_url()
    return call(path, url, current_data_version(url), args, tuple(sorted(kwargs.items())))


def invalidate() -> None:
    """Forget every cached result and this run's data version; call after any write to the database."""
    _call.clear()
    _call_records.clear()
    if _run_marker() is not None:
        st.session_state.pop(_VERSIONS_KEY, None)
