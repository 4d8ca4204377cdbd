"""Small shared display pieces: KPI cards, the filter sentence, empty states, money formatting, tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import pandas as pd
import streamlit as st

from crm.filters import Filters
from crm.glossary import GLOSSARY, definition, term_of
from crm.ui.plain import escape_markdown

__all__ = [
    "KPI_STYLE",
    "MISSING",
    "apply_page_style",
    "column_label",
    "data_table",
    "empty_state",
    "filter_caption",
    "format_frequency",
    "format_money",
    "format_money_compact",
    "format_money_short",
    "format_percent",
    "kpi_card",
    "kpi_help",
    "readable",
]

# KPI cards at 1024 px and up, sidebar open or not: a card is never narrower than 8.5rem (a row of
# five wraps onto a second line instead of squeezing, and a card left alone takes at most half the row),
# its value shrinks with the window (never below 1.25rem) and wraps at a space rather than being cut off
# with "…"; labels wrap too. Wide tables scroll.
KPI_STYLE = """<style>
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"]) { flex-wrap: wrap; }
[data-testid="stColumn"]:has([data-testid="stMetric"]) { min-width: 8.5rem; max-width: 50%; }
[data-testid="stMetricValue"] { font-size: clamp(1.25rem, 1rem + 0.9vw, 2.25rem); line-height: 1.2; }
[data-testid="stMetricValue"] *, [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: break-word;
}
[data-testid="stDataFrame"] { overflow-x: auto; }
</style>"""
# More columns than this rarely fit a laptop-wide page (1024 px with the sidebar open): tables say they scroll.
WIDE_TABLE_COLUMNS = 6
# Shown wherever a value is missing or undefined (a rate over zero customers, a city not recorded).
MISSING = "—"
# Words that stay as written when a column name becomes a header.
_HEADER_WORDS = {"aov": "AOV", "rfm": "RFM", "id": "ID", "sku": "SKU", "r": "R", "f": "F", "m": "M", "paypal": "PayPal"}
# Column names whose numbers are money or shares: every analytics frame follows these names.
_PERCENT_ENDINGS = ("share", "rate", "change", "retention")
_MONEY_WORDS = ("revenue", "value", "amount", "monetary", "cash", "spend")


def format_money(value: Decimal | float | int | None) -> str:
    if value is None:
        return MISSING
    return f"${Decimal(str(value)):,.2f}"


def format_money_short(value: Decimal | float | int | None) -> str:
    """Money for KPI cards: cents below $10k, else $59.4k / $10.25M, so a card in a row of five never truncates."""
    if value is None:
        return MISSING
    amount = Decimal(str(value))
    if abs(amount) < 10_000:
        return format_money(amount)
    if abs(amount) < 1_000_000:
        return f"${amount / 1000:,.1f}k"
    return f"${amount / 1_000_000:,.2f}M"


def format_money_compact(value: Decimal | float | int | None) -> str:
    """Money in at most five characters or so ($950, $2.8k, $1.23M), for a value sharing a card with another."""
    if value is None:
        return MISSING
    amount = Decimal(str(value))
    if abs(amount) < 1_000:
        return f"${amount:,.0f}"
    if abs(amount) < 1_000_000:
        return f"${amount / 1000:,.1f}k"
    return f"${amount / 1_000_000:,.2f}M"


def format_percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"


def format_frequency(value: float | None) -> str:
    """Orders per buying customer: '1.53'."""
    return MISSING if value is None else f"{value:,.2f}"


def apply_page_style() -> None:
    """The app's layout rules (``KPI_STYLE``), once per run from the frame (Home.py)."""
    st.html(KPI_STYLE)


def kpi_help(label: str, note: str | None = None, *, months: int | None = None) -> str:
    """The help of a KPI card: the glossary's definition of ``label``, then ``note`` (an exact amount, a
    change rule) unless the note already says the definition."""
    if term_of(label) not in GLOSSARY:
        # A page from another branch with a name not (yet) in the glossary still draws; the glossary test
        # (tests/ui/test_glossary_pages.py) is what refuses it.
        return note or ""
    meaning = definition(label, months)
    if not note or meaning in note:
        return note or meaning
    return f"{meaning} {note}"


