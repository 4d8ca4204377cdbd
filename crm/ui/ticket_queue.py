"""The Service desk queue (filters, counts per status, urgency-sorted table, ticket picker) and the SLA
targets editor."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, allowed
from crm.schema import PRIORITIES, TICKET_CATEGORIES, TICKET_STATUSES
from crm.service.queue import QueueQuery, assignable_users, status_counts, ticket_queue
from crm.service.sla import OPEN_STATUSES, sla_policies_list, update_sla_policy
from crm.service.tickets import word
from crm.settings import get_settings
from crm.ui.cache import invalidate
from crm.ui.ticket_view import OPEN_TICKET_STATE

__all__ = ["open_ticket_from_address", "queue_filters", "queue_picker", "sla_editor"]

# Rows the queue table shows (most urgent first); the counts cover every matching ticket.
QUEUE_ROWS = 200
UNASSIGNED = -1


def open_ticket_from_address() -> None:
    """``/service_desk?ticket=CS…`` opens that ticket (links from other pages); the address is then cleared
    so the picker decides again."""
    number = st.query_params.get("ticket")
    if number:
        st.session_state[OPEN_TICKET_STATE] = str(number).strip().upper()
        del st.query_params["ticket"]


def queue_filters(engine: Engine, actor: Actor) -> QueueQuery:
    """The filter row and the counts per status; returns the query they describe."""
    staff = assignable_users(engine)
    people = {UNASSIGNED: "Unassigned", **dict(zip(staff["id"].map(int), staff["label"], strict=True))}
    top = st.columns([2, 2, 2, 2])
    statuses = top[0].multiselect(
        "Status", TICKET_STATUSES, default=list(OPEN_STATUSES), format_func=word, key="q_status"
    )
    priorities = top[1].multiselect("Priority", PRIORITIES, key="q_priority")
    categories = top[2].multiselect("Category", TICKET_CATEGORIES, format_func=word, key="q_category")
    assignees = top[3].multiselect("Assignee", list(people), format_func=people.get, key="q_assignee")
    bottom = st.columns([4, 1, 1])
    search = bottom[0].text_input(
        "Customer or ticket", key="q_search", placeholder="Name, email, phone, ticket number or subject"
    )
    mine = bottom[1].toggle("Mine", key="q_mine", help="Only tickets assigned to you (instead of the Assignee filter).")
    overdue = bottom[2].toggle(
        "Overdue",
        key="q_overdue",
        help="Only tickets past their SLA target (first response while unanswered, else resolution).",
    )
    chosen = {int(person) for person in assignees if person != UNASSIGNED}
    if mine:
        # The built-in system user has no id: "mine" then matches nobody's tickets.
        chosen = {actor.user_id if actor.user_id is not None else 0}
    query = QueueQuery(
        statuses=tuple(statuses),
        priorities=tuple(priorities),
        categories=tuple(categories),
        assignee_ids=tuple(sorted(chosen)),
        unassigned=UNASSIGNED in assignees and not mine,
        overdue_only=overdue,
        search=search,
    )
    counts = status_counts(engine, query)
    cells = st.columns(len(TICKET_STATUSES))
    for cell, status in zip(cells, TICKET_STATUSES, strict=True):
        cell.metric(
            word(status).capitalize(), f"{counts[status]:,}", help="Tickets in this status under the other filters."
        )
    return query


def queue_picker(engine: Engine, query: QueueQuery) -> str | None:
    """The queue table, most urgent first, and the picker of the ticket to open (its number, or None)."""
    frame = ticket_queue(engine, query, limit=QUEUE_ROWS)
    if frame.empty:
        st.info("No ticket matches these filters.")
    else:
        shown = frame.assign(
            status=frame["status"].map(word),
            category=frame["category"].map(word),
            assignee=frame["assignee"].fillna("—"),
            # Stored UTC, shown in the app's time zone like every other time on the page.
            created_at=pd.to_datetime(frame["created_at"])
            .dt.tz_localize("UTC")
            .dt.tz_convert(get_settings().timezone)
            .dt.tz_localize(None),
        )
        st.dataframe(
            shown[
                [
                    "ticket_number",
                    "sla",
                    "subject",
                    "customer",
                    "status",
                    "priority",
                    "category",
                    "assignee",
                    "created_at",
                ]
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "ticket_number": "Ticket",
                "sla": "SLA",
                "subject": "Subject",
                "customer": "Customer",
                "status": "Status",
                "priority": "Priority",
                "category": "Category",
                "assignee": "Assignee",
                "created_at": st.column_config.DatetimeColumn(
                    f"Opened ({get_settings().timezone_name})", format="YYYY-MM-DD HH:mm"
                ),
            },
        )
        if len(frame) == QUEUE_ROWS:
            st.caption(f"The {QUEUE_ROWS} most urgent tickets are shown; narrow the filters to see others.")
    return _picker(frame)


def _picker(frame: pd.DataFrame) -> str | None:
    labels = dict(zip(frame["ticket_number"], frame["ticket_number"] + " · " + frame["subject"], strict=True))
    current = st.session_state.get(OPEN_TICKET_STATE)
    if current and current not in labels:
        labels = {current: f"{current} (not in this view)", **labels}
    if not labels:
        return None
    options = [None, *labels]
    if st.session_state.get("q_open") not in options:
        st.session_state.pop("q_open", None)
    if current in labels:
        st.session_state["q_open"] = current
    number = st.selectbox(
        "Open a ticket",
        options,
        format_func=lambda value: "Choose a ticket…" if value is None else labels[value],
        key="q_open",
        on_change=_remember_choice,
    )
    return number


def _remember_choice() -> None:
    st.session_state[OPEN_TICKET_STATE] = st.session_state.get("q_open")


def _save_sla(engine: Engine, actor: Actor) -> None:
    messages: list[str] = []
    for policy in sla_policies_list(engine):
        first = int(st.session_state[f"sla_first_{policy.priority}"])
        resolution = int(st.session_state[f"sla_resolution_{policy.priority}"])
        if (first, resolution) == (policy.first_response_hours, policy.resolution_hours):
            continue
        try:
            update_sla_policy(
                engine,
                actor,
                policy.priority,
                first_response_hours=first,
                resolution_hours=resolution,
                expected_version=policy.version,
            )
            messages.append(f"{policy.priority}: saved")
        except ValueError as error:
            messages.append(f"{policy.priority}: {error}")
    invalidate()
    st.session_state["sla_message"] = "; ".join(messages) or "Nothing changed."


def sla_editor(engine: Engine, actor: Actor) -> None:
    """Targets per priority: editable by managers (audited), read-only for everyone else."""
    policies = sla_policies_list(engine)
    st.caption(
        "Hours from the ticket's creation. The first-response target runs until the first reply to the "
        "customer, then the resolution target; the clock keeps running while a ticket waits on the customer."
    )
    if not allowed(actor.role, Permission.MANAGE_SERVICE_SETTINGS):
        st.dataframe(
            pd.DataFrame(
                {
                    "Priority": [policy.priority for policy in policies],
                    "First response (h)": [policy.first_response_hours for policy in policies],
                    "Resolution (h)": [policy.resolution_hours for policy in policies],
                }
            ),
            hide_index=True,
        )
        st.caption(":material/lock: Managers edit the targets.")
        return
    for policy in policies:
        row = st.columns([1, 2, 2])
        row[0].markdown(f"**{policy.priority.capitalize()}**")
        row[1].number_input(
            "First response (hours)", 1, 24 * 366, policy.first_response_hours, key=f"sla_first_{policy.priority}"
        )
        row[2].number_input(
            "Resolution (hours)", 1, 24 * 366, policy.resolution_hours, key=f"sla_resolution_{policy.priority}"
        )
    st.button("Save SLA targets", key="sla_save", on_click=_save_sla, args=(engine, actor))
    message = st.session_state.pop("sla_message", None)
    if message:
        st.info(message)
