"""Customer lifetime value in a shop manager's words: what customers will likely spend, who is slipping
away and what to do; the model, its parameters, P(alive) and the holdout check are "For analysts"."""

from __future__ import annotations

import streamlit as st

from crm.analytics.clv import DEFAULT_HORIZON_MONTHS, DEFAULT_UNIT, MODEL_WORDS, UNIT_WORDS
from crm.permissions import Permission
from crm.ui.clv_view import (
    as_of_input,
    cohort_trend,
    customer_lookup,
    holdout_check,
    model_caption,
    model_notes,
    overview_cards,
    page_analysis,
    refit_button,
    save_people_as_segment,
    slipping_away,
    tiers_and_sources,
    top_table,
)
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters
from crm.ui.widgets import empty_state, filter_caption

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_ANALYTICS)
st.title("Customer lifetime value")
# The manager's answers come first; the analysts' controls sit below them but are read first.
answers = st.container()
analysts = st.expander("For analysts: model, parameters, P(alive), holdout check", icon=":material/science:")
controls = analysts.columns([1.3, 1, 1, 1, 1])
whole_history = controls[4].toggle(
    "Whole history",
    value=True,
    key="clv_all_history",
    help="Include each customer's orders before the period's start: the models need whole histories. "
    "The period's end still applies.",
)
filters = current_filters()
if whole_history:
    filters = filters.with_dates(None, filters.end_date)
as_of = as_of_input(controls[0], filters)
units = list(UNIT_WORDS)
unit = controls[1].selectbox("Time unit", units, units.index(DEFAULT_UNIT), format_func=UNIT_WORDS.get, key="clv_unit")
horizon = controls[2].number_input("Horizon (months)", 1, 60, DEFAULT_HORIZON_MONTHS, key="clv_horizon")
model = controls[3].selectbox("Model", list(MODEL_WORDS), format_func=MODEL_WORDS.get, key="clv_model")
analysis = page_analysis(filters, as_of=as_of, unit=unit, horizon=int(horizon), model=model)
with answers:
    filter_caption(filters, "Revenue orders")
    if analysis.customers.empty:
        empty_state(analysis.message or "Nothing matches these filters.")
        st.stop()
    if analysis.message:
        st.warning(analysis.message, icon=":material/warning:")
    st.subheader(f"What will each customer likely spend in the next {analysis.horizon} months?")
    overview_cards(analysis)
    tiers_and_sources(analysis, actor)
    top_table(analysis, actor)
    customer_lookup(analysis)
    st.subheader("Who is slipping away and what should I do?")
    slipping_away(analysis, actor)
    save_people_as_segment(analysis, actor)
    cohort_trend(analysis)
with analysts:
    refit_button(filters, as_of=as_of, unit=unit, model=model)
    model_caption(analysis)
    model_notes(analysis)
    holdout_check(analysis)