def kpi_card(
    label: str, value: str, help_text: str | None = None, delta: str | None = None, *, months: int | None = None
) -> None:
    """One KPI as ``st.metric``: ``label`` must be a glossary term (``crm.glossary``), whose definition is the
    help; ``help_text`` adds a note. The value wraps instead of being cut off (``KPI_STYLE``)."""
    st.metric(label, value, delta=delta, help=kpi_help(label, help_text, months=months), border=True)


def filter_caption(filters: Filters, subject: str = "Orders", *, sentence: str | None = None) -> None:
    """The sentence describing the active filters, shown above every chart (``sentence`` replaces the default)."""
    # The sentence names chosen brands, sources and categories: stored values, shown as plain text.
    st.caption(f":material/filter_alt: {escape_markdown(sentence or filters.describe(subject))}")


def empty_state(message: str = "Nothing matches these filters. Widen the period or clear a filter.") -> None:
    st.info(message, icon=":material/search_off:")


def readable(value: object) -> str:
    """'credit_card' → 'Credit card', 'social_media' → 'Social media': raw codes as words for legends and axes."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return MISSING
    words = str(value).split("_")
    if not words or not words[0]:
        return str(value)
    shown = [_HEADER_WORDS.get(word, word) for word in words]
    first = shown[0] if shown[0] in _HEADER_WORDS.values() else shown[0][:1].upper() + shown[0][1:]
    return " ".join([first, *shown[1:]])


def column_label(name: str) -> str:
    """The header of an analytics column: 'average_order_value' → 'Average order value'."""
    return readable(name)


def _is_percent(name: str) -> bool:
    return name.endswith(_PERCENT_ENDINGS)


def _is_money(name: str) -> bool:
    return not _is_percent(name) and any(word in name for word in _MONEY_WORDS)


def data_table(
    frame: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    money: Iterable[str] = (),
    percent: Iterable[str] = (),
    hidden: Iterable[str] = (),
    key: str | None = None,
) -> None:
    """An analytics table with readable headers, money as dollars, shares as percent and "—" when missing.

    Money and percent columns are recognised by name (revenue…/…value/amount/monetary/cash; …share/rate/
    change/retention); ``money`` and ``percent`` add others, ``labels`` overrides headers, ``hidden`` drops
    columns from view (they stay in downloads).
    """
    labels = dict(labels or {})
    extra_money, extra_percent, hide = set(money), set(percent), set(hidden)
    config: dict[str, object] = {}
    shown_columns = [str(name) for name in frame.columns if str(name) not in hide]
    for name in frame.columns:
        column = str(name)
        label = labels.get(column, column_label(column))
        # The first column names the row (a source, a segment, a customer): it stays put while the rest scrolls.
        pinned = bool(shown_columns) and column == shown_columns[0]
        numeric = pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
        if column in hide:
            config[column] = None
        elif column in extra_percent or (numeric and _is_percent(column)):
            config[column] = st.column_config.NumberColumn(label, format="percent", pinned=pinned)
        elif column in extra_money or (numeric and _is_money(column)):
            config[column] = st.column_config.NumberColumn(label, format="dollar", pinned=pinned)
        elif numeric and (column == "id" or column.endswith("_id")):
            # "%d", not "plain": an id is no quantity, and Streamlit 1.67 shows some "plain" ints as 466.99999999999994.
            config[column] = st.column_config.NumberColumn(label, format="%d", pinned=pinned)
        elif numeric:
            config[column] = st.column_config.NumberColumn(label, format="localized", pinned=pinned)
        else:
            config[column] = st.column_config.Column(label, pinned=pinned)
    if len(shown_columns) > WIDE_TABLE_COLUMNS:
        # The grid's scroll bar only shows on hover: say that more columns are to the right.
        st.caption(f":material/swap_horiz: {len(shown_columns)} columns: scroll the table sideways to see them all.")
    st.dataframe(frame, hide_index=True, column_config=config, placeholder=MISSING, key=key)
