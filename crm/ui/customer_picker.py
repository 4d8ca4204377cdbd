"""Picking a customer by name, email, phone or company — never by typing an id.

``pick_customer`` draws a search box and a select box of the matches; a customer given
by the page's address (``?customer=ID``, the links of My work and the Overview's birthday
lists) or by the caller comes first, so a link opens that customer directly.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.records.orders import customer_choices
from crm.records.relationships import customer_label
from crm.ui.cache import cached
from crm.ui.widgets import empty_state

__all__ = ["customer_from_address", "pick_customer"]

# The query parameter that opens Customer 360 on one customer.
CUSTOMER_PARAMETER = "customer"


def customer_from_address() -> int | None:
    """The customer id in the page's address (``?customer=12``), None when absent or not a number."""
    raw = st.query_params.get(CUSTOMER_PARAMETER)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def pick_customer(engine: Engine, *, key: str, preselected: int | None = None, label: str = "Customer") -> int | None:
    """Search box + select box; returns the chosen customer's id (None: no match)."""
    search = st.text_input(
        f"Find a {label.lower()}", key=f"{key}_search", placeholder="Name, email, phone or company", max_chars=200
    )
    choices = cached(customer_choices, search)
    labels: dict[int, str] = {int(row.id): str(row.label) for row in choices.itertuples(index=False)}
    if preselected is not None and not search.strip() and preselected not in labels:
        found = cached(customer_label, preselected)
        if found is not None:
            labels = {preselected: found} | labels
    if not labels:
        empty_state("No customer matches that search.")
        return None
    options = list(labels)
    index = options.index(preselected) if preselected in labels else 0
    # A new linked customer is a new widget, so the link wins over an earlier choice.
    widget_key = f"{key}_customer" if preselected is None else f"{key}_customer_{preselected}"
    chosen = st.selectbox(label, options, index=index, format_func=labels.get, key=widget_key)
    return int(chosen) if chosen is not None else None
