"""Sign-in with streamlit-authenticator, using the users stored in the database.

The auth issue hardens this (server-side cookie revocation, throttling); the contract the
rest of the app relies on is ``sign_in(engine) -> Actor | None`` and ``sign_out_button()``.
"""

from __future__ import annotations

import os

import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy import Engine, select

from crm.permissions import Actor
from crm.schema import users
from crm.ui.session import current_actor

__all__ = ["cookie_key", "sign_in", "sign_out_button"]

COOKIE_NAME = "pulse_crm_auth"
# streamlit-authenticator's documented defaults; a cookie signed with them can be forged by anyone.
LIBRARY_DEFAULT_KEYS = {"some_key", "some_signature_key", "abcdef", ""}


def cookie_key() -> str:
    """Cookie signing key from ``CRM_COOKIE_KEY`` or secrets; refuses the library default."""
    key = os.environ.get("CRM_COOKIE_KEY", "")
    if not key:
        try:
            key = str(st.secrets.get("cookie_key", ""))
        except FileNotFoundError:
            key = ""
    if key in LIBRARY_DEFAULT_KEYS or len(key) < 16:
        raise RuntimeError(
            "Set CRM_COOKIE_KEY (or cookie_key in .streamlit/secrets.toml) to a random string of 16+ characters."
        )
    return key


def _credentials(engine: Engine) -> dict[str, dict[str, dict[str, str]]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(users.c.username, users.c.full_name, users.c.email, users.c.password_hash).where(
                users.c.is_active.is_(True)
            )
        ).all()
    return {
        "usernames": {
            row.username: {"name": row.full_name, "email": row.email or "", "password": row.password_hash}
            for row in rows
        }
    }


def _authenticator(engine: Engine) -> stauth.Authenticate:
    return stauth.Authenticate(_credentials(engine), COOKIE_NAME, cookie_key(), cookie_expiry_days=7, auto_hash=False)


def sign_in(engine: Engine) -> Actor | None:
    """Show the login form until a user signs in; return the signed-in ``Actor``."""
    actor = current_actor(engine)
    if actor is not None:
        return actor
    authenticator = _authenticator(engine)
    st.title("Pulse CRM")
    authenticator.login(location="main")
    if st.session_state.get("authentication_status") is False:
        st.error("Username or password is incorrect.")
    return current_actor(engine)


def sign_out_button(engine: Engine) -> None:
    _authenticator(engine).logout("Sign out", location="sidebar")
