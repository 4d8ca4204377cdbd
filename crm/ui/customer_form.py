"""The New customer form: checked as you type, warned about possible duplicates, saved with audit."""

from __future__ import annotations

from typing import Any

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor, Permission, PermissionDeniedError, allowed
from crm.records.new_customer import create_customer, new_customer_problems, possible_duplicates
from crm.schema import CUSTOMER_STATUSES, CUSTOMER_TYPES
from crm.ui.cache import cached, invalidate
from crm.ui.customer_choice import CUSTOMER_PARAMETER
from crm.ui.plain import escape_markdown, plain_bullets
from crm.vocabulary import DEFAULT_SOURCES, code_label

__all__ = ["CUSTOMER_360_PAGE", "new_customer_form"]

CUSTOMER_360_PAGE = "pages/customer_360.py"
_PREFIX = "new_customer_"
_TEXT_FIELDS = (
    ("first_name", "First name", ""),
    ("last_name", "Last name", ""),
    ("email", "Email", "name@example.com"),
    ("phone", "Phone", "+82 10-1234-5678"),
    ("company", "Company", ""),
    ("city", "City", ""),
    ("country", "Country", ""),
)
# The source picker's last option: type a source that is not in the list.
_OTHER_SOURCE = "__other__"


def _key(name: str) -> str:
    return f"{_PREFIX}{name}"


def _values() -> dict[str, Any]:
    state = st.session_state
    values: dict[str, Any] = {name: (state.get(_key(name)) or "").strip() for name, _, _ in _TEXT_FIELDS}
    source = state.get(_key("source_choice"))
    values["source"] = (state.get(_key("source_other")) or "").strip() if source == _OTHER_SOURCE else source or ""
    values["customer_type"] = state.get(_key("customer_type")) or CUSTOMER_TYPES[0]
    values["status"] = state.get(_key("status")) or CUSTOMER_STATUSES[0]
    return values


def _clear() -> None:
    for name, _, _ in _TEXT_FIELDS:
        st.session_state[_key(name)] = ""
    st.session_state[_key("source_other")] = ""
    st.session_state[_key("source_choice")] = None


def _save(engine: Engine, actor: Actor) -> None:
    """On Create (a callback, so the fields can be emptied before they are drawn again)."""
    try:
        outcome = create_customer(engine, _values(), actor)
    except PermissionDeniedError as error:
        st.session_state[_key("problem")] = [str(error)]
        return
    if not outcome.ok:
        st.session_state[_key("problem")] = list(outcome.problems)
        return
    invalidate()
    _clear()
    st.session_state[_key("created")] = int(outcome.created[0])


def _duplicate_warning(engine: Engine, values: dict[str, Any]) -> None:
    candidates = cached(
        possible_duplicates,
        email=values["email"] or None,
        phone=values["phone"] or None,
        first_name=values["first_name"] or None,
        last_name=values["last_name"] or None,
    )
    if not candidates:
        return
    st.warning(
        "This may be a customer you already have. Open them before adding a second record:", icon=":material/group:"
    )
    for candidate in candidates:
        same = " and ".join(candidate.matched_on)
        st.page_link(
            CUSTOMER_360_PAGE,
            label=f"{candidate.label} (same {same})",
            icon=":material/person_search:",
            query_params={CUSTOMER_PARAMETER: str(candidate.customer_id)},
        )


def new_customer_form(engine: Engine, actor: Actor) -> None:
    """Name, contacts, source, type and status; problems and possible duplicates show as you type."""
    if not allowed(actor.role, Permission.EDIT_RECORDS):
        st.caption(":material/lock: Your role may not add customers.")
        return
    created = st.session_state.pop(_key("created"), None)
    if created is not None:
        st.success("Customer added.", icon=":material/check_circle:")
        st.page_link(
            CUSTOMER_360_PAGE,
            label="Open the new customer's 360° view",
            icon=":material/person_search:",
            query_params={CUSTOMER_PARAMETER: str(created)},
        )
    values = _values()
    problems = new_customer_problems(values)
    columns = st.columns(2)
    for position, (name, label, placeholder) in enumerate(_TEXT_FIELDS):
        column = columns[position % 2]
        column.text_input(label, key=_key(name), placeholder=placeholder, max_chars=254)
        if name in problems:
            column.error(escape_markdown(problems[name]), icon=":material/error:")
    choice_columns = st.columns(3)
    options = [*DEFAULT_SOURCES, _OTHER_SOURCE]
    choice = choice_columns[0].selectbox(
        "Source",
        options,
        index=None,
        placeholder="Where did they come from?",
        format_func=lambda code: "Other…" if code == _OTHER_SOURCE else code_label(code),
        key=_key("source_choice"),
    )
    if choice == _OTHER_SOURCE:
        choice_columns[0].text_input("Other source", key=_key("source_other"), max_chars=40)
    choice_columns[1].selectbox("Type", CUSTOMER_TYPES, format_func=code_label, key=_key("customer_type"))
    choice_columns[2].selectbox("Status", CUSTOMER_STATUSES, format_func=code_label, key=_key("status"))
    _duplicate_warning(engine, values)
    if "" in problems and any(values[name] for name in ("city", "country", "source")):
        st.info(problems[""], icon=":material/info:")
    refused = st.session_state.pop(_key("problem"), None)
    if refused:
        # The problems quote what was typed: plain text.
        st.error("The customer was not added:\n\n" + plain_bullets(refused))
    st.button(
        "Add customer",
        type="primary",
        key=_key("create"),
        disabled=bool(problems),
        on_click=_save,
        args=(engine, actor),
        icon=":material/person_add:",
        help=problems.get("") if "" in problems else None,
    )
