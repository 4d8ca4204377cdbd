"""Progressive rendering: a page's KPI cards first, then each chart section as soon as its own data is ready.

A page runs top to bottom, and Streamlit sends each element to the browser as it is drawn.
Cards come first on every analytics page; ``section(draw)`` then draws each chart section where it
is called. (Running sections in parallel fragments, ``st.fragment(parallel=True)``, was tried and is
off: see ``section``.)

A section must draw only into its own place (parallel fragments may not write to containers
created outside them); call it inside ``with column:`` to place it in a column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from crm.filters import Filters
from crm.ui.cache import cached
from crm.ui.charts import show_chart
from crm.ui.widgets import filter_caption

__all__ = ["chart_section", "section"]


def section(draw: Callable[..., None], *arguments: Any) -> None:
    """Draw ``draw(*arguments)``'s elements here, in page order (Streamlit streams each as it is drawn).

    Not in a parallel fragment for now: with parallel fragments on the analytics pages, moving to
    another page through the menu after a sidebar change reset the sidebar's period to its first
    choice ("This month"; browser tests test_analytics_screens and test_layout_widths), so the
    sections run in the page's own run until that is understood.
    """
    draw(*arguments)


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
