"""Customer lifetime value: BG/NBD + Gamma-Gamma predictions, value tiers, churn risk, holdout check."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from crm.analytics.clv import (
    MODEL_WORDS,
    MONETARY_CORRELATION_WARNING,
    UNIT_WORDS,
    clv_analysis,
    clv_by_source,
    clv_overview,
    cohort_clv_trend,
    top_customers,
    value_tiers,
)
from crm.permissions import Permission, allowed
from crm.ui.cache import cached
from crm.ui.charts import show_chart, table_downloads
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption, format_money, format_percent, kpi_card

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Customer lifetime value")

controls = st.columns([1.2, 1, 1, 1, 1.4])
as_of = controls[0].date_input(
    "As of (blank: last order)",
    value=None,
    key="clv_as_of",
    help="Ends the calibration period; later orders become the holdout check.",
)
unit = controls[1].selectbox("Time unit", list(UNIT_WORDS), index=1, format_func=UNIT_WORDS.get, key="clv_unit")
horizon = controls[2].number_input("Horizon (months)", 1, 60, 12, key="clv_horizon")
model = controls[3].selectbox("Model", list(MODEL_WORDS), format_func=MODEL_WORDS.get, key="clv_model")
all_history = controls[4].toggle(
    "Include orders before the period",
    value=True,
    key="clv_all_history",
    help="The models need each customer's whole history; the period's end still applies.",
)
filters = current_filters()
if all_history:
    filters = filters.with_dates(None, filters.end_date)
analysis = cached(clv_analysis, filters, as_of=as_of, unit=unit, horizon=int(horizon), model=model)
filter_caption(filters, "Revenue orders")
if analysis.customers.empty:
    empty_state(analysis.message or "Nothing matches these filters.")
    st.stop()
if analysis.message:
    st.warning(analysis.message, icon=":material/warning:")
if analysis.monetary_message:
    st.info(analysis.monetary_message)
correlation = analysis.monetary_correlation
if analysis.fitted and correlation is not None and abs(correlation) > MONETARY_CORRELATION_WARNING:
    st.info(
        f"Gamma-Gamma assumes spend per purchase does not depend on how often customers buy; here they "
        f"correlate ({correlation:+.2f}), so predicted values are less reliable."
    )

overview = clv_overview(analysis)
basis = f"predicted over {analysis.horizon} months, discounted" if analysis.fitted else "historic"
share_at_risk = format_percent(overview.churn_risk / overview.customers)
kpis = [
    ("Average CLV", format_money(overview.average_clv), f"Mean CLV per customer ({basis})."),
    ("Total CLV", f"${overview.total_clv:,.0f}", f"Sum of CLV over all customers ({basis})."),
    (
        "Churn risk",
        f"{overview.churn_risk:,} ({share_at_risk})",
        "Customers with P(alive) < 50 % (without a model: no purchase for 180 days).",
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
st.caption(
    f"As of {analysis.as_of:%d %b %Y} · customers: {overview.customers:,}, repeat buyers: {overview.repeat_buyers:,} · "
    + (f"{MODEL_WORDS[analysis.model]} + Gamma-Gamma: {params}" if analysis.fitted else "historic CLV")
)

money = st.column_config.NumberColumn(format="dollar")
percent = st.column_config.NumberColumn(format="percent")
tiers, sources = st.columns(2)
with tiers:
    st.subheader("Value tiers")
    tier_table = value_tiers(analysis)
    show_chart(px.bar(tier_table, x="tier", y="value", text="customers", labels={"value": "CLV"}), name="clv_tiers")
    st.dataframe(
        tier_table,
        hide_index=True,
        column_config={"customer_share": percent, "value_share": percent, "value": money, "average_value": money},
    )
with sources:
    st.subheader("CLV by source")
    source_table = clv_by_source(analysis)
    show_chart(
        px.bar(
            source_table,
            x="source",
            y="total_clv",
            hover_data=["customers", "average_clv"],
            labels={"total_clv": "CLV"},
        ),
        name="clv_by_source",
    )
    if allowed(actor.role, Permission.EXPORT_AGGREGATES):
        table_downloads(source_table, name="clv_by_source")

st.subheader("CLV of new-customer cohorts by month")
trend = cohort_clv_trend(analysis)
show_chart(
    px.line(
        trend,
        x="cohort",
        y=["average_historic", "average_predicted", "average_total"] if analysis.fitted else ["average_historic"],
        markers=True,
        labels={"value": "average CLV per customer", "cohort": "month of first purchase"},
    ),
    name="clv_cohorts",
)

st.subheader("Top 20 customers")
top = top_customers(analysis, 20)
st.dataframe(
    top,
    hide_index=True,
    height=36 * (len(top) + 1) + 3,  # every row visible, no inner scrolling
    column_config={
        "historic_value": money,
        "predicted_value": money,
        "expected_purchases": st.column_config.NumberColumn(format="%.1f"),
        "p_alive": st.column_config.ProgressColumn("P(alive)", min_value=0.0, max_value=1.0, format="percent"),
    },
)
if allowed(actor.role, Permission.EXPORT_PERSONAL_DATA):
    table_downloads(top, name="clv_top_customers")

if analysis.holdout is not None and analysis.holdout_error is not None:
    error = analysis.holdout_error
    st.subheader("Holdout check")
    st.caption(
        f"Repeat purchases from {error['holdout_start']} to {error['holdout_end']}: predicted "
        f"{error['predicted_purchases']:,.0f}, actual {error['actual_purchases']:,.0f} "
        f"(total error {error['total_error']:+.1%})."
    )
    show_chart(
        px.bar(
            analysis.holdout,
            x="frequency_group",
            y=["actual_purchases", "predicted_purchases"],
            barmode="group",
            labels={"value": "mean purchases per customer", "frequency_group": "repeat purchases in calibration"},
        ).update_xaxes(type="category"),  # keeps the "7+" group (not a number) on the axis
        name="clv_holdout",
    )
