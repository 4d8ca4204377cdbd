"""Exports: formula-injection safe CSV/XLSX, permissions, audit, chart PNG/HTML, CLI."""

from __future__ import annotations

import datetime
import io
import json
import re
from decimal import Decimal

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from sqlalchemy import select

import crm.exports as exports
from crm.audit import export_audit, record_audit
from crm.cli import main
from crm.exports import (
    chart_file,
    export_entity,
    export_table,
    looks_like_formula,
    neutralise_formulas,
    png_available,
    table_bytes,
)
from crm.imports import run_import
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log
from tests.fixtures.hostile_strings import (
    EMBEDDED_FORMULA_STRINGS,
    FORMULA_STRINGS,
    HARMLESS_STRINGS,
    MARKUP_STRINGS,
)

AGENT = Actor(user_id=None, username="sam", role="agent")
ANALYST = Actor(user_id=None, username="ann", role="analyst")

RISKY = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _as_xml_reads(text: str) -> str:
    # XML parsers normalise CR and CR LF to LF, so a cell written with a CR reads back with a LF.
    return text.replace("\r\n", "\n").replace("\r", "\n")


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


def test_xlsx_export_stores_risky_text_as_quote_prefixed_text_never_as_a_formula():
    frame = pd.DataFrame({"note": RISKY, "amount": list(range(-3, 3))})
    data = table_bytes(frame, "xlsx", sheet_name="notes")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    notes = [row[0] for row in sheet.iter_rows(min_row=2)]
    # Exactly as typed (no visible apostrophe; XML reads a CR as a line feed), a string cell, marked as text.
    assert [cell.value for cell in notes] == [_as_xml_reads(text) for text in RISKY]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in notes)
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
    sheet = openpyxl.load_workbook(io.BytesIO(out.read_bytes())).active
    header = [cell.value for cell in sheet[1]]
    notes = sheet.cell(row=2, column=header.index("notes") + 1)
    assert (rows, notes.value, notes.data_type, notes.quotePrefix) == (1, '=HYPERLINK("http://evil")', "s", True)


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


# --- hostile text: the guard holds for the value finally written ------------------------------

# What a spreadsheet skips before a formula sign, and the signs themselves (NFKC-folded).
_SKIPPABLE = (" ", "\t", "\r", "\n", "\u00a0", "\u3000", "\u200b", "\ufeff", "\u2060", "'", '"', "\u201c", "\uff07")
_TRIGGERS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\u2212")


def _csv_cell_is_inert(cell: str) -> bool:
    """A CSV cell a spreadsheet shows as text: it does not start with a trigger after skippable characters."""
    if cell.startswith("'"):
        return True  # the OWASP prefix: everything after it is text
    stripped = cell.lstrip("".join(_SKIPPABLE))
    return not cell.startswith(("\t", "\r")) and not stripped.startswith(_TRIGGERS)


def _formula_cells(data: bytes) -> list[str]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def _hostile_frame() -> pd.DataFrame:
    texts = FORMULA_STRINGS + MARKUP_STRINGS + HARMLESS_STRINGS + EMBEDDED_FORMULA_STRINGS
    return pd.DataFrame({"note": texts, "amount": [float(-index) for index in range(len(texts))]})


@pytest.mark.parametrize("text", FORMULA_STRINGS)
def test_every_hostile_string_is_recognised_as_a_formula(text):
    assert looks_like_formula(text)


@pytest.mark.parametrize("text", HARMLESS_STRINGS + MARKUP_STRINGS + EMBEDDED_FORMULA_STRINGS)
def test_ordinary_text_is_not_taken_for_a_formula(text):
    assert not looks_like_formula(text)


def test_no_hostile_string_becomes_a_formula_cell_in_xlsx_and_values_read_as_written():
    frame = _hostile_frame()
    frame.columns = ['=HYPERLINK("http://evil.example")', "\u200b+amount"]
    data = table_bytes(frame, "xlsx")
    assert _formula_cells(data) == []
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = list(sheet[1])
    assert [cell.value for cell in header] == list(frame.columns)
    assert all(cell.quotePrefix for cell in header)
    notes = [row[0] for row in sheet.iter_rows(min_row=2)]
    # Control characters XML cannot hold are dropped; everything else reads back as typed.
    expected = [_as_xml_reads(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)) or None for text in frame.iloc[:, 0]]
    assert [cell.value for cell in notes] == expected
    guarded = [cell.quotePrefix for cell in notes[: len(FORMULA_STRINGS)]]
    assert all(guarded)
    assert not any(cell.quotePrefix for cell in notes[len(FORMULA_STRINGS) :])
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == frame.iloc[:, 1].tolist()


