"""Exports: tables to CSV/XLSX (formula-injection safe) and charts to PNG or standalone HTML.

Every export checks the actor's permission (personal data vs. aggregates) and writes an
``export`` row to the audit log. Every CSV and XLSX the app writes goes through this module
(``table_bytes``, ``csv_chunk``, ``export_table``, ``export_entity``), so the formula guard
holds for the value that is finally written:

* A spreadsheet runs a cell as a formula when it starts with ``= + - @``, and Excel and
  LibreOffice skip or fold what may precede the sign: spaces and tabs, CR/LF, no-break and
  other Unicode spaces, zero-width characters and byte-order marks, quotes, and the
  full-width forms ``＝ ＋ － ＠``. ``looks_like_formula`` skips all of those before looking
  at the first real character (NFKC-folded), so ``"\u200b ＝1+1"`` is caught like ``"=1+1"``.
* CSV: such a cell gets a leading apostrophe (OWASP "CSV injection"); spreadsheets show it
  as text. Numbers are left alone: -5 stays a number.
* XLSX: every text cell is written as an explicit string cell (never a formula or an error
  cell, whatever it holds) and a cell that looks like a formula also gets the
  ``quotePrefix`` style, so Excel shows the text exactly as typed (no visible apostrophe in
  front of "+82 10 …") and does not turn it into a formula even when the cell is edited.
  Characters XML cannot hold are dropped first, then the value is checked.

Chart PNGs are rendered by kaleido, which drives a headless Chrome/Chromium; when none is
installed the chart is exported as standalone HTML (interactive, with its own camera
button for PNG) and the note says why.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import customers, order_items, orders, products, transactions

__all__ = [
    "EXPORTABLE_ENTITIES",
    "ChartFile",
    "browser_path",
    "chart_file",
    "csv_chunk",
    "csv_safe",
    "export_entity",
    "export_table",
    "looks_like_formula",
    "mime_type",
    "neutralise_formulas",
    "png_available",
    "table_bytes",
]

# Signs that make a spreadsheet cell a formula, after NFKC folding (＝ → =); U+2212 is the
# mathematical minus. looks_like_formula says what may precede them.
_FORMULA_SIGNS = frozenset({"=", "+", "-", "@", "\u2212"})
# Unicode categories skipped before the sign: control (Cc) and invisible format characters (Cf).
_SKIPPED_CATEGORIES = frozenset({"Cc", "Cf"})
# Quotes skipped before the sign (after NFKC folding, so full-width quotes count too).
_QUOTES = frozenset({"'", '"', "`", "\u2018", "\u2019", "\u201a", "\u201b", "\u201c", "\u201d", "\u201e", "\u00b4"})
# Values openpyxl writes as numbers, booleans, dates or text.
_XLSX_NATIVE_TYPES = (str, bool, int, float, Decimal, datetime, date, time, timedelta)
# Excel holds at most this many characters in one cell.
EXCEL_MAX_CELL_CHARACTERS = 32_767
# Browser executables kaleido can drive, in the order they are looked for on PATH.
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# Rows read per query when streaming a whole table to CSV (bounded memory at any size).
EXPORT_CHUNK_ROWS = 50_000
# An Excel sheet holds 1,048,576 rows, one of them the header.
EXCEL_MAX_DATA_ROWS = 1_048_575
# Pixel size of server-side chart images: readable on a slide.
PNG_WIDTH, PNG_HEIGHT, PNG_SCALE = 1200, 675, 2

EXPORTABLE_ENTITIES = {
    "customers": customers,
    "orders": orders,
    "order_items": order_items,
    "transactions": transactions,
    "products": products,
}
# Tables that are catalogue data, not about people (the rest hold or point to customers).
_NON_PERSONAL_ENTITIES = {"products"}
_MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "html": "text/html",
}


def _skipped_before_formula(character: str) -> bool:
    # Whitespace of any script, control and invisible format characters (ZWSP, BOM, word
    # joiner, direction marks) and quotes: a spreadsheet may ignore or strip them.
    return (
        character.isspace()
        or unicodedata.category(character) in _SKIPPED_CATEGORIES
        or unicodedata.normalize("NFKC", character) in _QUOTES
    )


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula.

    True when the first character that is not whitespace, invisible or a quote is a formula
    sign, compared after NFKC folding (full-width ＝ ＋ － ＠ count), or when the text starts
    with a tab or CR (OWASP's list).
    """
    if text.startswith(("\t", "\r")):
        return True
    for character in text:
        if _skipped_before_formula(character):
            continue
        return unicodedata.normalize("NFKC", character)[:1] in _FORMULA_SIGNS
    return False


