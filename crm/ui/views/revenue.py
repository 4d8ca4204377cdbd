"""Sections and figures of the Revenue & transactions page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.overview import DEFINITIONS, PeriodComparison
from crm.ui.views import CHANGE_HELP, change_text
from crm.ui.widgets import format_money_short, kpi_card

__all__ = [
    "growth_figure",
    "payment_method_figure",
    "refunds_figure",
    "revenue_by_brand_figure",
    "revenue_by_source_figure",
    "revenue_cards",
    "revenue_over_time_figure",
    "revenue_table",
    "transactions_figure",
]

REFUND_SERIES = {
    "refunded_value": "Refunded orders (value)",
    "cancelled_value": "Cancelled orders (value)",
    "refunded_cash": "Refunded cash (transactions)",
}


def revenue_cards(comparison: PeriodComparison, refunds: pd.DataFrame) -> None:
    """Revenue, counted orders, AOV, net cash and refunded value, each with its definition."""
    totals = comparison.current
    cards = st.columns(5)
    with cards[0]:
        kpi_card(
            "Revenue",
            format_money_short(totals.revenue),
            f"{DEFINITIONS['revenue']} {CHANGE_HELP}",
            change_text(comparison, "revenue"),
        )
    with cards[1]:
        kpi_card(
            "Counted orders",
            f"{totals.revenue_orders:,}",
            f"{DEFINITIONS['counted_orders']} {CHANGE_HELP}",
            change_text(comparison, "revenue_orders"),
        )
    with cards[2]:
        kpi_card(
            "Average order value", format_money_short(totals.average_order_value), DEFINITIONS["average_order_value"]
        )
    with cards[3]:
        kpi_card(
            "Net cash",
            format_money_short(totals.net_cash),
            f"{DEFINITIONS['net_cash']} {CHANGE_HELP}",
            change_text(comparison, "net_cash"),
        )
    with cards[4]:
        kpi_card(
            "Refunded orders",
            format_money_short(refunds["refunded_value"].sum()),
            "Totals of orders with status refunded, by order date (not part of revenue).",
        )


def revenue_over_time_figure(over_time: pd.DataFrame, grain: str) -> go.Figure:
    return px.bar(
        over_time,
        x="period",
        y="revenue",
        title=f"Revenue per {grain}",
        labels={"period": "Period starting", "revenue": "Revenue ($)", "counted_orders": "Counted orders"},
        hover_data={"revenue": ":$,.2f", "counted_orders": True, "average_order_value": ":$,.2f", "partial": True},
    )


def growth_figure(over_time: pd.DataFrame) -> go.Figure:
    growth = over_time.melt(id_vars="period", value_vars=["revenue_change", "orders_change"], value_name="change")
    growth["variable"] = growth["variable"].map({"revenue_change": "Order value (revenue)", "orders_change": "Orders"})
    figure = px.line(
        growth,
        x="period",
        y="change",
        color="variable",
        markers=True,
        title="Growth of orders and order value, period over period",
        labels={"period": "Period starting", "change": "Change vs previous period", "variable": ""},
        hover_data={"change": ":+.1%"},
    )
    figure.update_yaxes(tickformat="+.0%")
    return figure


def payment_method_figure(methods: pd.DataFrame) -> go.Figure:
    figure = px.pie(methods, names="payment_method", values="revenue", hole=0.45, title="Revenue by payment method")
    figure.update_traces(hovertemplate="%{label}: $%{value:,.2f} (%{percent})<extra></extra>")
    return figure


def transactions_figure(summary: pd.DataFrame) -> go.Figure:
    return px.bar(
        summary,
        x="transaction_type",
        y="amount",
        color="status",
        title="Transactions by type and status",
        labels={"transaction_type": "Type", "amount": "Amount ($)", "status": "Status"},
        hover_data={"amount": ":$,.2f", "transactions": True},
    )


def revenue_by_source_figure(sources: pd.DataFrame) -> go.Figure:
    return px.bar(
        sources,
        x="source",
        y="revenue",
        title="Revenue by customer source",
        labels={"source": "Source", "revenue": "Revenue ($)"},
        hover_data={"revenue": ":$,.2f", "orders": True, "share": ":.1%"},
    )


def revenue_by_brand_figure(brands: pd.DataFrame) -> go.Figure:
    return px.bar(
        brands,
        x="brand",
        y="revenue",
        title="Revenue by brand",
        labels={"brand": "Brand", "revenue": "Revenue ($)"},
        hover_data={"revenue": ":$,.2f", "orders": True, "average_order_value": ":$,.2f"},
    )


def refunds_figure(refunds: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        refunds,
        x="period",
        y=list(REFUND_SERIES),
        barmode="group",
        title="Refunded and cancelled order value, refunded cash per month",
        labels={"period": "Month", "value": "Amount ($)", "variable": ""},
    )
    figure.for_each_trace(lambda trace: trace.update(name=REFUND_SERIES[trace.name], hovertemplate="%{x}: $%{y:,.2f}"))
    return figure


def revenue_table(over_time: pd.DataFrame) -> None:
    st.dataframe(
        over_time,
        hide_index=True,
        column_config={
            "revenue": st.column_config.NumberColumn("Revenue", format="dollar"),
            "average_order_value": st.column_config.NumberColumn("AOV", format="dollar"),
            "revenue_change": st.column_config.NumberColumn("Revenue change", format="percent"),
            "orders_change": st.column_config.NumberColumn("Orders change", format="percent"),
        },
    )
