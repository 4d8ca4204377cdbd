"""Admin: the audit log, filtered by user, action, entity, entity id and date, with CSV/XLSX export."""

from __future__ import annotations

import streamlit as st

from crm.audit import audit_choices, count_audit_entries, entries_sentence
from crm.permissions import Permission
from crm.schema import utc_now
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.views import audit as view

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_AUDIT)
st.title("Audit log")
today = utc_now().date()
query = view.audit_filters(audit_choices(engine, actor), today)

total = count_audit_entries(engine, actor, query)
st.caption(entries_sentence(total, shown=view.SHOWN_ROWS))
if total == 0:
    st.info("No audit entries match these filters.")
else:
    view.entries_table(engine, actor, query)
view.downloads(engine, actor, query, total, today)
