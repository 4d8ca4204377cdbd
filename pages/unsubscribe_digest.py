"""Stop a digest: the page a digest's unsubscribe link opens; no sign-in, the signed token is the proof."""

from __future__ import annotations

import streamlit as st

from crm.ui.notifications_view import digest_unsubscribe_form
from crm.ui.resources import get_engine
from crm.ui.session import cookie_key

engine = get_engine()
st.title("Stop a digest")
digest_unsubscribe_form(engine, cookie_key(), st.query_params.get("digest"))
