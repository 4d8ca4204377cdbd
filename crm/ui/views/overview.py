"""Sections and figures of the Overview page."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from crm.analytics.overview import DEFINITIONS, PendingOrders, PeriodComparison, PeriodTotals
from crm.figures.overview import growth_figure, revenue_trend_figure
from crm.ui.views import CHANGE_HELP, change_text
from crm.ui.widgets import (
    MISSING,
    data_table,
    format_frequency,
    format_money,
    format_money_compact,
    format_money_short,
    format_percent,
    kpi_card,
)

__all__ = ["day_cards", "growth_figure", "period_cards", "revenue_trend_figure", "trends_table"]


def _row(cards: list[tuple[str, str, str, str | None]]) -> None:
    for column, (label, value, help_text, delta) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, value, help_text, delta)


def day_cards(totals: PeriodTotals, *, with_customer_value: bool) -> None:
    """Today's or this month's new customers, orders, completed transactions, revenue (+ customer value).

    Labels are short so five cards fit a row; the help text carries the full definition.
    """
    cards = [
        ("New customers", f"{totals.new_customers:,}", None, None),
        ("Orders placed", f"{totals.orders:,}", None, None),
        (
            "Transactions",
            f"{totals.completed_transactions:,}",
            None,
            None,
        ),
        ("Revenue", format_money_short(totals.revenue), _money_help(DEFINITIONS["revenue"], totals.revenue), None),
    ]
    if with_customer_value:
        value = totals.average_customer_value
        cards.append(
            (
                "Revenue per buyer",
                format_money_short(value) if totals.buying_customers else MISSING,
                _money_help(DEFINITIONS["average_customer_value"], value),
                None,
            )
        )
    _row(cards)


def _money_help(definition: str, amount: Decimal) -> str:
    """The definition plus the exact amount (the card may show it rounded, e.g. $59.4k)."""
    return f"{definition} Exactly {format_money(amount)}."


def period_cards(comparison: PeriodComparison, pending: PendingOrders | None) -> None:
    """The selected period against the one before, plus orders still pending."""
    current = comparison.current
    _row(
        [
            (
                "Revenue",
                format_money_short(current.revenue),
                f"{_money_help(DEFINITIONS['revenue'], current.revenue)} {CHANGE_HELP}",
                change_text(comparison, "revenue"),
            ),
            (
                "Orders placed",
                f"{current.orders:,}",
                f"{DEFINITIONS['orders']} {CHANGE_HELP}",
                change_text(comparison, "orders"),
            ),
            (
                "New customers",
                f"{current.new_customers:,}",
                f"{DEFINITIONS['new_customers']} {CHANGE_HELP}",
                change_text(comparison, "new_customers"),
            ),
            ("Conversion rate", format_percent(current.conversion_rate), DEFINITIONS["conversion_rate"], None),
        ]
    )
    _row(
        [
            (
                "Average order value",
                format_money(current.average_order_value) if current.revenue_orders else MISSING,
                DEFINITIONS["average_order_value"],
                None,
            ),
            (
                "Purchase frequency",
                format_frequency(current.purchase_frequency),
                DEFINITIONS["purchase_frequency"],
                change_text(comparison, "purchase_frequency"),
            ),
            (
                "Net cash",
                format_money_short(current.net_cash),
                f"{_money_help(DEFINITIONS['net_cash'], current.net_cash)} {CHANGE_HELP}",
                change_text(comparison, "net_cash"),
            ),
            (
                "Pending orders",
                f"{pending.count:,} · {format_money_compact(pending.value)}" if pending else MISSING,
                f"{DEFINITIONS['pending_orders']} Exactly {format_money(pending.value)}."
                if pending
                else DEFINITIONS["pending_orders"],
                None,
            ),
        ]
    )


def trends_table(trends: pd.DataFrame) -> None:
    data_table(trends, labels={"period": "Period starting", "partial": "Partial period"})
