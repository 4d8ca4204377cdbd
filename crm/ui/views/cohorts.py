"""Sections and figures of the Cohorts page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm.analytics.cohorts import CohortSummary
from crm.ui.widgets import data_table, format_money, format_percent, kpi_card

__all__ = [
    "MEASURES",
    "PARTIAL_NOTE",
    "Measure",
    "cohort_heatmap",
    "cohort_label",
    "cohort_table",
    "cut_cohort",
    "summary_caption",
    "summary_cards",
]

# A month still running (or cut by the period's end) is drawn in this grey, apart from the colour scale.
PARTIAL_GREY = "#e3e3e3"
PARTIAL_NOTE = (
    "Grey cells with * are months still running or cut by the period's end: their numbers are not final "
    "and they are left out of Month-1 retention."
)
# Rows of the heatmap get this many pixels, so every cohort month keeps its own label.
ROW_PIXELS = 26


@dataclass(frozen=True)
class Measure:
    label: str
    number_format: str  # d3 format of the heatmap's cell text and hover
    definition: str
    as_text: Callable[[float], str]  # the same format in Python, for the grey partial cells


MEASURES: dict[str, Measure] = {
    "retention": Measure(
        "% active",
        ".0%",
        "Customers of the cohort with a counted order that month ÷ cohort size.",
        lambda value: f"{value:.0%}",
    ),
    "revenue": Measure(
        "Revenue",
        "$,.0f",
        "Totals of the cohort's orders not cancelled/refunded in that month.",
        lambda value: f"${value:,.0f}",
    ),
    "cumulative_value_per_customer": Measure(
        "Cumulative value per customer",
        "$,.0f",
        "Revenue of the cohort from its first month up to that month ÷ cohort size.",
        lambda value: f"${value:,.0f}",
    ),
}
MONTH_ONE_HELP = (
    "Customers who ordered again in the month after their first ÷ customers of those cohorts. "
    "Cohorts whose next month is still running (or cut by the period's end) are left out."
)


def cohort_label(cohort: str) -> str:
    """'2025-01-01' → 'Jan 2025'."""
    return f"{date.fromisoformat(cohort):%b %Y}"


def summary_cards(summary: CohortSummary) -> None:
    cards = st.columns(3)
    with cards[0]:
        kpi_card("Cohorts", f"{summary.cohorts:,}")
    with cards[1]:
        kpi_card("First-time buyers", f"{summary.new_buyers:,}")
    with cards[2]:
        kpi_card("Month-1 retention", format_percent(summary.month_one_retention))


def cut_cohort(cohorts: pd.DataFrame, period_start: date | None) -> str | None:
    """The first cohort when the period starts after its month's first day (it holds only part of its month)."""
    if period_start is None or period_start.day == 1 or cohorts.empty:
        return None
    first = min(cohorts["cohort"])
    return first if date.fromisoformat(first) == period_start.replace(day=1) else None


def _row_label(cohort: str, cut: str | None, period_start: date | None) -> str:
    if cohort != cut or period_start is None:
        return cohort_label(cohort)
    return f"{cohort_label(cohort)} (partial: from {period_start.day} {period_start:%b})"


def cohort_heatmap(cohorts: pd.DataFrame, measure: str, *, period_start: date | None = None) -> go.Figure:
    """Cohorts (rows, oldest on top) × months since the first order (columns), coloured by ``measure``.

    Months still running are grey with their value and a * (not on the colour scale): a month with
    one day of data would otherwise read as a collapse of retention. A first cohort cut by the
    period's start (``period_start`` after the 1st of its month) says so in its row label.
    """
    shown = MEASURES[measure]
    cut = cut_cohort(cohorts, period_start)
    partial = cohorts["partial"].astype(bool) if "partial" in cohorts else pd.Series(False, index=cohorts.index)
    labelled = cohorts.assign(label=[cohort_label(cohort) for cohort in cohorts["cohort"]])
    complete = labelled.assign(value=labelled[measure].where(~partial))
    running = labelled.assign(value=labelled[measure].where(partial))
    grid = complete.pivot(index="cohort", columns="months_since_first", values="value")
    partial_grid = running.pivot(index="cohort", columns="months_since_first", values="value")
    rows = [_row_label(cohort, cut, period_start) for cohort in grid.index]
    months = [int(month) for month in grid.columns]
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(dtype=float),
            x=months,
            y=rows,
            coloraxis="coloraxis",
            texttemplate=f"%{{z:{shown.number_format}}}",
            hovertemplate=f"Cohort %{{y}}, month %{{x}}: %{{z:{shown.number_format}}}<extra></extra>",
            hoverongaps=False,
            xgap=1,
            ygap=1,
        )
    )
    if partial.any():
        values = partial_grid.to_numpy(dtype=float)
        figure.add_trace(
            go.Heatmap(
                z=np.where(np.isnan(values), np.nan, 0.0),
                x=months,
                y=rows,
                colorscale=[[0, PARTIAL_GREY], [1, PARTIAL_GREY]],
                showscale=False,
                text=[["" if np.isnan(value) else shown.as_text(value) + "*" for value in row] for row in values],
                texttemplate="%{text}",
                hovertemplate="Cohort %{y}, month %{x}: %{text} so far (month still running)<extra></extra>",
                hoverongaps=False,
                xgap=1,
                ygap=1,
                name="Month still running",
            )
        )
    figure.update_layout(
        title={"text": f"{shown.label} by first-order month", "subtitle": {"text": PARTIAL_NOTE}}
        if partial.any()
        else {"text": f"{shown.label} by first-order month"},
        coloraxis={"colorscale": "Blues", "colorbar": {"title": {"text": shown.label}}},
        height=max(380, ROW_PIXELS * len(rows) + 170),
        plot_bgcolor="white",
    )
    later_months = grid.loc[:, grid.columns > 0]
    if measure == "retention" and later_months.notna().any().any():
        # Month 0 is 100 % by definition; scale the colours to the later months so they can be told apart.
        figure.update_coloraxes(cmin=0, cmax=float(later_months.max().max()))
    if measure == "retention":
        figure.update_coloraxes(colorbar_tickformat=".0%")
    elif shown.number_format.startswith("$"):
        figure.update_coloraxes(colorbar_tickformat="$,.0f")
    # Every cohort month and every month offset gets its own tick (Plotly would skip every other one).
    figure.update_yaxes(
        title="Cohort (first-order month)", type="category", autorange="reversed", tickmode="array", tickvals=rows
    )
    figure.update_xaxes(title="Months since first order", tickmode="array", tickvals=months)
    return figure


def summary_caption(summary: CohortSummary, total_revenue: float) -> str:
    caption = (
        f"Largest cohort: {cohort_label(summary.largest_cohort) if summary.largest_cohort else '—'} "
        f"({summary.largest_size:,} customers); revenue of all cohorts {format_money(total_revenue)}."
    )
    if summary.partial_month_one_cohorts:
        caption += (
            f" {summary.partial_month_one_cohorts:,} cohort(s) with a month 1 still running are not in "
            "Month-1 retention."
        )
    return caption


def cohort_table(cohorts: pd.DataFrame) -> None:
    data_table(
        cohorts.assign(cohort=[cohort_label(cohort) for cohort in cohorts["cohort"]]),
        labels={
            "cohort": "Cohort",
            "months_since_first": "Months since first order",
            "cohort_customers": "Cohort size",
            "active_customers": "Active customers",
            "retention": "% active",
            "partial": "Month still running",
        },
    )
