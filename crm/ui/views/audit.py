"""Sections of the Audit log page: the filter row, the newest entries and the downloads."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import streamlit as st
from sqlalchemy import Engine

from crm.audit import (
    AUDIT_VIEWS,
    DEFAULT_AUDIT_VIEW,
    AuditChoices,
    AuditQuery,
    actions_in_view,
    audit_entries,
    export_audit,
)
from crm.auth import active_actor
from crm.exports import EXCEL_MAX_DATA_ROWS, mime_type
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import AUDIT_ACTIONS

__all__ = ["SHOWN_ROWS", "audit_filters", "downloads", "entries_table"]

# Rows drawn on the page (a browser table of more is slow); the downloads hold every matching row.
SHOWN_ROWS = 1_000
# The period the page opens with: the last 30 days, today included.
DEFAULT_DAYS = 30


def audit_filters(choices: AuditChoices, today: date) -> AuditQuery:
    """Changes | Exports | Sign-ins | Everything (changes first), then user, action, entity, entity id
    and UTC days in one row; an empty choice filters nothing."""
    view = st.segmented_control(
        "Show",
        list(AUDIT_VIEWS),
        default=DEFAULT_AUDIT_VIEW,
        required=True,
        format_func=AUDIT_VIEWS.get,
        key="audit_view",
        help="Changes: records created, changed, deleted, imported or merged. Sign-ins: sign-ins and sign-outs.",
    )
    view = view or DEFAULT_AUDIT_VIEW
    user_column, action_column, entity_column, id_column, date_column = st.columns([2, 2, 2, 1, 3])
    username = user_column.selectbox("User", choices.usernames, index=None, placeholder="Everyone")
    action = action_column.selectbox(
        "Action",
        actions_in_view(view, AUDIT_ACTIONS),
        index=None,
        placeholder="Every action",
        key=f"audit_action_{view}",
    )
    entity = entity_column.selectbox("Entity", choices.entities, index=None, placeholder="Everything")
    entity_id = id_column.text_input("Entity ID", placeholder="Any", help="The id of the changed row, exactly.")
    picked = date_column.date_input(
        "Days (UTC)", value=(today - timedelta(days=DEFAULT_DAYS - 1), today), max_value=today
    )
    start_date, end_date = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (None, None)
    return AuditQuery(username, action, entity, start_date, end_date, entity_id.strip() or None, view=view)


def entries_table(engine: Engine, actor: Actor, query: AuditQuery) -> None:
    """The newest ``SHOWN_ROWS`` matching entries."""
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


def _export(engine: Engine, username: str, query: AuditQuery, file_format: str) -> bytes:
    # Built (and audited) when the button is pressed; the user must still be active then.
    who = active_actor(engine, username)
    if who is None:
        raise PermissionDeniedError("Your account is no longer active.")
    return export_audit(engine, who, query, file_format=file_format)


def downloads(engine: Engine, actor: Actor, query: AuditQuery, total: int, today: date) -> None:
    """CSV and XLSX of every matching entry (XLSX refused beyond one Excel sheet)."""
    excel_refusal = "More rows than one Excel sheet holds; use CSV." if total > EXCEL_MAX_DATA_ROWS else None
    with st.container(horizontal=True):
        for file_format, refusal in (("csv", None), ("xlsx", excel_refusal)):
            st.download_button(
                f"Download {file_format.upper()}",
                data=partial(_export, engine, actor.username, query, file_format),
                file_name=f"audit_log_{today.isoformat()}.{file_format}",
                mime=mime_type(file_format),
                icon=":material/download:",
                disabled=total == 0 or refusal is not None,
                help=refusal,
            )
