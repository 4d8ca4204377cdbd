"""Which customer Customer 360 shows: the one in the page address (``?customer=ID``).

The address is the single source of truth, so a grid row's link, a search, a shared link and a
reload all show the same customer. Picking a search match or a recent customer writes the
address (in the widget's callback, before the page runs) and clears the search; nothing is
opened by default, so a bare visit never shows a customer nobody asked for. The parameter is
the same ``customer`` the links of My work and the Overview's birthday lists use.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm.records.customer360 import customer_labels, recently_changed_customers
from crm.records.orders import customer_choices
from crm.ui.cache import cached

__all__ = ["CUSTOMER_PARAMETER", "choose_customer", "open_customer_link", "remember_customer"]

CUSTOMER_PARAMETER = "customer"
CUSTOMER_360_PAGE = "pages/customer_360.py"
# Session state: customers this user opened in this session, most recent first.
RECENT_KEY = "c360_recent"
RECENT_LIMIT = 8
# Recently changed records offered next to the ones opened in this session.
CHANGED_LIMIT = 5
SEARCH_KEY = "c360_search"
MATCH_KEY = "c360_match"
RECENT_PICK_KEY = "c360_recent_pick"


def _address_customer() -> tuple[int | None, str | None]:
    """The customer id in the address, and the raw value when it is not a customer number."""
    raw = st.query_params.get(CUSTOMER_PARAMETER)
    if raw is None or not str(raw).strip():
        return None, None
    try:
        customer_id = int(str(raw).strip())
    except ValueError:
        return None, str(raw)
    return (customer_id, None) if customer_id > 0 else (None, str(raw))


def _open_picked(key: str) -> None:
    """Callback of the match and recent pickers: that customer goes into the address."""
    picked = st.session_state.get(key)
    if picked is None:
        return
    st.query_params[CUSTOMER_PARAMETER] = str(int(picked))
    # Empty pickers and search for the next choice; the shown customer is the address's.
    st.session_state[key] = None
    st.session_state[SEARCH_KEY] = ""


def remember_customer(customer_id: int) -> None:
    """Put ``customer_id`` first in this session's recent customers."""
    recent = [int(value) for value in st.session_state.get(RECENT_KEY, []) if int(value) != customer_id]
    st.session_state[RECENT_KEY] = [customer_id, *recent][:RECENT_LIMIT]


def _recent_choices(current: int | None) -> pd.DataFrame:
    opened = tuple(int(value) for value in st.session_state.get(RECENT_KEY, []) if int(value) != current)
    frames = [cached(customer_labels, opened), cached(recently_changed_customers, limit=CHANGED_LIMIT)]
    recent = pd.concat(frames, ignore_index=True).drop_duplicates("id")
    return recent[recent["id"] != current] if current is not None else recent


def choose_customer() -> int | None:
    """Search and recent customers; returns the customer in the address (None: none chosen yet)."""
    current, invalid = _address_customer()
    if invalid is not None:
        st.warning("This link's customer is not a customer number; find the customer below.")
    search_column, recent_column = st.columns([3, 2])
    search = search_column.text_input(
        "Find a customer", key=SEARCH_KEY, placeholder="Name, email, phone or company", max_chars=200
    )
    if search.strip():
        matches = cached(customer_choices, search)
        if matches.empty:
            search_column.info("No customer matches that search.", icon=":material/search_off:")
        else:
            labels = dict(zip(matches["id"].map(int), matches["label"], strict=True))
            search_column.selectbox(
                f"{len(labels)} match{'es' if len(labels) != 1 else ''}",
                list(labels),
                index=None,
                format_func=labels.get,
                placeholder="Pick the customer to open",
                key=MATCH_KEY,
                on_change=_open_picked,
                args=(MATCH_KEY,),
            )
    recent = _recent_choices(current)
    if not recent.empty:
        recent_labels = dict(zip(recent["id"].map(int), recent["label"], strict=True))
        recent_column.selectbox(
            "Recent customers",
            list(recent_labels),
            index=None,
            format_func=recent_labels.get,
            placeholder="Opened or changed lately",
            key=RECENT_PICK_KEY,
            on_change=_open_picked,
            args=(RECENT_PICK_KEY,),
            help="Customers you opened in this session, then the records changed last.",
        )
    return current


def open_customer_link(rows: pd.DataFrame, *, key: str) -> None:
    """Under a customer grid: pick one of its rows and open that customer's 360° view (a real link)."""
    if rows.empty:
        return
    names = (rows["first_name"].fillna("") + " " + rows["last_name"].fillna("")).str.strip()
    labels = {
        int(customer_id): " · ".join(part for part in (name or f"#{customer_id}", email) if part)
        for customer_id, name, email in zip(rows["id"], names, rows["email"].fillna(""), strict=True)
    }
    pick, link = st.columns([3, 2], vertical_alignment="bottom")
    chosen = pick.selectbox(
        "Customer on this page", list(labels), index=None, format_func=labels.get, key=f"{key}_open_360"
    )
    if chosen is None:
        link.page_link(CUSTOMER_360_PAGE, label="Customer 360", icon=":material/person_search:", disabled=True)
        return
    link.page_link(
        CUSTOMER_360_PAGE,
        label="Open in Customer 360",
        icon=":material/person_search:",
        query_params={CUSTOMER_PARAMETER: str(chosen)},
    )
