"""Stored text shown as plain text: the one way the app shows what a user or an import wrote.

Streamlit renders Markdown (and its own extensions: ``:emoji:`` shortcodes, ``:red[...]`` colours,
``$...$`` maths) in titles, subheaders, captions, alerts, toasts, metric and expander labels,
radio/pills/segmented-control options, ``st.write`` and ``st.markdown``.
A customer name like ``![x](https://evil.example/pixel.png)`` would make every staff member's
browser fetch that URL. ``escape_markdown`` backslash-escapes every ASCII punctuation character
(CommonMark makes any escaped punctuation literal), so the value reads exactly as stored and nothing
in it is interpreted; web addresses get an invisible word joiner so that GFM's autolinks (applied
after parsing, escapes or not) do not make them clickable. Headings and captions are one line;
paragraphs keep the writer's line breaks.
(Selectbox and multiselect options and table cells are shown as plain text by Streamlit itself.)

Plotly renders a subset of HTML in every chart text (``<a href>``, ``<b>``, ``<br>``, ``<span
style>``) and decodes entities, so ``plain_figure`` escapes ``& < >`` in every stored value a
figure carries: category axes, labels, legend names, hover text and the values Plotly Express
writes into hover templates. ``show_chart`` (crm/ui/charts.py) applies it to every chart, on
screen and in its downloads; code-written titles and templates keep their formatting.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

__all__ = [
    "escape_chart_text",
    "escape_markdown",
    "plain_bullets",
    "plain_caption",
    "plain_figure",
    "plain_heading",
    "plain_text",
]

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and then means itself.
_ESCAPES = {ord(character): "\\" + character for character in string.punctuation}
# GitHub-flavoured Markdown (which Streamlit uses) turns text like http://… and www.… into links
# after parsing, so escapes cannot stop it; an invisible word joiner after "http"/"https"/"www"
# breaks the pattern without changing what the reader sees.
_AUTOLINK_START = re.compile(r"(?i)(https?(?=://)|www(?=\.))")
_WORD_JOINER = "\u2060"
# Plotly's text markup: tags and entities; as entities these three read as themselves.
_CHART_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
# Trace properties that hold data values Plotly shows as text (axis categories, labels, hover).
_TRACE_TEXT_PROPERTIES = ("x", "y", "z", "text", "hovertext", "labels", "parents", "ids", "customdata")
# Layout properties of every axis that repeat the category values (their order, their tick labels).
_AXIS_TEXT_PROPERTIES = ("categoryarray", "tickvals", "ticktext")


def escape_markdown(value: object, *, keep_line_breaks: bool = False) -> str:
    """``value`` as Markdown source that renders as exactly its text (missing → "").

    Line breaks become spaces (a title or caption is one line), or hard line breaks when
    ``keep_line_breaks``: with every punctuation character escaped no line can start a block.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escaped = [_AUTOLINK_START.sub("\\1" + _WORD_JOINER, line).translate(_ESCAPES) for line in lines]
    return "  \n".join(escaped) if keep_line_breaks else " ".join(escaped)


def plain_text(value: object) -> None:
    """A paragraph of stored text (notes, message bodies): the writer's line breaks, nothing interpreted."""
    st.markdown(escape_markdown(value, keep_line_breaks=True))


def plain_caption(value: object) -> None:
    st.caption(escape_markdown(value))


def plain_heading(value: object) -> None:
    st.subheader(escape_markdown(value), anchor=False)


def plain_bullets(items: Iterable[object]) -> str:
    """A Markdown bullet list whose items (messages quoting stored values) read as plain text."""
    return "\n".join(f"- {escape_markdown(item)}" for item in items)


# --- charts --------------------------------------------------------------------------------


def escape_chart_text(value: object) -> object:
    """A stored text as Plotly shows it literally (``<b>`` stays ``<b>``); other values unchanged."""
    return value.translate(_CHART_ESCAPES) if isinstance(value, str) else value


def _escaped_values(values: Any) -> Any:
    """``values`` (a scalar, list, tuple or NumPy array, nested for customdata) with its strings escaped."""
    if isinstance(values, str):
        return escape_chart_text(values)
    if isinstance(values, np.ndarray):
        if values.dtype.kind in "OUS":
            return np.vectorize(escape_chart_text, otypes=[object])(values) if values.size else values
        return values
    if isinstance(values, (list, tuple)):
        return type(values)(_escaped_values(value) for value in values)
    return values


def _escape_template(template: str, raw_values: Iterable[str]) -> str:
    # Plotly Express writes the group a trace stands for into its hover template ("source=<value>").
    for raw in sorted(set(raw_values), key=len, reverse=True):
        escaped = escape_chart_text(raw)
        if raw and escaped != raw:
            template = template.replace(f"={raw}", f"={escaped}")
    return template


def plain_figure(figure: go.Figure) -> go.Figure:
    """A copy of ``figure`` in which every stored value reads as plain text in Plotly (no tags, no links).

    Escapes ``& < >`` in the traces' data text (categories, labels, hover text, custom data), their
    names and legend groups, the group values Plotly Express wrote into hover templates, and the
    axes' category arrays and tick labels. Titles, axis titles and templates written in code keep
    their markup.
    """
    safe = go.Figure(figure)
    for trace in safe.data:
        updates: dict[str, Any] = {}
        for prop in _TRACE_TEXT_PROPERTIES:
            if prop in trace and trace[prop] is not None:
                updates[prop] = _escaped_values(trace[prop])
        groups: list[str] = []
        for prop in ("name", "legendgroup"):
            value = getattr(trace, prop, None)
            if isinstance(value, str):
                groups.extend(value.split(", "))
                groups.append(value)
                updates[prop] = escape_chart_text(value)
        for prop in ("hovertemplate", "texttemplate"):
            template = getattr(trace, prop, None)
            if isinstance(template, str) and groups:
                updates[prop] = _escape_template(template, groups)
        trace.update(updates)
    for axis_name in [name for name in safe.layout if name.startswith(("xaxis", "yaxis"))]:
        axis = safe.layout[axis_name]
        updates = {prop: _escaped_values(axis[prop]) for prop in _AXIS_TEXT_PROPERTIES if axis[prop] is not None}
        if updates:
            axis.update(updates)
    return safe
