"""Admin: the audit log, filtered by user, action, entity, entity id and date, with CSV/XLSX export."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import streamlit as st

from crm.audit import (
    AuditQuery,
    audit_choices,
    audit_entries,
    count_audit_entries,
    entries_sentence,
    export_audit,
)
from crm.auth import active_actor
from crm.exports import EXCEL_MAX_DATA_ROWS, mime_type
from crm.permissions import Permission, PermissionDeniedError
from crm.schema import AUDIT_ACTIONS, utc_now
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_AUDIT)
# Rows drawn on the page (a browser table of more is slow); the downloads hold every matching row.
SHOWN_ROWS = 1_000

st.title("Audit log")
choices = audit_choices(engine, actor)
today = utc_now().date()
user_column, action_column, entity_column, id_column, date_column = st.columns([2, 2, 2, 1, 3])
username = user_column.selectbox("User", choices.usernames, index=None, placeholder="Everyone")
action = action_column.selectbox("Action", AUDIT_ACTIONS, index=None, placeholder="Every action")
entity = entity_column.selectbox("Entity", choices.entities, index=None, placeholder="Everything")
entity_id = id_column.text_input("Entity ID", placeholder="Any", help="The id of the changed row, exactly.")
picked = date_column.date_input("Days (UTC)", value=(today - timedelta(days=29), today), max_value=today)
start_date, end_date = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (None, None)
query = AuditQuery(username, action, entity, start_date, end_date, entity_id.strip() or None)

total = count_audit_entries(engine, actor, query)
st.caption(entries_sentence(total, shown=SHOWN_ROWS))
if total == 0:
    st.info("No audit entries match these filters.")
else:
    st.dataframe(
        audit_entries(engine, actor, query, limit=SHOWN_ROWS),
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


def _export(file_format: str) -> bytes:
    # Built (and audited) when the button is pressed; the user must still be active then.
    who = active_actor(engine, actor.username)
    if who is None:
        raise PermissionDeniedError("Your account is no longer active.")
    return export_audit(engine, who, query, file_format=file_format)


excel_refusal = "More rows than one Excel sheet holds; use CSV." if total > EXCEL_MAX_DATA_ROWS else None
with st.container(horizontal=True):
    for file_format, refusal in (("csv", None), ("xlsx", excel_refusal)):
        st.download_button(
            f"Download {file_format.upper()}",
            data=partial(_export, file_format),
            file_name=f"audit_log_{today.isoformat()}.{file_format}",
            mime=mime_type(file_format),
            icon=":material/download:",
            disabled=total == 0 or refusal is not None,
            help=refusal,
        )