def csv_safe(value: object) -> object:
    """``value`` as it may be written to a CSV cell: text a spreadsheet would run gets a leading ``'``."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def _neutralise_text(values: pd.Series) -> pd.Series:
    return values.astype(object).map(csv_safe)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` for CSV: text cells (and headers) a spreadsheet would run begin with ``'``."""
    result = frame.copy()
    for column in result.columns:
        series = result[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)):
            result[column] = _neutralise_text(series)
    # Column headers are cells too.
    result.columns = [csv_safe(name) for name in result.columns]
    return result


def csv_chunk(frame: pd.DataFrame, *, header: bool = True) -> bytes:
    """``frame`` as UTF-8 CSV lines, formula-safe (no BOM: streamed writers put it once at the start).

    Lines end with CR LF (RFC 4180), which also makes the writer quote every cell holding a CR:
    with LF endings a bare CR inside a cell is left unquoted, and spreadsheets start a new row
    there, so "x\r=1+1" would put a live "=1+1" at the start of a row.
    """
    return neutralise_formulas(frame).to_csv(index=False, header=header, lineterminator="\r\n").encode("utf-8")


def _xlsx_text(value: str) -> str:
    # Characters XML cannot hold make the workbook unreadable and carry no meaning in a table;
    # Excel holds at most 32,767 characters in a cell.
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)[:EXCEL_MAX_CELL_CHARACTERS]


