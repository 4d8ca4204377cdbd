"""Stored text is shown as plain text: Markdown escaping, chart label escaping, and Customer 360 end to end."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import plotly.express as px
import pytest
from markdown_it import MarkdownIt
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from crm.schema import customers
from crm.ui.plain import escape_chart_text, escape_markdown, plain_bullets, plain_figure
from tests.fixtures.hostile_strings import HARMLESS_STRINGS, MARKUP_STRINGS
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as

WORD_JOINER = "\u2060"
# CommonMark with raw HTML allowed: the strictest reading (Streamlit itself refuses raw HTML).
_MARKDOWN = MarkdownIt("commonmark")
# Streamlit's own Markdown directives, which CommonMark does not know: every one starts with : or $.
_STREAMLIT_DIRECTIVES = (":red[", ":material/", ":smile:", "$x$")


def _rendered(markdown: str) -> str:
    """The HTML CommonMark makes of ``markdown``, without the paragraph around it."""
    return _MARKDOWN.render(markdown).strip().removeprefix("<p>").removesuffix("</p>")


@pytest.mark.parametrize("text", MARKUP_STRINGS + HARMLESS_STRINGS)
def test_escaped_markdown_renders_as_exactly_the_stored_text(text: str) -> None:
    rendered = _rendered(escape_markdown(text))
    # Only text (entities for & < > "), no element: no <img>, <a>, <script>, <strong>, <h1>, <ol>…
    assert "<" not in rendered.replace("&lt;", "")
    # The only addition is the invisible word joiner that keeps web addresses from becoming links.
    assert html.unescape(rendered).replace(WORD_JOINER, "") == text.replace("\n", " ")


@pytest.mark.parametrize(
    "text", ["http://evil.example/x", "see HTTPS://evil.example", "www.evil.example", "x http://a.example/b"]
)
def test_web_addresses_are_broken_up_so_gfm_does_not_make_them_links(text: str) -> None:
    # GFM's autolink pattern ("http://", "https://" or "www." in the parsed text) no longer matches.
    shown = html.unescape(_rendered(escape_markdown(text)))
    assert not re.search(r"(?i)(https?://|www\.)", shown)
    assert shown.replace(WORD_JOINER, "") == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("![x](http://evil.example/p.png)", "\\!\\[x\\]\\(http\u2060\\:\\/\\/evil\\.example\\/p\\.png\\)"),
        ("[click](javascript:alert(1))", r"\[click\]\(javascript\:alert\(1\)\)"),
        ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert\(1\)\>"),
        ("<script>", r"\<script\>"),
        (":red[x]", r"\:red\[x\]"),
        ("$x$", r"\$x\$"),
    ],
)
def test_every_markup_character_is_backslash_escaped(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def test_streamlit_directives_lose_their_opening_character() -> None:
    for text in _STREAMLIT_DIRECTIVES:
        assert escape_markdown(text).startswith("\\" + text[0])


def test_paragraphs_keep_line_breaks_and_headings_are_one_line() -> None:
    assert escape_markdown("one\n# two", keep_line_breaks=True) == "one  \n\\# two"
    assert escape_markdown("one\r\ntwo") == "one two"
    assert escape_markdown(None) == "" and escape_markdown(float("nan")) == ""


def test_bullets_escape_each_message_but_stay_a_list() -> None:
    rendered = _MARKDOWN.render(plain_bullets(["Row 1, name: ![x](http://evil.example/p.png)", "<b>2</b>"]))
    assert rendered.count("<li>") == 2 and "<img" not in rendered and "<b>" not in rendered


# --- charts --------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    """Every string anywhere in a figure's JSON structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif hasattr(value, "tolist"):
        yield from _strings(value.tolist())


_HOSTILE_TAGS = ("<a ", "<a>", "<img", "<script", "<b>", "<span")


def _hostile_chart_frame() -> pd.DataFrame:
    sources = ["<a href='http://evil.example'>web</a>", "<b>store</b><br>x", "<img src=x onerror=alert(1)>", "a & b"]
    return pd.DataFrame({"source": sources, "month": ["Jan", "Feb", "Mar", "Apr"], "revenue": [1.0, 2.0, 3.0, 4.0]})


