"""Customer 360: one customer's profile, value, orders, payments, visits, interactions and tickets."""

from __future__ import annotations

import streamlit as st

from crm.analytics.clv import clv_analysis
from crm.permissions import Permission
from crm.records.customer360 import customer_360, prediction_for
from crm.records.orders import customer_choices
from crm.ui.cache import cached
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.widgets import empty_state, format_money, format_percent, kpi_card

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Customer 360")

search = st.text_input("Find a customer", key="c360_search", placeholder="Name, email, phone or company")
choices = cached(customer_choices, search)
if choices.empty:
    empty_state("No customer matches that search.")
    st.stop()
labels = dict(zip(choices["id"], choices["label"], strict=True))
customer_id = st.selectbox("Customer", list(labels), format_func=labels.get, key="c360_customer")
view = cached(customer_360, int(customer_id))
if view is None:
    empty_state("That customer no longer exists.")
    st.stop()

profile, summary = view.profile, view.summary
name = " ".join(part for part in (profile["first_name"], profile["last_name"]) if part) or profile["company"]
st.subheader(f"{name} · {profile['status']} {profile['customer_type']} · {summary.loyalty_tier.title()} tier")
st.caption(
    " · ".join(
        str(v)
        for v in (
            profile["email"],
            profile["phone"],
            profile["company"],
            profile["city"],
            profile["country"],
            profile["source"],
            profile["brand"],
        )
        if v
    )
)
first, second = st.columns(4), st.columns(4)
with first[0]:
    kpi_card("Total spent", format_money(summary.total_spent), "Sum of order totals, excluding cancelled/refunded.")
with first[1]:
    kpi_card("Orders", f"{summary.order_count:,}", f"Counted orders (of {summary.all_orders:,} in any status).")
with first[2]:
    kpi_card("Average order value", format_money(summary.average_order_value), "Total spent ÷ counted orders.")
with first[3]:
    kpi_card(
        "Loyalty points", f"{summary.loyalty_points:,}", "bronze < 1000 ≤ silver < 5000 ≤ gold < 10000 ≤ platinum."
    )
with second[0]:
    kpi_card("First purchase", f"{summary.first_purchase:%d %b %Y}" if summary.first_purchase else "—", "UTC.")
with second[1]:
    kpi_card("Last purchase", f"{summary.last_purchase:%d %b %Y}" if summary.last_purchase else "—", "UTC.")
with st.spinner("Fitting the lifetime-value model…"):
    prediction = prediction_for(cached(clv_analysis), int(customer_id))
with second[2]:
    kpi_card(
        "Predicted CLV",
        format_money(prediction.predicted_value),
        f"BG/NBD + Gamma-Gamma, next {prediction.horizon_months} months, discounted.",
    )
with second[3]:
    kpi_card("P(alive)", format_percent(prediction.p_alive), "Probability the customer is still active (BG/NBD).")
if not prediction.available:
    st.info(prediction.message, icon=":material/hourglass_empty:")
if summary.follow_ups_due or summary.open_tickets:
    st.warning(f"{summary.follow_ups_due} follow-up(s) due · {summary.open_tickets} open ticket(s).")

tabs = st.tabs(["Orders", "Transactions", "Visits & payments", "Interactions", "Follow-ups", "Tickets", "Notes"])
for tab, frame in zip(tabs[:2], (view.orders, view.transactions), strict=True):
    tab.dataframe(frame, hide_index=True, use_container_width=True)
tabs[2].dataframe(view.visits, hide_index=True, use_container_width=True)
tabs[2].dataframe(view.visit_payments, hide_index=True, use_container_width=True)
for tab, frame in zip(tabs[3:6], (view.interactions, view.follow_ups, view.tickets), strict=True):
    tab.dataframe(frame, hide_index=True, use_container_width=True)
tabs[6].write(profile["notes"] or "No notes.")
