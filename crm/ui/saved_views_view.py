"""The sidebar's "Saved views": open one of your views, save the current filters, rename or delete.

Opening a view goes to its page with its address parameters (``st.switch_page``), the same
path a shared link takes (``crm.ui.filter_address``), so a view and a link cannot disagree.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from crm.permissions import Actor
from crm.saved_views import SavedView, SavedViewError, delete_view, list_views, rename_view, save_view
from crm.ui.filter_address import ADDRESS_PARAMETERS, WRITTEN_KEY
from crm.ui.navigation import PAGES
from crm.ui.plain import escape_markdown

__all__ = ["open_view", "saved_views_sidebar"]

# Session state: a message about the last save/rename/delete, shown once after the rerun.
FLASH_KEY = "saved_views__flash"
PAGE_TITLES = {spec.url_path: spec.title for spec in PAGES}
PAGE_PATHS = {spec.url_path: spec.path for spec in PAGES}


def _label(view: SavedView) -> str:
    # The name was typed by a user: no markdown (crm/ui/plain.py).
    return f"{escape_markdown(view.name)} · {PAGE_TITLES.get(view.page, view.page)}"


def open_view(view: SavedView) -> None:
    """Go to the view's page with its filters in the address (the sidebar reads them on arrival)."""
    parameters = {name: value for name, value in view.parameters.items() if name in ADDRESS_PARAMETERS}
    # Forget what the sidebar wrote last, so the same address as now still counts as "new".
    st.session_state.pop(WRITTEN_KEY, None)
    path = PAGE_PATHS.get(view.page)
    if path is None:
        st.sidebar.error("That view's page no longer exists.")
        return
    st.switch_page(path, query_params=parameters)


def saved_views_sidebar(engine: Engine, actor: Actor, page: str) -> None:
    """The "Saved views" box under the filters (``page``: the current page's address)."""
    with st.sidebar.expander("Saved views", icon=":material/bookmarks:"):
        flash = st.session_state.pop(FLASH_KEY, None)
        if flash:
            st.success(flash)
        try:
            views = list_views(engine, actor)
        except SavedViewError:
            st.caption("Saved views need a signed-in user.")
            return
        by_id = {view.id: view for view in views}
        chosen: int | None = None
        if views:
            chosen = st.selectbox(
                "Your views",
                list(by_id),
                index=None,
                format_func=lambda view_id: _label(by_id[view_id]),
                placeholder="Pick a view to open",
                key="saved_views_pick",
            )
            if chosen is not None and st.button("Open", key="saved_views_open", icon=":material/open_in_new:"):
                open_view(by_id[chosen])
        else:
            st.caption("No saved views yet: save the filters you use often.")
        _save_form(engine, actor, page)
        if chosen is not None:
            _manage(engine, actor, by_id[chosen])


def _save_form(engine: Engine, actor: Actor, page: str) -> None:
    name = st.text_input("Save these filters as", key="saved_views_name", max_chars=80, placeholder="View name")
    replace = st.checkbox("Replace my view of that name", key="saved_views_replace")
    if st.button("Save view", key="saved_views_save", icon=":material/bookmark_add:"):
        address = st.session_state.get(WRITTEN_KEY) or {}
        try:
            view = save_view(engine, actor, name, page, address, replace=replace)
        except SavedViewError as error:
            st.error(escape_markdown(str(error)))
            return
        st.session_state[FLASH_KEY] = f"Saved “{escape_markdown(view.name)}”."
        st.session_state.pop("saved_views_name", None)
        st.rerun()


def _manage(engine: Engine, actor: Actor, view: SavedView) -> None:
    new_name = st.text_input("Rename the picked view", value=view.name, key=f"saved_views_rename_{view.id}")
    rename, delete = st.columns(2)
    try:
        if rename.button("Rename", key="saved_views_rename"):
            renamed = rename_view(engine, actor, view.id, new_name)
            st.session_state[FLASH_KEY] = f"Renamed to “{escape_markdown(renamed.name)}”."
            st.rerun()
        if delete.button("Delete", key="saved_views_delete", icon=":material/delete:"):
            delete_view(engine, actor, view.id)
            st.session_state[FLASH_KEY] = f"Deleted “{escape_markdown(view.name)}”."
            st.session_state.pop("saved_views_pick", None)
            st.rerun()
    except SavedViewError as error:
        st.error(escape_markdown(str(error)))