def _xlsx_value(value: object) -> object:
    """A plain Python value openpyxl can store (missing values → empty cell, no time zones)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)  # Excel has no time zones
        return value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    if isinstance(value, np.generic):
        if pd.isna(value):
            return None
        value = value.item()
    if value is pd.NA:
        return None
    # Anything else (a dict, a list, an id object) is written as its text, and checked like text.
    return value if isinstance(value, _XLSX_NATIVE_TYPES) else str(value)


def _xlsx_cell(sheet: Any, value: object) -> Any:
    from openpyxl.cell import WriteOnlyCell

    value = _xlsx_value(value)
    if not isinstance(value, str):
        return value
    text = _xlsx_text(value)
    cell = WriteOnlyCell(sheet, value=text)
    # Always a string cell: never a formula ("=…") or an error value ("#N/A"), whatever it holds.
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True  # Excel shows the text as typed and keeps it text when edited
    return cell


def _xlsx_bytes(frame: pd.DataFrame, sheet_name: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_name))
    sheet.freeze_panes = "A2"  # the header row stays in view while scrolling
    sheet.append([_xlsx_cell(sheet, str(name)) for name in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(name: str) -> str:
    # Excel refuses these characters in sheet names and more than 31 characters.
    cleaned = "".join("_" if character in "[]:*?/\\" else character for character in name).strip("'")
    return cleaned[:31] or "data"


def table_bytes(frame: pd.DataFrame, file_format: str, *, sheet_name: str = "data") -> bytes:
    """``frame`` as a CSV (UTF-8 with BOM, so Excel reads accents and CJK) or XLSX file, formula-safe."""
    if file_format == "csv":
        return "\ufeff".encode() + csv_chunk(frame)
    if file_format == "xlsx":
        return _xlsx_bytes(frame, sheet_name)
    raise ValueError(f"Unknown table format “{file_format}” (csv or xlsx).")


def _audit_export(engine: Engine, actor: Actor, name: str, details: dict[str, Any]) -> None:
    with engine.begin() as connection:
        record_audit(connection, actor, "export", name[:40], None, after=details)


def export_table(
    engine: Engine, frame: pd.DataFrame, *, name: str, file_format: str, actor: Actor, personal: bool
) -> bytes:
    """The file for a table download; checks the permission and audits the export.

    ``personal`` tables (names, emails, phones, addresses, per-customer rows) need
    EXPORT_PERSONAL_DATA; aggregated tables need EXPORT_AGGREGATES.
    """
    require(actor, Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES)
    data = table_bytes(frame, file_format, sheet_name=name)
    _audit_export(
        engine,
        actor,
        name,
        {
            "format": file_format,
            "rows": len(frame),
            "columns": [str(column) for column in frame.columns],
            "personal": personal,
        },
    )
    return data


def export_entity(engine: Engine, entity: str, *, file_format: str, actor: Actor, out: Path) -> int:
    """Write a whole table to ``out`` (``python -m crm export``); return the number of rows.

    CSV is streamed in chunks, so a million orders never sit in memory at once; XLSX is
    limited to what Excel can open.
    """
    table = EXPORTABLE_ENTITIES.get(entity)
    if table is None:
        raise ValueError(f"Cannot export “{entity}” (choose {', '.join(EXPORTABLE_ENTITIES)}).")
    if file_format not in ("csv", "xlsx"):
        raise ValueError(f"Unknown table format “{file_format}” (csv or xlsx).")
    personal = entity not in _NON_PERSONAL_ENTITIES
    require(actor, Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES)
    query = select(table).order_by(table.c.id)
    rows = 0
    with engine.connect() as connection:
        if file_format == "csv":
            with Path(out).open("wb") as handle:
                handle.write("\ufeff".encode())  # BOM: Excel then reads UTF-8 (accents, CJK) correctly
                for chunk in pd.read_sql(query, connection, chunksize=EXPORT_CHUNK_ROWS):
                    handle.write(csv_chunk(chunk, header=rows == 0))
                    rows += len(chunk)
                if rows == 0:
                    handle.write(csv_chunk(pd.DataFrame(columns=table.c.keys())))
        else:
            rows = connection.execute(select(func.count()).select_from(table)).scalar_one()
            if rows > EXCEL_MAX_DATA_ROWS:
                raise ValueError(f"{rows:,} {entity} do not fit in one Excel sheet; export them as CSV.")
            frame = pd.read_sql(query, connection)
            Path(out).write_bytes(table_bytes(frame, "xlsx", sheet_name=entity))
    _audit_export(engine, actor, entity, {"format": file_format, "rows": rows, "personal": personal, "table": True})
    return rows


# --- charts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartFile:
    data: bytes
    file_name: str
    mime: str
    # Shown next to the download: why the chart came as HTML rather than PNG.
    note: str = ""


def browser_path() -> str | None:
    """The Chrome/Chromium kaleido will use (``BROWSER_PATH`` first, as kaleido does), or None."""
    configured = os.environ.get("BROWSER_PATH")
    if configured and os.path.exists(configured):
        return configured
    return next((path for name in _BROWSER_NAMES if (path := shutil.which(name))), None)


def png_available() -> bool:
    """Whether a server-side PNG can be rendered (kaleido installed and a Chromium to drive)."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return False
    return browser_path() is not None


_NO_BROWSER_NOTE = (
    "No Chrome/Chromium is installed on the server, so the chart is saved as a standalone HTML file "
    "instead of PNG. Open it in a browser (it works offline) and use its camera button to save a PNG."
)


def _html(figure: Any) -> bytes:
    # The plotly.js bundle is embedded so the file opens without internet.
    return figure.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def chart_file(
    figure: Any, *, name: str, engine: Engine, actor: Actor, personal: bool = False, file_format: str | None = None
) -> ChartFile:
    """The chart as PNG (kaleido + system Chromium) or, without a browser, standalone HTML with a note.

    ``file_format`` forces "png" or "html"; the default is PNG when it can be rendered.
    """
    require(actor, Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES)
    wanted = file_format or ("png" if png_available() else "html")
    note = ""
    if wanted == "png":
        if not png_available():
            wanted, note = "html", _NO_BROWSER_NOTE
        else:
            try:
                data = figure.to_image(format="png", width=PNG_WIDTH, height=PNG_HEIGHT, scale=PNG_SCALE)
            except Exception as error:  # kaleido/browser failures vary; fall back rather than lose the export
                wanted = "html"
                note = f"The PNG could not be rendered on the server ({type(error).__name__}); saved as HTML instead."
    elif file_format is None:
        note = _NO_BROWSER_NOTE
    if wanted == "html":
        data = _html(figure)
    _audit_export(engine, actor, name, {"format": wanted, "chart": True, "personal": personal})
    return ChartFile(data=data, file_name=f"{name}.{wanted}", mime=_MIME[wanted], note=note)


def mime_type(file_format: str) -> str:
    return _MIME[file_format]
