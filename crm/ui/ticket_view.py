"""One ticket on the Service desk page (customer card, order, conversation, controls) and the new-ticket
form, which Customer 360 also shows (``customer_360_ticket_entry``).

Writes run in button callbacks (so inputs can be reset before they are drawn again) and leave their
outcome in ``st.session_state[MESSAGE_STATE]``, shown above the ticket on the next run. Everything a user
or the customer wrote is shown through crm.ui.plain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.schema import PRIORITIES, TICKET_CATEGORIES
from crm.service.numbering import TicketNumberError
from crm.service.queue import TicketDetail, TicketNote, assignable_users, customer_choices, order_choices, ticket_detail
from crm.service.tickets import (
    NOTE_LABELS,
    TicketError,
    add_note,
    allowed_transitions,
    change_status,
    create_ticket,
    record_satisfaction,
    update_ticket,
    word,
)
from crm.settings import get_settings
from crm.ui.cache import invalidate
from crm.ui.customer_choice import CUSTOMER_PARAMETER
from crm.ui.knowledge_view import article_link_picker
from crm.ui.plain import escape_markdown, plain_caption, plain_heading, plain_text

__all__ = [
    "MESSAGE_STATE",
    "OPEN_TICKET_STATE",
    "REPLY_BODY_STATE",
    "customer_360_ticket_entry",
    "new_ticket_form",
    "show_message",
    "ticket_view",
]

# The ticket the desk shows (a ticket number), shared by the queue picker and the new-ticket form.
OPEN_TICKET_STATE = "desk_ticket"
# The reply box's text. Other widgets may put text into it from a button callback (see ticket_view).
REPLY_BODY_STATE = "ticket_reply_body"
MESSAGE_STATE = "desk_message"
NOTE_CHOICES = ("customer_reply", "internal", "customer_message")
REFUSALS = (TicketError, TicketNumberError, PermissionDeniedError, ValueError)


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return f"{moment.replace(tzinfo=UTC).astimezone(get_settings().timezone):%d %b %Y %H:%M}"


def _id(value: Any) -> int | None:
    """A picked id as a plain int (pickers hold numpy integers, which database drivers refuse)."""
    return None if value is None else int(value)


def _run_write(write: Callable[[], Any], success: str) -> bool:
    """Run a write from a callback; its outcome is shown on the next run (``show_message``)."""
    try:
        write()
    except REFUSALS as error:
        st.session_state[MESSAGE_STATE] = ("error", str(error))
        return False
    invalidate()
    st.session_state[MESSAGE_STATE] = ("success", success)
    return True


def show_message(state_key: str = MESSAGE_STATE) -> None:
    """The last write's outcome (once)."""
    outcome = st.session_state.pop(state_key, None)
    if outcome is None:
        return
    kind, text = outcome
    (st.success if kind == "success" else st.error)(escape_markdown(text))


# ---------------------------------------------------------------------------------------------
# The ticket


def _customer_card(detail: TicketDetail) -> None:
    with st.container(border=True):
        st.markdown("**Customer**")
        plain_text(detail.customer_name)
        for value in (detail.customer_email, detail.customer_phone):
            if value:
                plain_caption(value)
        st.button(
            "Open in Customer 360",
            key="desk_open_c360",
            icon=":material/person_search:",
            on_click=_to_customer_360,
            args=(detail.customer_id,),
        )
        customer_to_open = st.session_state.pop("desk_go_c360", None)
        if customer_to_open is not None:
            # Customer 360 shows the customer its address names (?customer=ID).
            st.switch_page("pages/customer_360.py", query_params={CUSTOMER_PARAMETER: str(customer_to_open)})
        st.markdown("**Order**")
        if detail.order_number is None:
            st.caption("Not about a particular order.")
        else:
            plain_text(detail.order_number)
            total = "—" if detail.order_total is None else f"{detail.order_total:,.2f}"
            st.caption(f"{_local(detail.order_date)} · {word(detail.order_status)} · total {total}")


