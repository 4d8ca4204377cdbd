"""Customer 360: one customer's profile, value, orders, payments, visits, interactions and tickets."""

from __future__ import annotations

import streamlit as st

from crm.analytics.clv import customer_value
from crm.permissions import Permission
from crm.records.customer360 import customer_360
from crm.ui.cache import cached
from crm.ui.clv_view import page_analysis, shop_filters
from crm.ui.customer_actions import relationship_actions
from crm.ui.customer_choice import choose_customer, remember_customer
from crm.ui.customer_view import activity_tabs, customer_header, value_cards
from crm.ui.loyalty_view import customer_loyalty
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.widgets import empty_state

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Customer 360")

# The customer is the one in the address (?customer=ID): grid links, searches and reloads agree.
customer_id = choose_customer()
if customer_id is None:
    st.info("Find a customer by name, email or phone, or pick a recent one.", icon=":material/person_search:")
    st.stop()
view = cached(customer_360, customer_id)
if view is None:
    empty_state(f"There is no customer #{customer_id}: it may have been deleted or merged into another.")
    st.stop()
remember_customer(customer_id)

customer_header(view)
# The Lifetime value page's default model over every customer, in the app's time zone (one cached
# fit shared with that page); this only picks the customer's row.
analysis = page_analysis(shop_filters())
value_cards(view, customer_value(analysis, customer_id))
relationship_actions(engine, actor, customer_id)
activity_tabs(view)
customer_loyalty(engine, actor, customer_id)
