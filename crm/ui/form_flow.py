"""A form that saves, starts afresh and says what happened: the pattern of Customer 360's action forms.

``form_key(key)`` gives the widget-key prefix of the form's current generation; ``done(key, message)``
clears the cache, moves to a new generation (so every widget starts empty) and reruns; ``flash(key)``
shows the message once on the next run.
"""

from __future__ import annotations

import streamlit as st

from crm.ui.cache import invalidate

__all__ = ["done", "flash", "form_key"]


def flash(key: str) -> None:
    message = st.session_state.pop(f"{key}__flash", None)
    if message:
        st.success(message, icon=":material/check_circle:")


def done(key: str, message: str) -> None:
    """After a save: clear the cache, start the form afresh (new widget keys) and say what happened."""
    invalidate()
    st.session_state[f"{key}__flash"] = message
    st.session_state[f"{key}__generation"] = int(st.session_state.get(f"{key}__generation", 0)) + 1
    st.rerun()


def form_key(key: str) -> str:
    return f"{key}_{int(st.session_state.get(f'{key}__generation', 0))}"
