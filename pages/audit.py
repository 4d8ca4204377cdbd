"""Admin: the audit log, filtered by user, action, entity and date, with CSV export."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from crm.audit import AuditQuery, audit_choices, audit_entries, export_audit_csv
from crm.auth import active_actor
from crm.permissions import Permission, PermissionDeniedError
from crm.schema import AUDIT_ACTIONS, utc_now
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_AUDIT)
# Rows drawn on the page; the CSV export holds every matching row.
SHOWN_ROWS = 1_000

st.title("Audit log")
choices = audit_choices(engine, actor)
today = utc_now().date()
user_column, action_column, entity_column, date_column = st.columns(4)
username = user_column.selectbox("User", choices.usernames, index=None, placeholder="Everyone")
action = action_column.selectbox("Action", AUDIT_ACTIONS, index=None, placeholder="Every action")
entity = entity_column.selectbox("Entity", choices.entities, index=None, placeholder="Everything")
picked = date_column.date_input("Days (UTC)", value=(today - timedelta(days=29), today), max_value=today)
start_date, end_date = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (None, None)
query = AuditQuery(username=username, action=action, entity=entity, start_date=start_date, end_date=end_date)

entries = audit_entries(engine, actor, query)
st.caption(f"{len(entries):,} entries, newest first (times in UTC).")
if entries.empty:
    st.info("No audit entries match these filters.")
else:
    st.dataframe(
        entries.head(SHOWN_ROWS),
        hide_index=True,
        column_config={
            "id": None,
            "at": st.column_config.DatetimeColumn("At", format="YYYY-MM-DD HH:mm:ss"),
            "username": "User",
            "action": "Action",
            "entity": "Entity",
            "entity_id": "ID",
            "before": "Before",
            "after": "After",
        },
    )


def _export() -> bytes:
    # Built (and audited) when the button is pressed; the user must still be active then.
    who = active_actor(engine, actor.username)
    if who is None:
        raise PermissionDeniedError("Your account is no longer active.")
    return export_audit_csv(engine, who, query)


st.download_button(
    "Download CSV",
    data=_export,
    file_name=f"audit_log_{today.isoformat()}.csv",
    mime="text/csv",
    icon=":material/download:",
    disabled=entries.empty,
)
