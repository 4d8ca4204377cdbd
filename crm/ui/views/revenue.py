"""Sections and figures of the Revenue & transactions page."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.overview import DEFINITIONS, PeriodComparison
from crm.ui.views import CHANGE_HELP, change_text, period_bars
from crm.ui.widgets import MISSING, data_table, format_frequency, format_money, format_money_short, kpi_card, readable

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
    """Revenue, counted orders, AOV; purchase frequency, net cash, refunded value — each with its definition.

    Two rows of three, so a money value such as "$59.4k" never truncates.
    """
    totals = comparison.current
    refunded = Decimal(str(round(float(refunds["refunded_value"].sum()), 2))) if len(refunds) else Decimal("0.00")
    rows = [
        [
            (
                "Revenue",
                format_money_short(totals.revenue),
                f"{DEFINITIONS['revenue']} Exactly {format_money(totals.revenue)}. {CHANGE_HELP}",
                change_text(comparison, "revenue"),
            ),
            (
                "Counted orders",
                f"{totals.revenue_orders:,}",
                f"{DEFINITIONS['counted_orders']} {CHANGE_HELP}",
                change_text(comparison, "revenue_orders"),
            ),
            (
                "Average order value",
                format_money_short(totals.average_order_value) if totals.revenue_orders else MISSING,
                DEFINITIONS["average_order_value"],
                change_text(comparison, "average_order_value"),
            ),
        ],
        [
            (
                "Purchase frequency",
                format_frequency(totals.purchase_frequency),
                DEFINITIONS["purchase_frequency"],
                change_text(comparison, "purchase_frequency"),
            ),
            (
                "Net cash",
                format_money_short(totals.net_cash),
                f"{DEFINITIONS['net_cash']} Exactly {format_money(totals.net_cash)}. {CHANGE_HELP}",
                change_text(comparison, "net_cash"),
            ),
            (
                "Refunded orders",
                format_money_short(refunded),
                f"Exactly {format_money(refunded)}.",
                None,
            ),
        ],
    ]
    for row in rows:
        for column, (label, value, help_text, delta) in zip(st.columns(3), row, strict=True):
            with column:
                kpi_card(label, value, help_text, delta)


def revenue_over_time_figure(over_time: pd.DataFrame, grain: str) -> go.Figure:
    figure = period_bars(over_time, "revenue", name="Revenue")
    figure.update_layout(title=f"Revenue per {grain}", xaxis_title="Period starting", yaxis_title="Revenue ($)")
    figure.update_yaxes(tickformat="$,.0f")
    return figure


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


# Status colours: only a failure is red; pending is amber (in progress, not an error), done is green.
STATUS_COLOURS = {
    "Completed": "#2e7d32",
    "Pending": "#f9a825",
    "Failed": "#c62828",
    "Cancelled": "#9e9e9e",
    "Refunded": "#6a1b9a",
}


def payment_method_figure(methods: pd.DataFrame) -> go.Figure:
    shown = methods.assign(payment_method=methods["payment_method"].map(readable))
    figure = px.pie(
        shown,
        names="payment_method",
        values="revenue",
        hole=0.45,
        title="Revenue by payment method",
        labels={"payment_method": "Payment method"},
    )
    # Every slice carries its own name and share next to it (no legend to match colours against, no slice
    # left unlabelled because its text did not fit inside).
    figure.update_traces(
        hovertemplate="%{label}: $%{value:,.2f} (%{percent})<extra></extra>",
        textposition="outside",
        textinfo="label+percent",
        automargin=True,
    )
    figure.update_layout(showlegend=False, uniformtext_minsize=11)
    return figure


def transactions_figure(summary: pd.DataFrame) -> go.Figure:
    # Horizontal: the type names sit left of their bars and never turn sideways in a half-width column.
    shown = summary.assign(
        transaction_type=summary["transaction_type"].map(readable), status=summary["status"].map(readable)
    )
    figure = px.bar(
        shown,
        y="transaction_type",
        x="amount",
        color="status",
        orientation="h",
        color_discrete_map=STATUS_COLOURS,
        title="Transactions by type and status",
        labels={"transaction_type": "Type", "amount": "Amount ($)", "status": "Status", "transactions": "Transactions"},
        hover_data={"amount": ":$,.2f", "transactions": True},
    )
    figure.update_xaxes(tickformat="$,.0f")
    figure.update_yaxes(automargin=True)
    # The status legend under the bars: beside them it took half of a half-width column.
    figure.update_layout(legend={"orientation": "h", "y": -0.25, "title": {"text": "Status "}})
    return figure


def revenue_by_source_figure(sources: pd.DataFrame) -> go.Figure:
    # Horizontal, largest on top: source names stay level in a half-width column.
    shown = sources.assign(source=sources["source"].map(readable)).sort_values("revenue")
    figure = px.bar(
        shown,
        y="source",
        x="revenue",
        orientation="h",
        title="Revenue by customer source",
        labels={"source": "Source", "revenue": "Revenue ($)", "orders": "Orders", "share": "Share"},
        hover_data={"revenue": ":$,.2f", "orders": True, "share": ":.1%"},
    )
    figure.update_xaxes(tickformat="$,.0f")
    figure.update_yaxes(automargin=True)
    return figure


def revenue_by_brand_figure(brands: pd.DataFrame) -> go.Figure:
    # Horizontal, largest on top: brand names (typed by users, any length) stay level and readable.
    figure = px.bar(
        brands.sort_values("revenue"),
        y="brand",
        x="revenue",
        orientation="h",
        title="Revenue by brand",
        labels={"brand": "Brand", "revenue": "Revenue ($)", "orders": "Orders", "average_order_value": "AOV"},
        hover_data={"revenue": ":$,.2f", "orders": True, "average_order_value": ":$,.2f"},
    )
    figure.update_xaxes(tickformat="$,.0f")
    figure.update_yaxes(automargin=True)
    return figure


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
    figure.update_yaxes(tickformat="$,.0f")
    return figure


def revenue_table(over_time: pd.DataFrame) -> None:
    data_table(
        over_time,
        labels={"period": "Period starting", "average_order_value": "AOV", "partial": "Partial period"},
    )
