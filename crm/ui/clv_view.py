"""Sections of the Lifetime value page, each drawn from one ``crm.analytics.clv.ClvAnalysis``.

The numbers come from ``crm.analytics.clv`` (value tiers, CLV by source, cohorts, top
customers, holdout check); this module only lays them out as KPI cards, charts and tables.
"""

from __future__ import annotations

import math

import plotly.express as px
import streamlit as st

from crm.analytics.clv import (
    MODEL_WORDS,
    MONETARY_CORRELATION_WARNING,
    ClvAnalysis,
    churn_rule,
    clv_by_source,
    clv_overview,
    cohort_clv_trend,
    top_customers,
    value_tiers,
)
from crm.permissions import Actor, Permission, allowed
from crm.ui.charts import show_chart, table_downloads
from crm.ui.widgets import format_money, format_percent, kpi_card

__all__ = ["cohort_trend", "holdout_check", "model_notes", "overview_cards", "tiers_and_sources", "top_table"]

# Rows shown in the top-customers table (the issue asks for the top 20).
TOP_CUSTOMERS = 20
_MONEY = st.column_config.NumberColumn(format="dollar")
_PERCENT = st.column_config.NumberColumn(format="percent")


def model_notes(analysis: ClvAnalysis) -> None:
    """Why there is no model (fallback), a Gamma-Gamma problem, or a doubtful Gamma-Gamma assumption."""
    if analysis.message:
        st.warning(analysis.message, icon=":material/warning:")
    if analysis.monetary_message:
        st.info(analysis.monetary_message)
    correlation = analysis.monetary_correlation
    if analysis.fitted and correlation is not None and abs(correlation) > MONETARY_CORRELATION_WARNING:
        st.info(
            "Gamma-Gamma assumes spend per purchase does not depend on how often customers buy; here they "
            f"correlate ({correlation:+.2f}), so predicted values are less reliable."
        )


def overview_cards(analysis: ClvAnalysis) -> None:
    """Six KPI cards (definitions as help text) and a caption with the fitted parameters."""
    overview = clv_overview(analysis)
    basis = f"predicted over {analysis.horizon} months, discounted" if analysis.fitted else "historic"
    kpis = [
        ("Average CLV", format_money(overview.average_clv), f"Mean CLV per customer ({basis})."),
        ("Total CLV", f"${overview.total_clv:,.0f}", f"Sum of CLV over all customers ({basis})."),
        (
            "Churn risk",
            f"{overview.churn_risk:,} ({format_percent(overview.churn_risk / max(overview.customers, 1))})",
            f"Customers flagged as churn risk: {churn_rule(analysis)}.",
        ),
        ("Average order value", format_money(overview.average_order_value), "Historic revenue ÷ revenue orders."),
        ("Purchase frequency", f"{overview.purchase_frequency:.2f}", "Revenue orders ÷ buying customers."),
        (
            "Average lifespan",
            f"{overview.average_lifespan_days:,.0f} days",
            "Mean days from first to last purchase of customers who bought more than once.",
        ),
    ]
    for column, (label, value, help_text) in zip(st.columns(3) + st.columns(3), kpis, strict=True):
        with column:
            kpi_card(label, value, help_text)
    params = ", ".join(f"{name}={value:.3f}" for name, value in {**analysis.params, **analysis.monetary_params}.items())
    model = f"{MODEL_WORDS[analysis.model]} + Gamma-Gamma: {params}" if analysis.fitted else "historic CLV"
    as_of = f"{analysis.as_of:%d %b %Y}" if analysis.as_of else "—"
    st.caption(
        f"As of {as_of} · customers: {overview.customers:,}, repeat buyers: {overview.repeat_buyers:,} · {model}"
    )


def tiers_and_sources(analysis: ClvAnalysis, actor: Actor) -> None:
    """Value tiers (chart + table) next to CLV by source (chart + download)."""
    tiers, sources = st.columns(2)
    with tiers:
        st.subheader("Value tiers")
        tier_table = value_tiers(analysis)
        figure = px.bar(tier_table, x="tier", y="value", text="customers", labels={"value": "CLV"})
        show_chart(figure, name="clv_tiers")
        st.dataframe(
            tier_table,
            hide_index=True,
            column_config={
                "customer_share": _PERCENT,
                "value_share": _PERCENT,
                "value": _MONEY,
                "average_value": _MONEY,
            },
        )
    with sources:
        st.subheader("CLV by source")
        source_table = clv_by_source(analysis)
        figure = px.bar(
            source_table,
            x="source",
            y="total_clv",
            hover_data=["customers", "average_clv"],
            labels={"total_clv": "CLV"},
        )
        show_chart(figure, name="clv_by_source")
        if allowed(actor.role, Permission.EXPORT_AGGREGATES):
            table_downloads(source_table, name="clv_by_source")


def cohort_trend(analysis: ClvAnalysis) -> None:
    """Average CLV per customer of each month's new customers (historic, predicted, total)."""
    st.subheader("CLV of new-customer cohorts by month")
    columns = ["average_historic", "average_predicted", "average_total"] if analysis.fitted else ["average_historic"]
    figure = px.line(
        cohort_clv_trend(analysis),
        x="cohort",
        y=columns,
        markers=True,
        labels={"value": "average CLV per customer", "cohort": "month of first purchase"},
    )
    show_chart(figure, name="clv_cohorts")


def top_table(analysis: ClvAnalysis, actor: Actor) -> None:
    """The customers with the highest CLV; downloadable only with the personal-data export permission."""
    st.subheader(f"Top {TOP_CUSTOMERS} customers")
    top = top_customers(analysis, TOP_CUSTOMERS)
    st.dataframe(
        top,
        hide_index=True,
        height=36 * (len(top) + 1) + 3,  # every row visible, no inner scrolling
        column_config={
            "historic_value": _MONEY,
            "predicted_value": _MONEY,
            "expected_purchases": st.column_config.NumberColumn(format="%.1f"),
            "p_alive": st.column_config.ProgressColumn("P(alive)", min_value=0.0, max_value=1.0, format="percent"),
        },
    )
    if allowed(actor.role, Permission.EXPORT_PERSONAL_DATA):
        table_downloads(top, name="clv_top_customers", personal=True)  # names and emails of customers


def holdout_check(analysis: ClvAnalysis) -> None:
    """Predicted vs actual repeat purchases after the as-of date, per calibration frequency group."""
    if analysis.holdout is None or analysis.holdout_error is None:
        return
    error = analysis.holdout_error
    st.subheader("Holdout check")
    total_error = error["total_error"]
    verdict = (
        f"total error {total_error:+.1%}" if isinstance(total_error, float) and math.isfinite(total_error)
        else "no repeat purchases happened in the holdout"
    )  # fmt: skip
    st.caption(
        f"Repeat purchases from {error['holdout_start']} to {error['holdout_end']}: predicted "
        f"{error['predicted_purchases']:,.0f}, actual {error['actual_purchases']:,.0f} ({verdict})."
    )
    figure = px.bar(
        analysis.holdout,
        x="frequency_group",
        y=["actual_purchases", "predicted_purchases"],
        barmode="group",
        labels={"value": "mean purchases per customer", "frequency_group": "repeat purchases in calibration"},
    ).update_xaxes(type="category")  # keeps the "7+" group (not a number) on the axis
    show_chart(figure, name="clv_holdout")
