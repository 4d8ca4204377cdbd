"""My work: the signed-in user's follow-ups (overdue, due today), open tickets and today's birthdays."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission
from crm.records.relationships import my_work
from crm.settings import get_settings
from crm.ui.cache import cached
from crm.ui.my_work import work_sections
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.EDIT_RECORDS)
st.title("My work")
zone = get_settings().timezone
work = cached(my_work, actor.user_id, zone)
st.caption(f"Today is {work.today:%A %d %B %Y} ({zone.key}). Each name opens the customer.")
work_sections(engine, actor, work)
