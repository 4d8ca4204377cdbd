"""Customer 360's "Work with this customer" section: log an interaction, schedule a follow-up,
record a visit, open a ticket — each a form that writes through ``crm.records`` (permission,
validation and audit there) and says what it did.

Kept apart from ``crm.ui.customer_view`` (the read-only header, cards and tabs).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.relationships import (
    InteractionInput,
    RelationshipError,
    log_interaction,
    schedule_follow_up,
)
from crm.schema import INTERACTION_TYPES, PRIORITIES
from crm.settings import get_settings
from crm.ui.form_flow import done, flash, form_key
from crm.ui.ticket_view import customer_360_ticket_entry
from crm.ui.visit_form import local_to_utc, visit_form
from crm.ui.widgets import readable

__all__ = ["relationship_actions"]


def _now_local() -> datetime:
    return datetime.now(get_settings().timezone).replace(second=0, microsecond=0)


def _interaction_form(engine: Engine, actor: Actor, customer_id: int, key: str) -> None:
    flash(key)
    form = form_key(key)
    now = _now_local()
    columns = st.columns(3)
    kind = columns[0].selectbox("Type", INTERACTION_TYPES, format_func=readable, key=f"{form}_type")
    priority = columns[1].selectbox("Priority", PRIORITIES, index=1, format_func=readable, key=f"{form}_priority")
    minutes = columns[2].number_input("Minutes", value=None, step=1, key=f"{form}_minutes")
    subject = st.text_input("Subject", key=f"{form}_subject", max_chars=200)
    outcome = st.text_input("Outcome", key=f"{form}_outcome", max_chars=200, placeholder="What came of it")
    notes = st.text_area("Notes", key=f"{form}_notes", height=68)
    when = st.columns(2)
    day = when[0].date_input("Day", value=now.date(), key=f"{form}_day")
    clock = when[1].time_input("Time", value=now.time(), key=f"{form}_time", step=300)
    if not st.button("Log the interaction", type="primary", key=f"{form}_save", icon=":material/call:"):
        return
    try:
        log_interaction(
            engine,
            actor,
            InteractionInput(
                customer_id=customer_id,
                interaction_type=str(kind),
                subject=subject,
                occurred_at=local_to_utc(day, clock),
                priority=str(priority),
                outcome=outcome,
                notes=notes,
                duration_minutes=int(minutes) if minutes is not None else None,
            ),
        )
    except (RelationshipError, PermissionDeniedError) as error:
        st.error(str(error))
        return
    done(key, "Interaction logged; the customer's last contact is updated.")


def _follow_up_form(engine: Engine, actor: Actor, customer_id: int, key: str) -> None:
    flash(key)
    form = form_key(key)
    tomorrow = _now_local().date() + timedelta(days=1)
    subject = st.text_input("What to follow up", key=f"{form}_subject", max_chars=200)
    columns = st.columns(3)
    day = columns[0].date_input("Due day", value=tomorrow, key=f"{form}_day")
    clock = columns[1].time_input("Time", value=time(9, 0), key=f"{form}_time", step=900)
    priority = columns[2].selectbox("Priority", PRIORITIES, index=1, format_func=readable, key=f"{form}_priority")
    notes = st.text_area("Notes", key=f"{form}_notes", height=68)
    if not st.button("Schedule the follow-up", type="primary", key=f"{form}_save", icon=":material/event:"):
        return
    try:
        schedule_follow_up(
            engine, actor, customer_id, subject, local_to_utc(day, clock), notes=notes, priority=str(priority)
        )
    except (RelationshipError, PermissionDeniedError) as error:
        st.error(str(error))
        return
    done(key, f"Follow-up scheduled for {day:%d %b %Y} {clock:%H:%M}; it is on your My work page.")


def relationship_actions(engine: Engine, actor: Actor, customer_id: int) -> None:
    """The four forms as tabs, for roles that may edit records (the ticket tab for roles that manage tickets)."""
    if not allowed(actor.role, Permission.EDIT_RECORDS):
        return
    st.subheader("Work with this customer")
    names = ["Log an interaction", "Schedule a follow-up", "Record a visit"]
    may_ticket = allowed(actor.role, Permission.MANAGE_TICKETS)
    if may_ticket:
        names.append("Open a ticket")
    tabs = st.tabs(names)
    prefix = f"c360_{customer_id}"
    with tabs[0]:
        _interaction_form(engine, actor, customer_id, f"{prefix}_interaction")
    with tabs[1]:
        _follow_up_form(engine, actor, customer_id, f"{prefix}_follow_up")
    with tabs[2]:
        visit_form(engine, actor, key=f"{prefix}_visit", customer_id=customer_id)
    if may_ticket:
        with tabs[3]:
            # The service desk's form (crm.service.tickets: race-free numbering, the "opened" note, audit).
            customer_360_ticket_entry(engine, actor, customer_id)