def _to_customer_360(customer_id: int) -> None:
    st.session_state["desk_go_c360"] = customer_id


def _note_entry(note: TicketNote) -> None:
    who = note.author or "system"
    when = _local(note.created_at)
    if note.note_type == "system":
        st.caption(f":material/settings: {escape_markdown(note.body)} · {when}")
        return
    label = NOTE_LABELS.get(note.note_type, note.note_type)
    icons = {
        "customer_reply": ":material/reply:",
        "customer_message": ":material/person:",
        "internal": ":material/lock:",
        "resolution": ":material/task_alt:",
    }
    with st.container(border=True):
        heading = f"{icons.get(note.note_type, '')} **{label}** · {escape_markdown(who)} · {when}"
        if note.note_type == "internal":
            # Internal notes are for staff: never read as something the customer was told.
            st.markdown(f":orange-background[{heading}]")
        elif note.note_type == "resolution":
            st.markdown(f":green-background[{heading}]")
        else:
            st.markdown(heading)
        plain_text(note.body)


def _timeline(detail: TicketDetail) -> None:
    st.markdown("**Conversation**")
    if detail.description:
        with st.container(border=True):
            st.markdown(f":material/person: **Message from the customer** · {_local(detail.created_at)}")
            plain_text(detail.description)
    for note in detail.notes:
        _note_entry(note)


def _add_note(engine: Engine, actor: Actor, number: str, version: int) -> None:
    note_type = st.session_state["ticket_reply_type"]
    body = st.session_state.get(REPLY_BODY_STATE, "")
    if _run_write(
        lambda: add_note(engine, actor, number, note_type=note_type, body=body, expected_version=version),
        f"{NOTE_LABELS[note_type]} added to {number}.",
    ):
        st.session_state[REPLY_BODY_STATE] = ""


def _reply_form(engine: Engine, actor: Actor, detail: TicketDetail) -> None:
    if detail.status == "closed":
        st.caption("The ticket is closed: reopen it to continue the conversation.")
        return
    st.radio(
        "Add to the conversation",
        NOTE_CHOICES,
        format_func=NOTE_LABELS.get,
        horizontal=True,
        key="ticket_reply_type",
    )
    # The knowledge-base link picker appends the chosen article's link to the reply in its button's
    # on_click callback; the text area below reads that key, so the link shows up in the reply being written.
    article_link_picker(engine, "ticket_kb", target_state=REPLY_BODY_STATE)
    st.text_area("Message", key=REPLY_BODY_STATE, height=120, placeholder="Write the reply or note…")
    st.button(
        "Add",
        key="ticket_reply_add",
        type="primary",
        icon=":material/send:",
        on_click=_add_note,
        args=(engine, actor, detail.number, detail.version),
    )


def _key(name: str, detail: TicketDetail) -> str:
    """A control's key for this version of the ticket: after any change the controls start from what is
    stored (removing a key from session state would not reset what the browser shows)."""
    return f"{name}_{detail.number}_{detail.version}"


def _change_status(engine: Engine, actor: Actor, detail: TicketDetail) -> None:
    status = st.session_state[_key("ticket_new_status", detail)]
    note = st.session_state.get(_key("ticket_status_note", detail), "")
    _run_write(
        lambda: change_status(engine, actor, detail.number, status, note=note, expected_version=detail.version),
        f"{detail.number} is now {word(status)}.",
    )


def _status_controls(engine: Engine, actor: Actor, detail: TicketDetail) -> None:
    targets = allowed_transitions(detail.status)
    reopen = detail.status in ("resolved", "closed")
    st.selectbox(
        "New status",
        targets,
        format_func=lambda status: "open (reopen)" if reopen and status == "open" else word(status),
        key=_key("ticket_new_status", detail),
    )
    resolving = st.session_state.get(_key("ticket_new_status", detail)) == "resolved"
    st.text_area(
        "Resolution (required to resolve)" if resolving else "Note (optional, kept as an internal note)",
        key=_key("ticket_status_note", detail),
        height=80,
    )
    st.button(
        "Change status",
        key="ticket_status_apply",
        on_click=_change_status,
        args=(engine, actor, detail),
    )


