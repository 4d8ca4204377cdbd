"""Stored text shown as plain text: the one way the app shows what a user or an import wrote.

Streamlit renders Markdown (and its own extensions: ``:emoji:`` shortcodes, ``:red[...]`` colours,
``$...$`` maths) in titles, subheaders, captions, metric labels, ``st.write`` and ``st.markdown``.
A customer name like ``![x](https://evil.example/pixel.png)`` would make every staff member's
browser fetch that URL. ``escape_markdown`` backslash-escapes every ASCII punctuation character
(CommonMark makes any escaped punctuation literal), so the value reads exactly as stored and nothing
in it is interpreted. Headings and captions are one line; paragraphs keep the writer's line breaks.
"""

from __future__ import annotations

import string

import pandas as pd
import streamlit as st

__all__ = ["escape_markdown", "plain_caption", "plain_heading", "plain_text"]

# Every ASCII punctuation character may be backslash-escaped in CommonMark, and then means itself.
_ESCAPES = {ord(character): "\\" + character for character in string.punctuation}


def escape_markdown(value: object, *, keep_line_breaks: bool = False) -> str:
    """``value`` as Markdown source that renders as exactly its text (missing → "").

    Line breaks become spaces (a title or caption is one line), or hard line breaks when
    ``keep_line_breaks``: with every punctuation character escaped no line can start a block.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escaped = [line.translate(_ESCAPES) for line in lines]
    return "  \n".join(escaped) if keep_line_breaks else " ".join(escaped)


def plain_text(value: object) -> None:
    """A paragraph of stored text (notes, message bodies): the writer's line breaks, nothing interpreted."""
    st.markdown(escape_markdown(value, keep_line_breaks=True))


def plain_caption(value: object) -> None:
    st.caption(escape_markdown(value))


def plain_heading(value: object) -> None:
    st.subheader(escape_markdown(value), anchor=False)
