"""Progressive rendering: a page's KPI cards first, then each chart section as soon as its own data is ready.

A page runs top to bottom, and Streamlit sends each element to the browser as it is drawn.
Cards come first on every analytics page; ``section(draw)`` then runs each chart section in a
*parallel* fragment (Streamlit's worker threads, ``st.fragment(parallel=True)``): the section's
place on the page is fixed where it is called, its queries run while the page goes on, and a
slow section (say the age-group chart) no longer holds back the sections after it. Database
drivers release the GIL while a query runs, so the queries of several sections overlap, and
``st.cache_data`` is shared by all threads. A widget inside a section reruns only that section.

A section must draw only into its own place (parallel fragments may not write to containers
created outside them); call it inside ``with column:`` to place it in a column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from crm.filters import Filters
from crm.ui.cache import cached
from crm.ui.charts import show_chart
from crm.ui.widgets import filter_caption

__all__ = ["chart_section", "section"]


def section(draw: Callable[..., None], *arguments: Any) -> None:
    """Draw ``draw(*arguments)``'s elements here, computing them in parallel with the rest of the page."""
    st.fragment(draw, parallel=True)(*arguments)


def _chart(
    load: Callable[..., Any],
    filters: Filters,
    figure_for: Callable[[Any], go.Figure],
    name: str,
    subject: str,
    arguments: tuple[tuple[str, Any], ...],
) -> None:
    frame = cached(load, filters, **dict(arguments))
    filter_caption(filters, subject)
    show_chart(figure_for(frame), name=name)


def chart_section(
    load: Callable[..., Any],
    filters: Filters,
    figure_for: Callable[[Any], go.Figure],
    *,
    name: str,
    subject: str = "Orders",
    **arguments: Any,
) -> None:
    """One chart as a ``section``: ``cached(load, filters, **arguments)``, its caption, ``figure_for(result)``."""
    section(_chart, load, filters, figure_for, name, subject, tuple(sorted(arguments.items())))