def test_plain_figure_escapes_categories_legend_names_and_hover_values_but_not_the_code_templates() -> None:
    frame = _hostile_chart_frame()
    columns = px.bar(frame, x="source", y="revenue", category_orders={"source": list(frame["source"])})
    bars = px.bar(frame, x="month", y="revenue", color="source")
    pie = px.pie(frame, names="source", values="revenue", hover_data=["month"])
    for figure in (columns, bars, pie):
        safe = plain_figure(figure)
        strings = list(_strings(json.loads(json.dumps(safe.to_plotly_json(), default=list))))
        assert not [text for text in strings if any(tag in text for tag in _HOSTILE_TAGS)]
        assert any("&lt;a href='http://evil.example'&gt;web&lt;/a&gt;" in text for text in strings)
        assert any("a &amp; b" in text for text in strings)
    safe_bars = plain_figure(bars)
    # Plotly Express's own templates keep their line breaks; the group value inside is escaped.
    assert safe_bars.data[0].hovertemplate.startswith("source=&lt;a href=")
    assert "<br>revenue=%{y}" in safe_bars.data[0].hovertemplate
    categories = list(plain_figure(columns).layout.xaxis.categoryarray)
    assert categories == [escape_chart_text(text) for text in frame["source"]]
    # The original figure is left as it was.
    assert bars.data[0].name == frame["source"][0]


def test_numbers_and_dates_in_a_figure_are_left_alone() -> None:
    frame = pd.DataFrame({"day": pd.to_datetime(["2025-01-01", "2025-01-02"]), "revenue": [1.5, 2.5]})
    figure = px.line(frame, x="day", y="revenue")
    safe = plain_figure(figure)
    assert list(safe.data[0].y) == [1.5, 2.5]
    assert list(safe.data[0].x) == list(figure.data[0].x)


def _chart_script() -> None:
    import pandas as pd
    import plotly.express as px

    from crm.ui.charts import show_chart

    frame = pd.DataFrame({"source": ["<a href='http://evil.example'>web</a>"], "revenue": [1.0]})
    show_chart(px.bar(frame, x="source", y="revenue", title="Revenue by source"), name="sources", downloads=False)


def test_every_chart_the_app_shows_goes_through_plain_figure() -> None:
    app = AppTest.from_function(_chart_script).run()
    assert not app.exception
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    strings = list(_strings(spec))
    assert not [text for text in strings if "<a " in text]
    assert "&lt;a href='http://evil.example'&gt;web&lt;/a&gt;" in strings
    assert "Revenue by source" in strings  # the code-written title as written


# --- Customer 360 end to end ---------------------------------------------------------------

HOSTILE_CUSTOMER = {
    "first_name": "![x](http://evil.example/p.png)",
    "last_name": "[click](javascript:alert(1))",
    "company": "<img src=x onerror=alert(1)>",
    "city": ":red[Oslo] $x$",
    "notes": "<script>alert(1)</script>\n**not bold** ![y](http://evil.example/q.png)",
}


@pytest.fixture
def hostile_shop_url(sqlite_engine: Engine) -> str:
    """The tiny shop whose first customer (Alice) was renamed, relocated and annotated by an attacker."""
    load_tiny_shop(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 1).values(**HOSTILE_CUSTOMER))
    return sqlite_engine.url.render_as_string(hide_password=False)


def _markdown_sources(app: AppTest) -> list[str]:
    """The Markdown source of every element that renders Markdown (text, headings, captions, alerts)."""
    elements = [*app.markdown, *app.title, *app.header, *app.subheader, *app.caption]
    elements += [*app.error, *app.warning, *app.info, *app.success]
    return [str(element.value) for element in elements]


def test_customer_360_shows_a_hostile_customer_as_plain_text(hostile_shop_url: str) -> None:
    app = app_as(hostile_shop_url, "sam").run()
    app.switch_page("pages/customer_360.py").run()
    app.text_input(key="c360_search").input("evil").run()
    app.selectbox(key="c360_match").set_value(1).run()
    assert not app.exception, app.exception
    sources = _markdown_sources(app)
    shown = "\n".join(sources)
    # Each markup character of the stored values arrives escaped (a backslash before it), never raw.
    for raw in ("![", "](", "<img", "<script", ":red[", "$x$", "**not bold**"):
        assert not re.search(r"(?<!\\)" + re.escape(raw), shown), raw
    heading = app.subheader[0].value
    assert heading.startswith(escape_markdown(f"{HOSTILE_CUSTOMER['first_name']} {HOSTILE_CUSTOMER['last_name']}"))
    assert any(escape_markdown(HOSTILE_CUSTOMER["company"]) in caption.value for caption in app.caption)
    assert escape_markdown(HOSTILE_CUSTOMER["notes"], keep_line_breaks=True) in sources
    # Read as CommonMark, no element other than line breaks comes out of any of it.
    for source in sources:
        rendered = _MARKDOWN.render(source)
        assert "<img" not in rendered and "<a " not in rendered and "<script" not in rendered, source
