"""Charts and tables with their downloads.

``show_chart`` draws a Plotly figure (the modebar's camera button saves a PNG in the
browser, no server needed) and offers a server-side download: PNG rendered by kaleido with
the system Chromium, or standalone HTML with a note when no browser is installed.
``table_downloads`` offers the table as CSV and XLSX. Files are built by ``crm.exports``
only when the button is clicked (deferred download data), which is also when the
permission is checked and the export is written to the audit log. Text cells that a
spreadsheet would run as formulas are neutralised.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from crm.exports import chart_file, export_table, mime_type, png_available
from crm.permissions import Actor, Permission, allowed
from crm.ui.resources import get_engine
from crm.ui.session import current_actor

__all__ = ["show_chart", "table_downloads"]


def _who(actor: Actor | None) -> tuple[Engine, Actor | None]:
    engine = get_engine()
    return engine, actor if actor is not None else current_actor(engine)


def _may_export(actor: Actor | None, personal: bool) -> bool:
    permission = Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES
    return actor is not None and allowed(actor.role, permission)


def show_chart(
    figure: go.Figure, *, name: str, personal: bool = False, actor: Actor | None = None, downloads: bool = True
) -> None:
    """Render ``figure`` full-width; offer it as PNG (or HTML when the server has no browser).

    ``personal`` marks a chart that shows individual customers (needs EXPORT_PERSONAL_DATA).
    """
    config = {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, "displaylogo": False}
    st.plotly_chart(figure, width="stretch", key=f"chart_{name}", config=config)
    if not downloads:
        return
    engine, actor = _who(actor)
    if not _may_export(actor, personal):
        return
    file_format = "png" if png_available() else "html"

    def _build() -> bytes:
        return chart_file(
            figure, name=name, engine=engine, actor=actor, personal=personal, file_format=file_format
        ).data

    st.download_button(
        f"Download chart ({file_format.upper()})",
        _build,
        file_name=f"{name}.{file_format}",
        mime=mime_type(file_format),
        key=f"download_chart_{name}",
        on_click="ignore",
        icon=":material/download:",
    )
    if file_format == "html":
        st.caption(
            "No Chrome/Chromium on the server: the chart downloads as standalone HTML. Use the camera "
            "button on the chart (or in the HTML file) to save a PNG."
        )


TableSource = pd.DataFrame | Callable[[], pd.DataFrame]


def _table_builder(
    engine: Engine, frame: TableSource, name: str, file_format: str, actor: Actor, personal: bool
) -> Callable[[], bytes]:
    def _build() -> bytes:
        table = frame() if callable(frame) else frame
        return export_table(engine, table, name=name, file_format=file_format, actor=actor, personal=personal)

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
