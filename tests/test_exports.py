"""Exports: formula-injection safe CSV/XLSX, permissions, audit, chart PNG/HTML, CLI."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from sqlalchemy import select

import crm.exports as exports
from crm.cli import main
from crm.exports import chart_file, export_entity, export_table, neutralise_formulas, png_available, table_bytes
from crm.imports import run_import
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log

AGENT = Actor(user_id=None, username="sam", role="agent")
ANALYST = Actor(user_id=None, username="ann", role="analyst")

RISKY = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _xlsx_cells(data: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("text", RISKY)
def test_text_starting_with_a_formula_character_gets_an_apostrophe(text):
    assert neutralise_formulas(pd.DataFrame({"note": [text]}))["note"].tolist() == ["'" + text]


def test_numbers_plain_text_and_blanks_are_left_alone():
    frame = pd.DataFrame({"amount": [-5.0, 2.5], "note": ["hello - world", None]})
    safe = neutralise_formulas(frame)
    assert safe["amount"].tolist() == [-5.0, 2.5]
    assert safe.loc[0, "note"] == "hello - world"
    assert pd.isna(safe.loc[1, "note"])


def test_csv_export_neutralises_cells_and_headers_and_keeps_unicode():
    frame = pd.DataFrame({"=name": ['=HYPERLINK("http://x")', "김민준"], "total": [-1.5, 2]})
    text = table_bytes(frame, "csv").decode("utf-8-sig")
    assert text.splitlines() == ["'=name,total", '"\'=HYPERLINK(""http://x"")",-1.5', "김민준,2.0"]


def test_xlsx_export_stores_risky_text_as_text_never_as_a_formula():
    frame = pd.DataFrame({"note": RISKY, "amount": list(range(-3, 3))})
    data = table_bytes(frame, "xlsx", sheet_name="notes")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    notes = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" and str(cell.value).startswith("'") for cell in notes)
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [-3, -2, -1, 0, 1, 2]
    assert sheet.title == "notes"


def test_an_agent_may_export_aggregates_but_not_personal_data(engine):
    frame = pd.DataFrame({"month": ["2025-01"], "revenue": [87.0]})
    assert export_table(engine, frame, name="revenue", file_format="csv", actor=AGENT, personal=False)
    with pytest.raises(PermissionDeniedError):
        export_table(engine, frame, name="customers", file_format="csv", actor=AGENT, personal=True)


def test_every_export_is_audited_with_format_rows_and_columns(engine):
    frame = pd.DataFrame({"month": ["2025-01", "2025-02"], "revenue": [87.0, 138.0]})
    export_table(engine, frame, name="revenue_by_month", file_format="xlsx", actor=ANALYST, personal=False)
    with engine.connect() as connection:
        row = connection.execute(select(audit_log)).mappings().one()
    assert (row["action"], row["entity"], row["username"]) == ("export", "revenue_by_month", "ann")
    assert json.loads(row["after_json"]) == {
        "format": "xlsx",
        "rows": 2,
        "columns": ["month", "revenue"],
        "personal": False,
    }


def test_exporting_imported_customers_neutralises_their_formula_notes(engine, tmp_path):
    run_import(engine, b'Email,Notes\nada@example.com,=HYPERLINK("http://evil")\n', entity="customers")
    out = tmp_path / "customers.xlsx"
    rows = export_entity(engine, "customers", file_format="xlsx", actor=ANALYST, out=out)
    cells = _xlsx_cells(out.read_bytes())
    notes = cells[1][cells[0].index("notes")]
    assert (rows, notes) == (1, '\'=HYPERLINK("http://evil")')


def test_the_export_command_writes_the_table(engine, tmp_path, monkeypatch, capsys):
    run_import(engine, b"Email,City\nada@example.com,=cmd\n", entity="customers")
    out = tmp_path / "customers.csv"
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "export", "customers", "--format", "csv", "--out", str(out)]) == 0
    exported = pd.read_csv(out, encoding="utf-8-sig")
    assert exported.loc[0, "city"] == "'=cmd"
    assert "1 customers written" in capsys.readouterr().out


def _figure() -> go.Figure:
    return go.Figure(go.Bar(x=["Jan", "Feb", "Mar"], y=[87, 138, 77]))


def test_without_a_browser_charts_download_as_html_with_a_note(engine, monkeypatch):
    monkeypatch.setattr(exports, "browser_path", lambda: None)
    exported = chart_file(_figure(), name="revenue", engine=engine, actor=AGENT)
    assert (exported.file_name, exported.mime) == ("revenue.html", "text/html")
    assert "No Chrome/Chromium" in exported.note
    assert b"<html>" in exported.data and b"plotly" in exported.data


@pytest.mark.skipif(not png_available(), reason="no Chromium on this machine for kaleido")
def test_with_the_system_chromium_charts_download_as_png(engine):
    exported = chart_file(_figure(), name="revenue", engine=engine, actor=AGENT)
    assert (exported.file_name, exported.mime, exported.note) == ("revenue.png", "image/png", "")
    assert exported.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_personal_chart_needs_the_personal_data_permission(engine, monkeypatch):
    monkeypatch.setattr(exports, "browser_path", lambda: None)
    with pytest.raises(PermissionDeniedError):
        chart_file(_figure(), name="top_customers", engine=engine, actor=AGENT, personal=True)


def test_whole_tables_stream_to_csv_in_chunks(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)
    run_import(engine, b"Email,Notes\na@x.com,@once\nb@x.com,\nc@x.com,-twice\n", entity="customers")
    out = tmp_path / "customers.csv"
    assert export_entity(engine, "customers", file_format="csv", actor=ANALYST, out=out) == 3
    exported = pd.read_csv(out, encoding="utf-8-sig")
    # One header although written in two chunks; risky notes neutralised in both.
    assert exported["email"].tolist() == ["a@x.com", "b@x.com", "c@x.com"]
    assert exported["notes"].fillna("").tolist() == ["'@once", "", "'-twice"]


def test_an_empty_table_exports_its_header(engine, tmp_path):
    out = tmp_path / "products.csv"
    assert export_entity(engine, "products", file_format="csv", actor=AGENT, out=out) == 0
    assert out.read_text(encoding="utf-8-sig").startswith("id,sku,name,")
