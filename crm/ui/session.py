"""Who is signed in. The role always comes from the database, never from session state.

streamlit-authenticator keeps ``authentication_status`` and ``username`` in session state;
a crafted session state can therefore name a user but never grant a role that user lacks,
and an inactive or unknown user is treated as signed out.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine, select

from crm.permissions import Actor, Permission, allowed
from crm.schema import users

__all__ = ["current_actor", "require_page_permission"]


def current_actor(engine: Engine) -> Actor | None:
    """The signed-in, active user as an ``Actor``, or None."""
    if st.session_state.get("authentication_status") is not True:
        return None
    username = st.session_state.get("username")
    if not username:
        return None
    with engine.connect() as connection:
        row = connection.execute(
            select(users.c.id, users.c.username, users.c.role).where(
                users.c.username == username, users.c.is_active.is_(True)
            )
        ).first()
    if row is None:
        return None
    return Actor(user_id=row.id, username=row.username, role=row.role)


def require_page_permission(engine: Engine, permission: Permission) -> Actor:
    """Stop the page unless the signed-in user holds ``permission`` (server-side page guard)."""
    actor = current_actor(engine)
    if actor is None:
        st.error("Please sign in.")
        st.stop()
    if not allowed(actor.role, permission):
        st.error(f"Your role ({actor.role}) may not open this page.")
        st.stop()
    return actor
