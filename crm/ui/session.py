"""Who is signed in. The role always comes from the database, never from session state.

streamlit-authenticator keeps ``authentication_status`` and ``username`` in session state,
but those keys alone sign nobody in: a signed-in browser also holds a session token
(``SESSION_TOKEN_STATE``, the value of its cookie), which must still be live in
``user_sessions`` on every run and belong to that username. Signing out in another tab, a
password reset or a deactivation ends it at once. So crafted session state can neither sign
someone in without a revocable session nor grant a role; the role comes from the database.
"""

from __future__ import annotations

import os

import streamlit as st
from sqlalchemy import Engine
from streamlit.runtime.pages_manager import PagesManager

from crm.auth import actor_for_session
from crm.permissions import Actor, Permission, allowed
from crm.settings import cookie_key_problem

__all__ = [
    "SESSION_TOKEN_STATE",
    "CookieKeyError",
    "cookie_key",
    "current_actor",
    "ensure_navigation_mode",
    "forget_sign_in",
    "require_page_permission",
]

# Session-state key of the sign-in session token (the same value as the browser's cookie).
SESSION_TOKEN_STATE = "pulse_session_token"
# Keys streamlit-authenticator reads and writes; cleared together on sign-out.
AUTHENTICATOR_STATE = ("authentication_status", "username", "name", "email", "roles")


class CookieKeyError(RuntimeError):
    """The cookie key is missing, a published default, too short or too predictable; the message says what to do."""


def cookie_key() -> str:
    """The cookie signing key from ``CRM_COOKIE_KEY`` or ``cookie_key`` in st.secrets."""
    key = os.environ.get("CRM_COOKIE_KEY", "").strip()
    if not key:
        try:
            key = str(st.secrets.get("cookie_key", "")).strip()
        except FileNotFoundError:  # no secrets.toml (StreamlitSecretNotFoundError is a subclass)
            key = ""
    problem = cookie_key_problem(key)
    if problem is not None:
        raise CookieKeyError(problem)
    return key


def forget_sign_in() -> None:
    """Clear the sign-in from session state (the session row is revoked separately)."""
    for key in AUTHENTICATOR_STATE:
        st.session_state[key] = None
    st.session_state.pop(SESSION_TOKEN_STATE, None)


def current_actor(engine: Engine) -> Actor | None:
    """The signed-in, active user as an ``Actor`` (role read from the database now), or None.

    Signed in means: a live session token for the username in session state. Without the
    token (state set by hand, or a session ended elsewhere) the sign-in is forgotten.
    """
    if st.session_state.get("authentication_status") is not True:
        return None
    username = st.session_state.get("username")
    token = st.session_state.get(SESSION_TOKEN_STATE)
    actor = actor_for_session(engine, token, cookie_key()) if username and isinstance(token, str) else None
    if actor is None or actor.username != username:
        forget_sign_in()
        return None
    return actor


def ensure_navigation_mode() -> None:
    """Rerun through Home.py alone when Streamlit started this run in pages/-folder mode.

    Until the first ``st.navigation`` call in a server process, Streamlit treats the
    ``pages/`` folder as an old-style multipage app: the very first request after a start
    (say a bookmarked /users, or a browser reconnecting after a restart) runs the page file
    directly, with Streamlit's own page list and no sign-in form, and a run of Home.py
    wrapped in that mode loses the first form submit. ``st.navigation`` sets the same flag
    to False; setting it here and rerunning gives that request the normal frame (sign-in
    gate, role-based menu) on the same URL. Called by the sign-in gate and every page guard.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def require_page_permission(engine: Engine, permission: Permission) -> Actor:
    """Stop the page unless the signed-in user holds ``permission`` (server-side page guard)."""
    ensure_navigation_mode()
    actor = current_actor(engine)
    if actor is None:
        st.error("Please sign in.")
        st.stop()
    if not allowed(actor.role, permission):
        st.error(f"Your role ({actor.role}) may not open this page.")
        st.stop()
    return actor
