"""Plotly figures of the analytics pages that need no Streamlit: the app and the digest mails draw the same ones."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm.analytics.overview import DEFINITIONS, PeriodComparison

__all__ = ["CHANGE_HELP", "PARTIAL_PERIOD", "change_text", "period_bars", "period_line"]

CHANGE_HELP = "The arrow compares with the equally long period before (" + DEFINITIONS["change"] + ")."
# Legend entry of periods the data covers only in part: a running month drawn like a full one looks like a collapse.
PARTIAL_PERIOD = "Partial period (still running or cut by the date range)"
_MAIN_COLOUR = "#1f77b4"


def change_text(comparison: PeriodComparison, name: str) -> str | None:
    """'+12.5%' change of ``name`` against the previous period, or None where there is none."""
    change = comparison.change(name)
    return None if change is None else f"{change:+.1%}"


def _partial(frame: pd.DataFrame) -> pd.Series:
    if "partial" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["partial"].fillna(False).astype(bool)


def period_line(frame: pd.DataFrame, column: str, *, name: str, value_format: str = "$,.2f") -> go.Figure:
    """``column`` per period as a line; partial periods are open markers joined by a dashed segment."""
    partial = _partial(frame)
    complete_values = frame[column].where(~partial)
    # The dashed trace covers each partial point and its neighbours, so it links up with the solid line.
    near_partial = partial | partial.shift(1, fill_value=False) | partial.shift(-1, fill_value=False)
    hover = f"%{{x|%d %b %Y}}: %{{y:{value_format}}}"
    figure = go.Figure(
        go.Scatter(
            x=frame["period"],
            y=complete_values,
            mode="lines+markers",
            name=name,
            line={"color": _MAIN_COLOUR},
            hovertemplate=hover + "<extra></extra>",
        )
    )
    if partial.any():
        figure.add_trace(
            go.Scatter(
                x=frame["period"],
                y=frame[column].where(near_partial),
                mode="lines+markers",
                name=PARTIAL_PERIOD,
                line={"color": _MAIN_COLOUR, "dash": "dash"},
                marker={
                    "symbol": ["circle-open" if flag else "circle" for flag in partial],
                    "size": [11 if flag else 0.1 for flag in partial],
                    "line": {"width": 2},
                },
                customdata=[" (partial)" if flag else "" for flag in partial],
                hovertemplate=hover + "%{customdata}<extra></extra>",
            )
        )
    figure.update_layout(legend={"orientation": "h", "y": -0.25}, showlegend=True)
    return figure


def period_bars(frame: pd.DataFrame, column: str, *, name: str, value_format: str = "$,.2f") -> go.Figure:
    """``column`` per period as bars; partial periods are hatched and pale, with their own legend entry."""
    partial = _partial(frame)
    hover = f"%{{x|%d %b %Y}}: %{{y:{value_format}}}"
    # Both traces get every period (NaN where the other one draws), so Plotly gives their bars the same width.
    figure = go.Figure(
        go.Bar(
            x=frame["period"],
            y=frame[column].where(~partial),
            name=name,
            marker={"color": _MAIN_COLOUR},
            hovertemplate=hover + "<extra></extra>",
        )
    )
    if partial.any():
        figure.add_trace(
            go.Bar(
                x=frame["period"],
                y=frame[column].where(partial),
                name=PARTIAL_PERIOD,
                marker={"color": "rgba(31, 119, 180, 0.35)", "pattern": {"shape": "/", "fgcolor": _MAIN_COLOUR}},
                hovertemplate=hover + " (partial)<extra></extra>",
            )
        )
    figure.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.25}, showlegend=True)
    return figure
