"""Admin: users, roles, deactivation and password resets (every change is audited by crm.auth)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from crm import auth
from crm.permissions import Actor, Permission, PermissionDeniedError
from crm.schema import ROLES
from crm.ui.resources import get_engine
from crm.ui.session import current_actor, require_page_permission

engine = get_engine()
actor = require_page_permission(engine, Permission.MANAGE_USERS)
state = st.session_state


def _apply(change: Callable[[Actor], str]) -> None:
    """Button callback: run ``change`` as the user signed in NOW (role re-read; crm.auth checks it again)."""
    try:
        who = current_actor(engine)
        if who is None:
            raise PermissionDeniedError("Please sign in again.")
        state["users_outcome"] = ("success", change(who))
    except (auth.UserError, PermissionDeniedError) as error:
        state["users_outcome"] = ("error", str(error))


def _add(who: Actor) -> str:
    auth.create_user(
        engine,
        who,
        state.new_username,
        state.new_password,
        state.new_role,
        full_name=state.new_full_name,
        email=state.new_email,
    )
    return f"Added {state.new_username.strip().lower()}."


def _change_role(who: Actor) -> str:
    auth.set_role(engine, who, state.role_user, state.role_new)
    return f"{state.role_user} is now {state.role_new}."


def _deactivate(who: Actor) -> str:
    auth.deactivate_user(engine, who, state.access_user)
    return f"Deactivated {state.access_user}."


def _reactivate(who: Actor) -> str:
    auth.reactivate_user(engine, who, state.access_user)
    return f"Reactivated {state.access_user}."


def _reset(who: Actor) -> str:
    auth.reset_password(engine, who, state.reset_user, state.reset_password_value)
    return f"New password set for {state.reset_user}."


st.title("Users")
if outcome := state.pop("users_outcome", None):
    (st.error if outcome[0] == "error" else st.success)(outcome[1])
people = auth.list_users(engine, actor)
st.dataframe(
    pd.DataFrame(
        [(p.username, p.full_name, p.email, p.role, p.is_active, p.last_login_at) for p in people],
        columns=["Username", "Name", "Email", "Role", "Active", "Last sign-in (UTC)"],
    ),
    hide_index=True,
)
usernames = [person.username for person in people]

add, role, access, password = st.tabs(["Add user", "Change role", "Deactivate / reactivate", "Reset password"])
with add, st.form("add_user", clear_on_submit=True):
    st.text_input("Username", key="new_username", help="Lower-case letters, digits, '.', '_' or '-'.")
    st.text_input("Full name", key="new_full_name")
    st.text_input("Email", key="new_email")
    st.selectbox("Role", ROLES, index=ROLES.index("agent"), key="new_role")
    st.text_input(
        "Password", type="password", key="new_password", help=f"At least {auth.MIN_PASSWORD_LENGTH} characters."
    )
    st.form_submit_button("Add user", on_click=_apply, args=(_add,))
with role:
    st.selectbox("User", usernames, key="role_user")
    st.selectbox("New role", ROLES, key="role_new")
    st.button("Change role", on_click=_apply, args=(_change_role,))
with access:
    st.selectbox("User", usernames, key="access_user")
    left, right = st.columns(2)
    left.button("Deactivate", on_click=_apply, args=(_deactivate,))
    right.button("Reactivate", on_click=_apply, args=(_reactivate,))
with password, st.form("reset_password", clear_on_submit=True):
    st.selectbox("User", usernames, key="reset_user")
    st.text_input("New password", type="password", key="reset_password_value")
    st.caption("The user is signed out everywhere and any sign-in lock on them is lifted.")
    st.form_submit_button("Reset password", on_click=_apply, args=(_reset,))