def _update_fields(engine: Engine, actor: Actor, detail: TicketDetail) -> None:
    state = st.session_state
    _run_write(
        lambda: update_ticket(
            engine,
            actor,
            detail.number,
            priority=state[_key("ticket_priority", detail)],
            category=state[_key("ticket_category", detail)],
            assignee_id=_id(state[_key("ticket_assignee", detail)]),
            expected_version=detail.version,
        ),
        f"{detail.number} updated.",
    )


def _field_controls(engine: Engine, actor: Actor, detail: TicketDetail) -> None:
    if detail.status == "closed":
        return
    staff = assignable_users(engine)
    labels: dict[int | None, str] = {None: "Unassigned", **dict(zip(staff["id"], staff["label"], strict=True))}
    if detail.assignee_id not in labels:
        labels[detail.assignee_id] = detail.assignee or f"user #{detail.assignee_id}"
    st.selectbox("Priority", PRIORITIES, index=PRIORITIES.index(detail.priority), key=_key("ticket_priority", detail))
    st.selectbox(
        "Category",
        TICKET_CATEGORIES,
        index=TICKET_CATEGORIES.index(detail.category),
        format_func=word,
        key=_key("ticket_category", detail),
    )
    options = list(labels)
    st.selectbox(
        "Assignee",
        options,
        index=options.index(detail.assignee_id),
        format_func=labels.get,
        key=_key("ticket_assignee", detail),
    )
    st.button("Save", key="ticket_fields_apply", on_click=_update_fields, args=(engine, actor, detail))


def _satisfaction(engine: Engine, actor: Actor, detail: TicketDetail) -> None:
    if detail.status != "closed":
        return
    st.select_slider(
        "Satisfaction (1–5)", options=[1, 2, 3, 4, 5], value=detail.satisfaction or 5, key=_key("ticket_csat", detail)
    )
    st.button(
        "Record satisfaction",
        key="ticket_csat_apply",
        on_click=lambda: _run_write(
            lambda: record_satisfaction(engine, actor, detail.number, st.session_state[_key("ticket_csat", detail)]),
            f"Satisfaction recorded on {detail.number}.",
        ),
    )


def ticket_view(engine: Engine, actor: Actor, number: str) -> None:
    """The ticket: heading, SLA, conversation and reply box (left); customer, order and controls (right)."""
    try:
        detail = ticket_detail(engine, number)
    except TicketError as error:
        st.warning(escape_markdown(str(error)))
        return
    plain_heading(f"{detail.number} · {detail.subject}")
    assignee = escape_markdown(detail.assignee or "unassigned")
    st.caption(
        f"{word(detail.status)} · {word(detail.priority)} priority · {word(detail.category)} · {assignee} · "
        f"opened {_local(detail.created_at)} · first response {_local(detail.first_response_at)} · "
        f"resolved {_local(detail.resolved_at)}"
        + ("" if detail.satisfaction is None else f" · satisfaction {detail.satisfaction}/5")
    )
    sla = detail.sla.sentence()
    if detail.sla.overdue:
        st.error(f"SLA: {sla}", icon=":material/timer_off:")
    elif detail.sla.target is not None:
        st.info(f"SLA: {sla} (due {_local(detail.sla.due_at)})", icon=":material/timer:")
    show_message()
    left, right = st.columns([2, 1])
    with left:
        _timeline(detail)
        if allowed(actor.role, Permission.MANAGE_TICKETS):
            _reply_form(engine, actor, detail)
    with right:
        _customer_card(detail)
        if allowed(actor.role, Permission.MANAGE_TICKETS):
            with st.container(border=True):
                st.markdown("**Status**")
                _status_controls(engine, actor, detail)
                _satisfaction(engine, actor, detail)
            with st.container(border=True):
                st.markdown("**Details**")
                _field_controls(engine, actor, detail)


