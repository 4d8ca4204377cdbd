"""Charts and tables with their downloads.

``show_chart`` draws a Plotly figure (the modebar's camera button saves a PNG in the
browser, no server needed) and offers a server-side file: PNG rendered by kaleido with the
system Chromium, or standalone HTML with a note when no browser is installed or the PNG
cannot be rendered. Whether the PNG renders is only known once it is built, so the chart
file is prepared on a first click and the download is then named and typed after the file
that was built (never HTML called .png), with its note next to it.
``table_downloads`` offers the table as CSV and XLSX. Files are built by ``crm.exports``
only when a button is clicked, which is also when the permission is checked and the
export is written to the audit log. Text cells that a spreadsheet would run as formulas
are neutralised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from crm.exports import ChartFile, chart_file, export_table, mime_type, png_available
from crm.permissions import Actor, Permission, allowed
from crm.ui.plain import plain_figure
from crm.ui.resources import get_engine
from crm.ui.session import current_actor
from crm.ui.sidebar import current_filters

__all__ = ["show_chart", "table_downloads"]


def _who(actor: Actor | None) -> tuple[Engine, Actor | None]:
    engine = get_engine()
    return engine, actor if actor is not None else current_actor(engine)


def _may_export(actor: Actor | None, personal: bool) -> bool:
    permission = Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES
    return actor is not None and allowed(actor.role, permission)


def _chart_context() -> str:
    """The period and filters of the page (what the filter sentence above the chart says)."""
    return current_filters().describe()


def show_chart(
    figure: go.Figure,
    *,
    name: str,
    personal: bool = False,
    actor: Actor | None = None,
    downloads: bool = True,
    context: str | None = None,
) -> None:
    """Render ``figure`` full-width (stored text in it as plain text: ``crm.ui.plain.plain_figure``);
    offer it as PNG (or HTML when the server has no browser).

    ``personal`` marks a chart that shows individual customers (needs EXPORT_PERSONAL_DATA).
    ``context`` is the line under the downloaded file's title (default: the sidebar's period and filters).
    """
    # Stored values (categories, names, sources) read as plain text, on screen and in the downloads.
    figure = plain_figure(figure)
    config = {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, "displaylogo": False}
    st.plotly_chart(figure, width="stretch", key=f"chart_{name}", config=config)
    if not downloads:
        return
    engine, actor = _who(actor)
    if not _may_export(actor, personal):
        return
    assert actor is not None
    _chart_download(figure, name, engine, actor, personal, _chart_context() if context is None else context)


def _fingerprint(figure: go.Figure) -> str:
    return hashlib.sha256(figure.to_json().encode("utf-8")).hexdigest()


@st.fragment
def _chart_download(figure: go.Figure, name: str, engine: Engine, actor: Actor, personal: bool, context: str) -> None:
    """ "Prepare" builds the file (a fragment rerun: the page's other charts are not redrawn); then "Download"."""
    key = f"chart_file_{name}"
    prepared: tuple[str, ChartFile] | None = st.session_state.get(key)
    # A file prepared for other filters (another figure under the same name) is not offered.
    if prepared is not None and prepared[0] != _fingerprint(figure):
        prepared = None
    if prepared is None:
        planned = "PNG" if png_available() else "HTML"
        # In a placeholder, so the button gives way to the download once the file is built.
        slot = st.empty()
        if not slot.button(f"Prepare chart ({planned})", key=f"prepare_chart_{name}", icon=":material/image:"):
            if planned == "HTML":
                st.caption(
                    "No Chrome/Chromium on the server: the chart downloads as standalone HTML. Use the camera "
                    "button on the chart (or in the HTML file) to save a PNG."
                )
            return
        slot.empty()
        with st.spinner("Rendering the chart…"):
            built = chart_file(figure, name=name, engine=engine, actor=actor, personal=personal, context=context)
        prepared = (_fingerprint(figure), built)
        st.session_state[key] = prepared
    built = prepared[1]
    st.download_button(
        f"Download {built.file_name}",
        built.data,
        file_name=built.file_name,
        mime=built.mime,
        key=f"download_chart_{name}",
        on_click="ignore",
        icon=":material/download:",
    )
    if built.note:
        st.caption(built.note)


TableSource = pd.DataFrame | Callable[[], pd.DataFrame]


def _table_builder(
    engine: Engine, frame: TableSource, name: str, file_format: str, actor: Actor, personal: bool
) -> Callable[[], bytes]:
    def _build() -> bytes:
        table = frame() if callable(frame) else frame
        return export_table(
            engine, table, name=name, file_format=file_format, actor=actor, personal=personal, presented=True
        )

    return _build


def table_downloads(frame: TableSource, *, name: str, personal: bool = False, actor: Actor | None = None) -> None:
    """CSV and XLSX downloads of ``frame`` (the table as filtered on screen), formula-safe and audited.

    ``frame`` may be a function returning the table, so a large query only runs when clicked.

    ``personal`` tables (names, emails, phones, per-customer rows) need EXPORT_PERSONAL_DATA,
    others EXPORT_AGGREGATES; without it a short note replaces the buttons.
    """
    engine, actor = _who(actor)
    if not _may_export(actor, personal):
        kind = "personal data" if personal else "tables"
        st.caption(f"Your role may not export {kind}.")
        return
    assert actor is not None
    columns = st.columns(2, gap="small", width=360)
    for column, file_format in zip(columns, ("csv", "xlsx"), strict=True):
        with column:
            st.download_button(
                f"Download {file_format.upper()}",
                _table_builder(engine, frame, name, file_format, actor, personal),
                file_name=f"{name}.{file_format}",
                mime=mime_type(file_format),
                key=f"download_{file_format}_{name}",
                on_click="ignore",
                icon=":material/download:",
            )
