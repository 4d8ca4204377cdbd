"""Customer lifetime value: BG/NBD + Gamma-Gamma predictions, value tiers, churn risk, holdout check."""

from __future__ import annotations

import streamlit as st

from crm.analytics.clv import MODEL_WORDS, UNIT_WORDS, clv_analysis
from crm.permissions import Permission
from crm.ui.cache import cached
from crm.ui.clv_view import cohort_trend, holdout_check, model_notes, overview_cards, tiers_and_sources, top_table
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption

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
model_notes(analysis)
overview_cards(analysis)
tiers_and_sources(analysis, actor)
cohort_trend(analysis)
top_table(analysis, actor)
holdout_check(analysis)
