"""Sections and figures of the Service analytics page."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.service import DEFINITIONS, ServiceSummary
from crm.ui.widgets import MISSING, data_table, format_percent, kpi_card, readable

__all__ = ["agent_table", "csat_figure", "service_cards", "volume_figure"]


def _hours(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.1f} h"


def service_cards(summary: ServiceSummary) -> None:
    """Counts, SLA and CSAT in the first row, response and resolution times in the second; each card carries
    its definition as help text."""
    sla_help = f"{DEFINITIONS['sla_attainment']} {summary.sla_met:,} met, {summary.sla_missed:,} missed."
    rows = [
        [
            ("Opened", f"{summary.opened:,}", DEFINITIONS["opened"]),
            ("Resolved", f"{summary.resolved:,}", DEFINITIONS["resolved"]),
            ("Backlog", f"{summary.backlog:,}", DEFINITIONS["backlog"]),
            ("SLA attainment", format_percent(summary.sla_attainment), sla_help),
            (
                "CSAT",
                MISSING if summary.csat_average is None else f"{summary.csat_average:.2f} / 5",
                f"{DEFINITIONS['csat_average']} {summary.rated:,} rated.",
            ),
        ],
        [
            (
                "First response, median",
                _hours(summary.first_response_hours_median),
                DEFINITIONS["first_response_hours"],
            ),
            ("First response, 90th pct", _hours(summary.first_response_hours_p90), DEFINITIONS["first_response_hours"]),
            ("Resolution, median", _hours(summary.resolution_hours_median), DEFINITIONS["resolution_hours"]),
            ("Resolution, 90th pct", _hours(summary.resolution_hours_p90), DEFINITIONS["resolution_hours"]),
        ],
    ]
    for row in rows:
        for column, (label, value, help_text) in zip(st.columns(len(row)), row, strict=True):
            with column:
                kpi_card(label, value, help_text)


def csat_figure(distribution: pd.DataFrame) -> go.Figure:
    figure = px.bar(distribution, x="score", y="tickets", title="Satisfaction scores (rated tickets)")
    figure.update_layout(xaxis_title="Score (1 = very unhappy, 5 = very happy)", yaxis_title="Tickets")
    figure.update_xaxes(tickmode="array", tickvals=[1, 2, 3, 4, 5])
    figure.update_traces(hovertemplate="Score %{x}: %{y:,} tickets<extra></extra>")
    return figure


def volume_figure(volume: pd.DataFrame, by: str) -> go.Figure:
    """Tickets opened per period, stacked by ``by`` ('category' or 'priority')."""
    totals = volume.groupby(["period", by], as_index=False)["tickets"].sum()
    totals[by] = totals[by].map(readable)
    figure = px.bar(totals, x="period", y="tickets", color=by, title=f"Tickets opened by {by}")
    figure.update_layout(xaxis_title="", yaxis_title="Tickets", legend_title_text=readable(by))
    figure.update_traces(hovertemplate="%{x}: %{y:,} tickets<extra></extra>")
    return figure


def agent_table(agents: pd.DataFrame) -> None:
    data_table(
        agents,
        labels={
            "first_response_hours_median": "First response, median (h)",
            "resolution_hours_median": "Resolution, median (h)",
            "csat_average": "CSAT (1–5)",
        },
    )
