"""Notifications: my digests by mail, the alerts open for me, and (managers) the alert settings."""

from __future__ import annotations

import streamlit as st

from crm.permissions import Permission, allowed
from crm.ui import notifications_view as view
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.sidebar import current_filters

engine = get_engine()
actor = require_page_permission(engine, Permission.VIEW_RECORDS)
st.title("Notifications")
view.show_flash()
filters = current_filters()
view.my_alerts(engine, actor)
view.my_digests(engine, actor, filters)
if allowed(actor.role, Permission.MANAGE_ALERTS):
    view.alert_settings(engine, actor)
view.everyones_digests(engine, actor, filters)
