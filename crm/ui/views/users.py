"""Sections of the Users page: the account table and one form per change.

Every button runs its change in a callback, as the user signed in at click time
(``current_actor``: live session, role re-read), and ``crm.auth`` checks the permission
again. The outcome is kept in session state and shown at the top on the run the click
causes. A form's fields are cleared only when its change succeeded, so a refused "Add
user" (say, a short password) keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from crm import auth
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import ROLES
from crm.ui.plain import escape_markdown
from crm.ui.session import current_actor

__all__ = [
    "OUTCOME_STATE",
    "access_form",
    "add_user_form",
    "change_role_form",
    "reset_password_form",
    "show_outcome",
    "users_table",
]

# Session-state key of the last change's ("success" | "error", message).
OUTCOME_STATE = "users_outcome"
_ADD_FIELDS = ("new_username", "new_full_name", "new_email", "new_password")
_RESET_FIELDS = ("reset_password_value",)

Change = Callable[[Engine, Actor], str]


def _apply(engine: Engine, change: Change, clear_on_success: Sequence[str] = ()) -> None:
    """Button callback: run ``change`` as the user signed in NOW; clear the named fields if it worked."""
    state = st.session_state
    try:
        who = current_actor(engine)
        if who is None:
            raise PermissionDeniedError("Please sign in again.")
        state[OUTCOME_STATE] = ("success", change(engine, who))
    except (auth.UserError, PermissionDeniedError) as error:
        state[OUTCOME_STATE] = ("error", str(error))
        return
    for key in clear_on_success:
        state[key] = ""  # callbacks run before the widgets, so the next run draws them empty


def _add(engine: Engine, who: Actor) -> str:
    state = st.session_state
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


def _change_role(engine: Engine, who: Actor) -> str:
    state = st.session_state
    auth.set_role(engine, who, state.role_user, state.role_new)
    return f"{state.role_user} is now {state.role_new}."


def _deactivate(engine: Engine, who: Actor) -> str:
    auth.deactivate_user(engine, who, st.session_state.access_user)
    return f"Deactivated {st.session_state.access_user}."


def _reactivate(engine: Engine, who: Actor) -> str:
    auth.reactivate_user(engine, who, st.session_state.access_user)
    return f"Reactivated {st.session_state.access_user}."


def _reset(engine: Engine, who: Actor) -> str:
    state = st.session_state
    auth.reset_password(engine, who, state.reset_user, state.reset_password_value)
    return f"New password set for {state.reset_user}."


def show_outcome() -> None:
    """The message of the change the last click made (shown once)."""
    if outcome := st.session_state.pop(OUTCOME_STATE, None):
        # Messages name users (and quote what was typed): plain text.
        (st.error if outcome[0] == "error" else st.success)(escape_markdown(outcome[1]))


def users_table(people: Sequence[auth.UserInfo]) -> None:
    st.dataframe(
        pd.DataFrame(
            [(p.username, p.full_name, p.email, p.role, p.is_active, p.last_login_at) for p in people],
            columns=["Username", "Name", "Email", "Role", "Active", "Last sign-in (UTC)"],
        ),
        hide_index=True,
    )


def add_user_form(engine: Engine) -> None:
    with st.form("add_user", clear_on_submit=False):
        st.text_input("Username", key="new_username", help="Lower-case letters, digits, '.', '_' or '-'.")
        st.text_input("Full name", key="new_full_name")
        st.text_input("Email", key="new_email")
        st.selectbox("Role", ROLES, index=ROLES.index("agent"), key="new_role")
        st.text_input(
            "Password", type="password", key="new_password", help=f"At least {auth.MIN_PASSWORD_LENGTH} characters."
        )
        st.form_submit_button("Add user", on_click=_apply, args=(engine, _add, _ADD_FIELDS))


def change_role_form(engine: Engine, usernames: Sequence[str]) -> None:
    st.selectbox("User", usernames, key="role_user")
    st.selectbox("New role", ROLES, key="role_new")
    st.button("Change role", on_click=_apply, args=(engine, _change_role))


def access_form(engine: Engine, usernames: Sequence[str]) -> None:
    st.selectbox("User", usernames, key="access_user")
    left, right = st.columns(2)
    left.button("Deactivate", on_click=_apply, args=(engine, _deactivate))
    right.button("Reactivate", on_click=_apply, args=(engine, _reactivate))


def reset_password_form(engine: Engine, usernames: Sequence[str]) -> None:
    with st.form("reset_password", clear_on_submit=False):
        st.selectbox("User", usernames, key="reset_user")
        st.text_input("New password", type="password", key="reset_password_value")
        st.caption("The user is signed out everywhere and any sign-in lock on them is lifted.")
        st.form_submit_button("Reset password", on_click=_apply, args=(engine, _reset, _RESET_FIELDS))
