"""Cached calls into ``crm`` analytics, cleared after every write.

``cached(function, filters, ...)`` caches by (function, database, arguments); the
``Filters`` dataclass is hashable, so it is part of the key. Writers call
``invalidate()`` so the next page run recomputes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from crm.ui.resources import database_url, get_engine

__all__ = ["cached", "invalidate"]

ResultT = TypeVar("ResultT")

# Results stay fresh for 10 minutes even without writes (other processes, e.g. the CLI, may write).
CACHE_SECONDS = 600


@st.cache_data(ttl=CACHE_SECONDS, max_entries=1000, show_spinner=False)
def _call(function_path: str, url: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    module_name, _, name = function_path.partition(":")
    function = getattr(importlib.import_module(module_name), name)
    return function(get_engine(), *args, **dict(kwargs))


def cached(function: Callable[..., ResultT], *args: Any, **kwargs: Any) -> ResultT:
    """``function(engine, *args, **kwargs)``, cached until the next write or for CACHE_SECONDS."""
    path = f"{function.__module__}:{function.__qualname__}"
    return _call(path, database_url(), args, tuple(sorted(kwargs.items())))


def invalidate() -> None:
    """Forget every cached result; call after any write to the database."""
    _call.clear()
