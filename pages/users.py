"""Admin: users, roles, deactivation and password resets (every change is audited by crm.auth)."""

from __future__ import annotations

import streamlit as st

from crm import auth
from crm.permissions import Permission
from crm.ui.resources import get_engine
from crm.ui.session import require_page_permission
from crm.ui.views import users as view

engine = get_engine()
actor = require_page_permission(engine, Permission.MANAGE_USERS)

st.title("Users")
view.show_outcome()
people = auth.list_users(engine, actor)
view.users_table(people)
usernames = [person.username for person in people]

add, role, access, password = st.tabs(["Add user", "Change role", "Deactivate / reactivate", "Reset password"])
with add:
    view.add_user_form(engine)
with role:
    view.change_role_form(engine, usernames)
with access:
    view.access_form(engine, usernames)
with password:
    view.reset_password_form(engine, usernames)
