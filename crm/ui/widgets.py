"""Small shared display pieces: KPI cards, the filter sentence, empty states, money formatting."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from crm.filters import Filters

__all__ = ["empty_state", "filter_caption", "format_money", "format_money_short", "format_percent", "kpi_card"]


def format_money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    return f"${Decimal(str(value)):,.2f}"


def format_money_short(value: Decimal | float | int | None) -> str:
    """Money for KPI cards: cents below $100k, else $123.5k / $10.25M so the card never truncates."""
    if value is None:
        return "—"
    amount = Decimal(str(value))
    if abs(amount) < 100_000:
        return format_money(amount)
    if abs(amount) < 1_000_000:
        return f"${amount / 1000:,.1f}k"
    return f"${amount / 1_000_000:,.2f}M"


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def kpi_card(label: str, value: str, help_text: str, delta: str | None = None) -> None:
    """One KPI as ``st.metric``; ``help_text`` is the metric's definition (DESIGN.md)."""
    st.metric(label, value, delta=delta, help=help_text, border=True)


def filter_caption(filters: Filters, subject: str = "Orders") -> None:
    """The sentence describing the active filters, shown above every chart."""
    st.caption(f":material/filter_alt: {filters.describe(subject)}")


def empty_state(message: str = "Nothing matches these filters. Widen the period or clear a filter.") -> None:
    st.info(message, icon=":material/search_off:")
