"""Service desk: the ticket queue by urgency, one ticket's conversation and controls, new tickets, SLA targets."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.ticket_queue import open_ticket_from_address, queue_filters, queue_picker, sla_editor
from crm.ui.ticket_view import new_ticket_form, show_message, ticket_view

engine = get_engine()
actor = require_page_permission(engine, Permission.MANAGE_TICKETS)
st.title("Service desk")
open_ticket_from_address()

queue_tab, new_tab, sla_tab = st.tabs(["Queue", "New ticket", "SLA targets"])
with queue_tab:
    query = queue_filters(engine, actor)
    number = queue_picker(engine, query)
    if number:
        st.divider()
        ticket_view(engine, actor, number)
    else:
        show_message()
with new_tab:
    new_ticket_form(engine, actor, key="desk_new")
with sla_tab:
    sla_editor(engine, actor)
