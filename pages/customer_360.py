"""Customer 360: one customer's profile, value, orders, payments, visits, interactions and tickets."""

from __future__ import annotations

import streamlit as st

from crm.analytics.clv import clv_analysis
from crm.permissions import Permission
from crm.records.customer360 import customer_360, prediction_for
from crm.records.orders import customer_choices
from crm.ui.cache import cached
from crm.ui.customer_view import activity_tabs, customer_header, value_cards
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.widgets import empty_state

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Customer 360")

search = st.text_input("Find a customer", key="c360_search", placeholder="Name, email, phone or company")
choices = cached(customer_choices, search)
if choices.empty:
    empty_state("No customer matches that search.")
    st.stop()
labels = dict(zip(choices["id"], choices["label"], strict=True))
customer_id = int(st.selectbox("Customer", list(labels), format_func=labels.get, key="c360_customer"))
view = cached(customer_360, customer_id)
if view is None:
    empty_state("That customer no longer exists.")
    st.stop()

customer_header(view)
with st.spinner("Fitting the lifetime-value model…"):
    # One fit for all customers (cached), as on the Lifetime value page; this picks the customer's row.
    prediction = prediction_for(cached(clv_analysis), customer_id)
value_cards(view, prediction)
activity_tabs(view)
