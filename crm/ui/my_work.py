"""The My work page's sections: follow-ups overdue and due today, open tickets, birthdays today.

Every item is a link that opens the customer in Customer 360 (``?customer=ID``); overdue and
due follow-ups can be marked done here (the contact is logged, ``complete_follow_up``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.relationships import MyWork, RelationshipError, complete_follow_up
from crm.settings import get_settings
from crm.ui.cache import invalidate
from crm.ui.plain import escape_markdown
from crm.ui.widgets import readable

__all__ = ["CUSTOMER_360", "customer_link", "work_sections"]

CUSTOMER_360 = "pages/customer_360.py"


def customer_link(customer_id: int, text: str) -> None:
    """A link opening the customer in Customer 360; ``text`` is stored text, shown plain."""
    st.page_link(
        CUSTOMER_360,
        label=escape_markdown(text) or f"Customer {customer_id}",
        icon=":material/person:",
        query_params={"customer": str(customer_id)},
    )


def _local(moment: datetime) -> str:
    local = pd.Timestamp(moment).to_pydatetime().replace(tzinfo=UTC).astimezone(get_settings().timezone)
    return f"{local:%d %b %H:%M}"


def _follow_ups(engine: Engine, actor: Actor, frame: pd.DataFrame, *, title: str, empty: str, key: str) -> None:
    st.subheader(f"{title} ({len(frame)})", anchor=False)
    if frame.empty:
        st.caption(empty)
        return
    may_edit = allowed(actor.role, Permission.EDIT_RECORDS)
    for row in frame.itertuples(index=False):
        columns = st.columns([3, 4, 2, 2])
        with columns[0]:
            customer_link(int(row.customer_id), str(row.customer))
        columns[1].text(f"{row.subject} · {readable(row.interaction_type)} · {readable(row.priority)}")
        columns[2].text(f"Due {_local(row.follow_up_at)}")
        if may_edit and columns[3].button("Done", key=f"{key}_done_{row.id}", icon=":material/task_alt:"):
            try:
                complete_follow_up(engine, actor, int(row.id))
            except (RelationshipError, PermissionDeniedError) as error:
                st.error(str(error))
                continue
            invalidate()
            # The subject is stored text: shown plain inside the markdown-rendering success box.
            subject = escape_markdown(row.subject)
            st.session_state["my_work__flash"] = f"Follow-up done: {subject}. The contact is logged."
            st.rerun()


def _tickets(frame: pd.DataFrame) -> None:
    st.subheader(f"My open tickets ({len(frame)})", anchor=False)
    if frame.empty:
        st.caption("No open tickets assigned to you.")
        return
    for row in frame.itertuples(index=False):
        columns = st.columns([3, 5, 3])
        with columns[0]:
            customer_link(int(row.customer_id), str(row.customer))
        columns[1].text(f"{row.ticket_number} · {row.subject}")
        columns[2].text(f"{readable(row.status)} · {readable(row.priority)} · opened {_local(row.created_at)}")


def _birthdays(frame: pd.DataFrame) -> None:
    st.subheader(f"Birthdays today ({len(frame)})", anchor=False)
    if frame.empty:
        st.caption("No customer has a birthday today.")
        return
    for row in frame.itertuples(index=False):
        columns = st.columns([3, 5])
        with columns[0]:
            customer_link(int(row.customer_id), str(row.customer))
        contact = " · ".join(str(part) for part in (row.email, row.phone) if part)
        columns[1].text(f"turns {row.turning} · {contact}")


def work_sections(engine: Engine, actor: Actor, work: MyWork) -> None:
    """Every section of the page, in order of urgency."""
    flash = st.session_state.pop("my_work__flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    _follow_ups(
        engine, actor, work.overdue, title="Overdue follow-ups", empty="Nothing overdue.", key="my_work_overdue"
    )
    _follow_ups(
        engine,
        actor,
        work.due_today,
        title="Follow-ups due today",
        empty="No follow-ups due today.",
        key="my_work_today",
    )
    _tickets(work.open_tickets)
    _birthdays(work.birthdays)
