"""The Overview's takings row: order revenue, visit takings and total takings, each sale once."""

from __future__ import annotations

import streamlit as st

from crm.analytics.overview import DEFINITIONS, Takings
from crm.ui.widgets import format_money, format_money_short, kpi_card

__all__ = ["takings_cards"]


def takings_cards(money: Takings) -> None:
    """Three cards; the help of each gives its definition and the exact amount."""
    settled = (
        f" {format_money(money.visit_takings_for_orders)} of it settles orders, already in revenue."
        if money.visit_takings_for_orders
        else ""
    )
    cards = [
        ("Order revenue", money.order_revenue, DEFINITIONS["revenue"]),
        ("Visit takings", money.visit_takings, DEFINITIONS["visit_takings"] + settled),
        ("Total takings", money.total, DEFINITIONS["total_takings"]),
    ]
    for column, (label, amount, definition) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, format_money_short(amount), f"{definition} Exactly {format_money(amount)}.")
