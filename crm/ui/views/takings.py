"""The Overview's takings row: revenue, visit takings and total takings, each sale once."""

from __future__ import annotations

import streamlit as st

from crm.analytics.overview import Takings
from crm.ui.widgets import format_money, format_money_short, kpi_card

__all__ = ["takings_cards"]


def takings_cards(money: Takings) -> None:
    """Three cards: Revenue + Visit takings (not settling an order) = Total takings; the help adds the exact amount."""
    settled = (
        f" {format_money(money.visit_takings_for_orders)} of it settles orders, already in revenue."
        if money.visit_takings_for_orders
        else ""
    )
    cards = [
        ("Revenue", money.order_revenue, ""),
        ("Visit takings", money.visit_takings, settled),
        ("Total takings", money.total, ""),
    ]
    # The definitions come from the glossary (crm.glossary, via kpi_card); the note adds the exact amount.
    for column, (label, amount, note) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, format_money_short(amount), f"Exactly {format_money(amount)}.{note}")
