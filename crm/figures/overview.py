"""Figures of the Overview page (also drawn into the digest mails)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from crm.figures import period_line

__all__ = ["growth_figure", "revenue_trend_figure"]


def revenue_trend_figure(trends: pd.DataFrame, grain: str) -> go.Figure:
    figure = period_line(trends, "revenue", name="Revenue")
    figure.update_layout(title=f"Revenue per {grain}", xaxis_title="Period starting", yaxis_title="Revenue ($)")
    figure.update_yaxes(tickformat="$,.0f")
    return figure


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
