"""Cached calls into ``crm``, cleared after every write.

``cached(function, filters, ...)`` caches by (function, database, arguments); the
``Filters`` dataclass is hashable, so it is part of the key. Writers call
``invalidate()`` so the next page run recomputes.

``invalidate()`` only reaches this server process. Writes by another process (a second app
server on the same PostgreSQL, ``python -m crm import``) show up when the entry expires:
record reads (functions of ``crm.records``: grid pages, pickers, the 360 view) expire after
RECORD_CACHE_SECONDS, because people edit from them and should see another's change within
seconds; they are one page of rows, so re-reading is cheap. Analytics expire after
CACHE_SECONDS: they are costly and a few minutes' lag in a trend is harmless. Saving stale
rows is still impossible (optimistic locking), and the conflict message clears the cache.
A data-version probe in the key (max(updated_at) of a table) was not chosen: it costs a query
per table on every run and misses deletes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from crm.ui.resources import database_url, get_engine

__all__ = ["CACHE_SECONDS", "RECORD_CACHE_SECONDS", "cached", "invalidate"]

ResultT = TypeVar("ResultT")

# Analytics results stay for 10 minutes without writes in this process (see the module docstring).
CACHE_SECONDS = 600
# Record reads: another process's change shows within this many seconds.
RECORD_CACHE_SECONDS = 15


def _run(function_path: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    module_name, _, name = function_path.partition(":")
    function = getattr(importlib.import_module(module_name), name)
    return function(get_engine(), *args, **dict(kwargs))


@st.cache_data(ttl=CACHE_SECONDS, max_entries=1000, show_spinner=False)
def _call(function_path: str, url: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return _run(function_path, args, kwargs)


@st.cache_data(ttl=RECORD_CACHE_SECONDS, max_entries=1000, show_spinner=False)
def _call_records(function_path: str, url: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return _run(function_path, args, kwargs)


def cached(function: Callable[..., ResultT], *args: Any, **kwargs: Any) -> ResultT:
    """``function(engine, *args, **kwargs)``, cached until the next write or its time to live."""
    path = f"{function.__module__}:{function.__qualname__}"
    call = _call_records if function.__module__.startswith("crm.records") else _call
    return call(path, database_url(), args, tuple(sorted(kwargs.items())))


def invalidate() -> None:
    """Forget every cached result; call after any write to the database."""
    _call.clear()
    _call_records.clear()