# ---------------------------------------------------------------------------------------------
# New ticket (Service desk and Customer 360)


def _create(engine: Engine, actor: Actor, key: str, customer_id: int) -> None:
    state = st.session_state
    number: list[str] = []

    def write() -> None:
        number.append(
            create_ticket(
                engine,
                actor,
                customer_id=customer_id,
                subject=state.get(f"{key}_subject", ""),
                priority=state[f"{key}_priority"],
                category=state[f"{key}_category"],
                order_id=_id(state.get(f"{key}_order_{customer_id}")),
                body=state.get(f"{key}_body", ""),
            )
        )

    opened = _run_write(write, "Ticket opened.")
    # The form shows its own outcome (the ticket view may be in another tab).
    state[f"{key}_outcome"] = state.pop(MESSAGE_STATE)
    if opened:
        state[f"{key}_outcome"] = ("success", f"Ticket {number[0]} opened; the Service desk queue shows it.")
        state[OPEN_TICKET_STATE] = number[0]
        state[f"{key}_subject"] = ""
        state[f"{key}_body"] = ""


def new_ticket_form(engine: Engine, actor: Actor, *, key: str, customer_id: int | None = None) -> None:
    """Open a ticket: the customer (searched by name, email, phone or order number, unless given) and,
    optionally, one of their orders; subject, priority, category and the customer's message."""
    if not allowed(actor.role, Permission.MANAGE_TICKETS):
        st.caption(":material/lock: Your role may not open tickets.")
        return
    search = ""
    if customer_id is None:
        search = st.text_input(
            "Find the customer", key=f"{key}_search", placeholder="Name, email, phone or order number"
        )
        customers = customer_choices(engine, search)
        if customers.empty:
            st.info("No customer matches that search.")
            return
        labels = dict(zip(customers["id"], customers["label"], strict=True))
        customer_id = int(st.selectbox("Customer", list(labels), format_func=labels.get, key=f"{key}_customer"))
    # The customer's newest orders; a customer found by an order number comes with that order chosen.
    orders = order_choices(engine, customer_id)
    named = order_choices(engine, customer_id, search) if search.strip() else orders.iloc[0:0]
    exact = [
        (int(i), label)
        for i, label in zip(named["id"], named["label"], strict=True)
        if str(label).startswith(f"{search.strip()} · ")
    ]
    order_labels: dict[int | None, str] = {None: "No particular order", **dict(exact)}
    order_labels.update({int(i): label for i, label in zip(orders["id"], orders["label"], strict=True)})
    st.selectbox(
        "About the order",
        list(order_labels),
        index=1 if exact else 0,
        format_func=order_labels.get,
        key=f"{key}_order_{customer_id}",  # per customer: another customer's order is never kept chosen
    )
    st.text_input("Subject", key=f"{key}_subject", max_chars=200)
    left, right = st.columns(2)
    left.selectbox("Priority", PRIORITIES, index=PRIORITIES.index("medium"), key=f"{key}_priority")
    right.selectbox("Category", TICKET_CATEGORIES, format_func=word, key=f"{key}_category")
    st.text_area("What the customer wrote (optional)", key=f"{key}_body", height=100)
    st.button(
        "Open ticket",
        key=f"{key}_create",
        type="primary",
        icon=":material/add:",
        on_click=_create,
        args=(engine, actor, key, customer_id),
    )
    show_message(f"{key}_outcome")


def customer_360_ticket_entry(engine: Engine, actor: Actor, customer_id: int) -> None:
    """Customer 360's "Open a ticket" tab: the new-ticket form for this customer, then a link to the desk."""
    if not allowed(actor.role, Permission.MANAGE_TICKETS):
        return
    new_ticket_form(engine, actor, key=f"c360_ticket_{customer_id}", customer_id=customer_id)
    if st.session_state.get(OPEN_TICKET_STATE):
        st.page_link("pages/service_desk.py", label="Go to the Service desk", icon=":material/support_agent:")
