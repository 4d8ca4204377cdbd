"""Markdown written by staff (knowledge-base articles, FAQ answers) turned into HTML that cannot run anything.

markdown-it-py in CommonMark mode with raw HTML off: ``<script>``, ``<iframe>``, ``onerror=`` and every
other tag in the source come out as escaped text. Links keep only http(s), mailto and in-app
(relative or ``#``) targets; anything else (``javascript:``, ``data:``, ``vbscript:``, ``file:``) stays
plain text. Images are not rendered at all (their alt text is kept): an image from any server would
make every reader's browser fetch it. The app shows the result with ``st.html``, whose DOMPurify pass
is a second net, not the first.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

__all__ = ["SAFE_LINK_SCHEMES", "is_safe_link", "render_markdown"]

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def is_safe_link(url: str) -> bool:
    """True for http(s)/mailto URLs and in-app links (relative paths, ``#anchors``, ``?query``)."""
    # Browsers ignore control characters and spaces inside a scheme ("java\tscript:"), so they go first.
    cleaned = "".join(character for character in url if character.isprintable() and not character.isspace())
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return False
    if scheme:
        return scheme in SAFE_LINK_SCHEMES
    # No scheme: a relative link, unless it smuggles one past urlsplit (e.g. "//host" is another site).
    return not cleaned.startswith("//") and ":" not in cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.validateLink = is_safe_link  # type: ignore[method-assign]
    parser.disable("image")
    return parser


_PARSER = _parser()


def render_markdown(source: str) -> str:
    """HTML for ``source``: Markdown formatting only, raw HTML escaped, unsafe links left as text."""
    rendered = _PARSER.render(source or "")
    # Links open outside the app and tell the target nothing about where they came from.
    return rendered.replace("<a href=", '<a rel="noopener noreferrer nofollow" target="_blank" href=')


def escape_text(value: str) -> str:
    """Plain text as HTML text (quotes included)."""
    return html.escape(value, quote=True)
