"""Chart and table download helpers: which buttons each role gets."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm.db import init_database, make_engine
from tests.ui.apptest_support import use_database

SCRIPT = """
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm.permissions import Actor
from crm.ui.charts import show_chart, table_downloads

actor = Actor(None, "someone", st.session_state["role"])
show_chart(go.Figure(go.Bar(x=["Jan"], y=[87])), name="revenue", actor=actor)
table_downloads(pd.DataFrame({"month": ["2025-01"], "revenue": [87.0]}), name="by_month", actor=actor)
table_downloads(pd.DataFrame({"email": ["=x@y.z"]}), name="people", personal=True, actor=actor)
"""


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = make_engine(url)
    init_database(engine)
    engine.dispose()
    use_database(url)
    return url


def _labels(role: str) -> tuple[list[str], list[str]]:
    app = AppTest.from_string(SCRIPT, default_timeout=60)
    app.session_state["role"] = role
    app.run()
    assert not app.exception
    return [button.label for button in app.get("download_button")], [caption.value for caption in app.caption]


def test_an_analyst_gets_a_chart_file_and_both_table_formats_for_every_table(database):
    labels, _ = _labels("analyst")
    assert labels == ["Download CSV", "Download XLSX", "Download CSV", "Download XLSX"]
    app = AppTest.from_string(SCRIPT, default_timeout=60)
    app.session_state["role"] = "analyst"
    app.run()
    assert [button.label for button in app.button] in (["Prepare chart (PNG)"], ["Prepare chart (HTML)"])


def test_an_agent_may_not_download_personal_tables(database):
    labels, captions = _labels("agent")
    assert labels == ["Download CSV", "Download XLSX"]
    assert "Your role may not export personal data." in captions


# A server whose PNG rendering fails at click time: crm.exports falls back to HTML with a note.
FAILING_PNG_SCRIPT = """
import plotly.graph_objects as go
import streamlit as st

import crm.ui.charts as charts
from crm.exports import ChartFile
from crm.permissions import Actor

charts.png_available = lambda: True


def html_instead(figure, *, name, engine, actor, personal=False, file_format=None, context=""):
    st.session_state["built"] = st.session_state.get("built", 0) + 1
    return ChartFile(b"<html>plotly</html>", f"{name}.html", "text/html", note="The PNG could not be rendered.")


charts.chart_file = html_instead
charts.show_chart(go.Figure(go.Bar(x=["Jan"], y=[87])), name="revenue", actor=Actor(None, "ann", "analyst"))
"""


def test_a_chart_that_falls_back_to_html_downloads_as_html_with_its_note(database):
    app = AppTest.from_string(FAILING_PNG_SCRIPT, default_timeout=60)
    app.run()
    assert [button.label for button in app.button] == ["Prepare chart (PNG)"]
    assert "built" not in app.session_state  # nothing is rendered before the click
    app.button(key="prepare_chart_revenue").click().run()
    assert not app.exception
    # Named after the file that was built, not the PNG that was planned.
    assert [button.label for button in app.get("download_button")] == ["Download revenue.html"]
    assert "The PNG could not be rendered." in [caption.value for caption in app.caption]
    app.run()  # the prepared file is kept for the same figure, not rendered again
    assert app.session_state["built"] == 1
    assert [button.label for button in app.get("download_button")] == ["Download revenue.html"]
