"""Sections and figures of the Visits page (``crm.analytics.visits``)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.visits import VisitSummary
from crm.ui.widgets import MISSING, data_table, format_money, format_money_short, format_percent, kpi_card

__all__ = ["DEFINITIONS", "busiest_figure", "payments_figure", "summary_cards", "visits_figure", "visits_table"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFINITIONS = {
    "visits": "Visits in the period, by visit time (local).",
    "visitors": "Distinct customers who visited in the period.",
    "returning": (
        "Returning visitors ÷ visitors: a returning visitor had more than one visit up to the period's end "
        "(an earlier visit, or two in the period)."
    ),
    "paid": "Paid = payments of the period's visits (whenever paid).",
    "average": "Average payment per visit = paid ÷ visits (visits without a payment count as 0).",
}


def summary_cards(summary: VisitSummary) -> None:
    cards = [
        ("Visits", f"{summary.visits:,}", DEFINITIONS["visits"]),
        ("Visitors", f"{summary.visitors:,}", DEFINITIONS["visitors"]),
        ("Returning", format_percent(summary.returning_share), DEFINITIONS["returning"]),
        ("Paid", format_money_short(summary.paid), f"{DEFINITIONS['paid']} Exactly {format_money(summary.paid)}."),
        (
            "Per visit",
            format_money_short(summary.average_payment) if summary.average_payment is not None else MISSING,
            DEFINITIONS["average"],
        ),
    ]
    for column, (label, value, help_text) in zip(st.columns(len(cards)), cards, strict=True):
        with column:
            kpi_card(label, value, help_text)


def visits_figure(by_month: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_bar(x=by_month["period"], y=by_month["visits"], name="Visits")
    figure.add_scatter(x=by_month["period"], y=by_month["visitors"], name="Visitors", mode="lines+markers")
    figure.update_layout(title="Visits and visitors per month", xaxis_title="Month", yaxis_title="Count")
    return figure


def payments_figure(payments: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    figure.add_bar(x=payments["period"], y=payments["amount"], name="Visit payments")
    figure.add_bar(x=payments["period"], y=payments["for_orders"], name="Of which settle orders")
    figure.update_layout(
        title="Payments taken at visits per month (by paid date)",
        xaxis_title="Month",
        yaxis_title="Amount",
        yaxis_tickformat="$,.2f",
        barmode="group",
    )
    return figure


def busiest_figure(cells: pd.DataFrame, timezone_name: str) -> go.Figure:
    frame = cells.assign(day_name=cells["day_of_week"].map(lambda day: DAY_NAMES[int(day)]))
    figure = px.density_heatmap(
        frame, x="hour", y="day_name", z="visits", histfunc="sum", nbinsx=24,
        category_orders={"day_name": list(DAY_NAMES)},
        title=f"Visits by day of week and hour ({timezone_name})",
        labels={"hour": "Hour of day", "day_name": "Day of week", "visits": "Visits"},
    )  # fmt: skip
    figure.update_layout(coloraxis_colorbar_title_text="Visits")
    return figure


def visits_table(by_month: pd.DataFrame) -> None:
    data_table(
        by_month,
        labels={"average_payment": "Average payment per visit"},
        money=("paid", "average_payment"),
    )
