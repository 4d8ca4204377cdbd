"""Sections and figures of the Overview page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.overview import DEFINITIONS, PendingOrders, PeriodComparison, PeriodTotals
from crm.ui.views import CHANGE_HELP, change_text
from crm.ui.widgets import format_money, format_money_short, format_percent, kpi_card

__all__ = ["day_cards", "growth_figure", "period_cards", "revenue_trend_figure", "trends_table"]


def _row(cards: list[tuple[str, str, str, str | None]]) -> None:
    for column, (label, value, help_text, delta) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, value, help_text, delta)


def day_cards(totals: PeriodTotals, *, with_customer_value: bool) -> None:
    """Today's or this month's new customers, orders, completed transactions, revenue (+ customer value)."""
    cards = [
        ("New customers", f"{totals.new_customers:,}", DEFINITIONS["new_customers"], None),
        ("New orders", f"{totals.orders:,}", DEFINITIONS["orders"], None),
        ("Completed transactions", f"{totals.completed_transactions:,}", DEFINITIONS["completed_transactions"], None),
        ("Revenue", format_money_short(totals.revenue), DEFINITIONS["revenue"], None),
    ]
    if with_customer_value:
        value = format_money(totals.average_customer_value)
        cards.append(("Average customer value", value, DEFINITIONS["average_customer_value"], None))
    _row(cards)


def period_cards(comparison: PeriodComparison, pending: PendingOrders | None) -> None:
    """The selected period against the one before, plus orders still pending."""
    current = comparison.current
    _row(
        [
            (
                "Revenue",
                format_money_short(current.revenue),
                f"{DEFINITIONS['revenue']} {CHANGE_HELP}",
                change_text(comparison, "revenue"),
            ),
            (
                "Orders",
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
                format_money(current.average_order_value),
                DEFINITIONS["average_order_value"],
                None,
            ),
            (
                "Net cash",
                format_money_short(current.net_cash),
                f"{DEFINITIONS['net_cash']} {CHANGE_HELP}",
                change_text(comparison, "net_cash"),
            ),
            ("Pending orders", f"{pending.count:,}" if pending else "—", DEFINITIONS["pending_orders"], None),
            (
                "Pending value",
                format_money_short(pending.value) if pending else "—",
                DEFINITIONS["pending_orders"],
                None,
            ),
        ]
    )


def revenue_trend_figure(trends: pd.DataFrame, grain: str) -> go.Figure:
    return px.line(
        trends,
        x="period",
        y="revenue",
        markers=True,
        title=f"Revenue per {grain}",
        labels={"period": "Period starting", "revenue": "Revenue ($)", "revenue_change": "Change"},
        hover_data={"revenue": ":$,.2f", "revenue_change": ":+.1%", "partial": True},
    )


def growth_figure(trends: pd.DataFrame) -> go.Figure:
    growth = trends.melt(
        id_vars="period", value_vars=["orders_change", "new_customers_change"], var_name="measure", value_name="change"
    )
    growth["measure"] = growth["measure"].map({"orders_change": "Orders", "new_customers_change": "New customers"})
    figure = px.bar(
        growth,
        x="period",
        y="change",
        color="measure",
        barmode="group",
        title="Order and customer growth, period over period",
        labels={"period": "Period starting", "change": "Change vs previous period", "measure": ""},
        hover_data={"change": ":+.1%"},
    )
    figure.update_yaxes(tickformat="+.0%")
    return figure


def trends_table(trends: pd.DataFrame) -> None:
    st.dataframe(
        trends,
        hide_index=True,
        column_config={
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "revenue_change": st.column_config.NumberColumn("Revenue change", format="percent"),
            "orders_change": st.column_config.NumberColumn("Orders change", format="percent"),
            "new_customers_change": st.column_config.NumberColumn("New customers change", format="percent"),
        },
    )
