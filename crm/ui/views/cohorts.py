"""Sections and figures of the Cohorts page."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.cohorts import CohortSummary
from crm.ui.widgets import format_money, format_percent, kpi_card

__all__ = ["MEASURES", "Measure", "cohort_heatmap", "summary_caption", "summary_cards"]


@dataclass(frozen=True)
class Measure:
    label: str
    number_format: str  # d3 format of the heatmap's cell text and hover
    definition: str


MEASURES: dict[str, Measure] = {
    "retention": Measure("% active", ".0%", "Customers of the cohort with a counted order that month ÷ cohort size."),
    "revenue": Measure("Revenue", "$,.0f", "Totals of the cohort's orders not cancelled/refunded in that month."),
    "cumulative_value_per_customer": Measure(
        "Cumulative value per customer",
        "$,.0f",
        "Revenue of the cohort from its first month up to that month ÷ cohort size.",
    ),
}


def summary_cards(summary: CohortSummary) -> None:
    cards = st.columns(3)
    with cards[0]:
        kpi_card("Cohorts", f"{summary.cohorts:,}", "First-order months in the period.")
    with cards[1]:
        kpi_card("New buyers", f"{summary.new_buyers:,}", "Customers whose first counted order is in the period.")
    with cards[2]:
        kpi_card(
            "Month-1 retention",
            format_percent(summary.month_one_retention),
            "Customers who ordered again in the month after their first ÷ customers of those cohorts.",
        )


def cohort_heatmap(cohorts: pd.DataFrame, measure: str) -> go.Figure:
    """Cohorts (rows) × months since the first order (columns), coloured by ``measure``."""
    shown = MEASURES[measure]
    grid = cohorts.pivot(index="cohort", columns="months_since_first", values=measure)
    figure = px.imshow(
        grid,
        text_auto=shown.number_format,
        aspect="auto",
        color_continuous_scale="Blues",
        title=f"{shown.label} by first-order month",
        labels={"x": "Months since first order", "y": "Cohort (first-order month)", "color": shown.label},
    )
    if measure == "retention" and (grid.columns > 0).any():
        # Month 0 is 100 % by definition; scale the colours to the later months so they can be told apart.
        figure.update_coloraxes(cmin=0, cmax=float(grid.loc[:, grid.columns > 0].max().max()))
    figure.update_traces(hovertemplate=f"Cohort %{{y}}, month %{{x}}: %{{z:{shown.number_format}}}<extra></extra>")
    return figure


def summary_caption(summary: CohortSummary, total_revenue: float) -> str:
    return (
        f"Largest cohort: {summary.largest_cohort} ({summary.largest_size:,} customers); "
        f"revenue of all cohorts {format_money(total_revenue)}."
    )
