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


def test_an_analyst_gets_chart_and_both_table_formats_for_every_table(database):
    labels, _ = _labels("analyst")
    assert labels[0] in ("Download chart (PNG)", "Download chart (HTML)")
    assert labels[1:] == ["Download CSV", "Download XLSX", "Download CSV", "Download XLSX"]


def test_an_agent_may_not_download_personal_tables(database):
    labels, captions = _labels("agent")
    assert labels[1:] == ["Download CSV", "Download XLSX"]
    assert "Your role may not export personal data." in captions