def test_no_csv_cell_starts_with_a_formula_trigger():
    frame = _hostile_frame()
    frame.columns = ["\u3000=note", "amount"]
    parsed = pd.read_csv(io.BytesIO(table_bytes(frame, "csv")), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert _csv_cell_is_inert(parsed.columns[0])
    assert all(_csv_cell_is_inert(cell) for cell in parsed.iloc[:, 0])
    # The prefix is the only change: the rest of each cell is the original text.
    assert [cell.removeprefix("'") if looks_like_formula(cell[1:]) else cell for cell in parsed.iloc[:, 0]] == (
        frame.iloc[:, 0].tolist()
    )
    assert parsed["amount"].astype(float).tolist() == frame["amount"].tolist()


def test_a_phone_number_reads_as_typed_in_xlsx_and_with_the_text_prefix_in_csv():
    frame = pd.DataFrame({"phone": ["+82 10-4645-8329"]})
    cell = openpyxl.load_workbook(io.BytesIO(table_bytes(frame, "xlsx"))).active["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("+82 10-4645-8329", "s", True)
    assert table_bytes(frame, "csv").decode("utf-8-sig").splitlines() == ["phone", "'+82 10-4645-8329"]


def test_text_that_looks_like_an_excel_error_stays_text():
    frame = pd.DataFrame({"note": ["#N/A", "#DIV/0!"]})
    sheet = openpyxl.load_workbook(io.BytesIO(table_bytes(frame, "xlsx"))).active
    assert [(cell.value, cell.data_type) for (cell,) in sheet.iter_rows(min_row=2)] == [
        ("#N/A", "s"),
        ("#DIV/0!", "s"),
    ]


def test_imported_hostile_text_never_comes_out_of_the_export_command_as_a_formula(engine, tmp_path):
    lines = ["Email,First name,City,Notes"]
    for index, text in enumerate(FORMULA_STRINGS):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"guest{index}@example.com,{quoted},{quoted},{quoted}")
    report = run_import(engine, ("\n".join(lines) + "\n").encode("utf-8"), entity="customers")
    assert report.inserted > 0
    xlsx, csv = tmp_path / "customers.xlsx", tmp_path / "customers.csv"
    url = engine.url.render_as_string(hide_password=False)
    for out, file_format in ((xlsx, "xlsx"), (csv, "csv")):
        assert main(["--database-url", url, "export", "customers", "--format", file_format, "--out", str(out)]) == 0
    assert _formula_cells(xlsx.read_bytes()) == []
    exported = pd.read_csv(csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for column in ("first_name", "city", "notes"):
        assert all(_csv_cell_is_inert(cell) for cell in exported[column]), column


def test_audit_log_exports_hold_no_formula(engine):
    attacker = Actor(user_id=None, username="\u200b=cmd|' /C calc'!A0", role="admin")
    with engine.begin() as connection:
        record_audit(connection, attacker, "update", '\uff1dHYPERLINK("http://evil")', "@1", after={"n": "=1"})
    assert _formula_cells(export_audit(engine, attacker, file_format="xlsx")) == []
    exported = pd.read_csv(
        io.BytesIO(export_audit(engine, attacker, file_format="csv")), encoding="utf-8-sig", dtype=str
    )
    row = exported[exported["action"] == "update"].iloc[0]
    assert all(_csv_cell_is_inert(str(row[column])) for column in ("username", "entity", "entity_id"))


def test_rejected_rows_file_neutralises_the_quoted_cells(engine):
    report = run_import(engine, b"Email,Phone\n=1+1@x,\n\xef\xbc\x9dcmd,\n", entity="customers", dry_run=True)
    assert not report.rejected_frame().empty
    rejected = report.rejected_frame()
    data = export_table(engine, rejected, name="import_rejections", file_format="csv", actor=ANALYST, personal=True)
    exported = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert all(_csv_cell_is_inert(cell) for column in exported.columns for cell in exported[column])


def test_values_excel_has_no_type_for_are_written_as_checked_text():
    frame = pd.DataFrame({"value": [{"note": "=1+1"}, ["@a"], pd.Timedelta(minutes=90), Decimal("12.50"), True]})
    sheet = openpyxl.load_workbook(io.BytesIO(table_bytes(frame, "xlsx"))).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells[:2]] == ["{'note': '=1+1'}", "['@a']"]
    assert all(cell.data_type == "s" for cell in cells[:2]) and not cells[0].quotePrefix
    assert (cells[2].value, cells[2].number_format) == (datetime.timedelta(minutes=90), "[hh]:mm:ss")
    assert (cells[3].value, cells[4].value) == (12.5, True)
