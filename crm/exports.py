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
import re
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
    "chart_context_line",
    "chart_file",
    "column_kind",
    "csv_chunk",
    "csv_safe",
    "export_entity",
    "export_table",
    "header_label",
    "looks_like_formula",
    "mime_type",
    "neutralise_formulas",
    "png_available",
    "presented_table",
    "table_bytes",
    "with_context",
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
# Columns that are bookkeeping, not information: never in a spreadsheet a person opens.
INTERNAL_COLUMNS = frozenset({"version", "password_hash"})
# Column names whose numbers are money or shares (the same rule as the tables on screen, crm/ui/widgets.py).
_PERCENT_ENDINGS = ("share", "rate", "change", "retention", "_pct")
_MONEY_WORDS = ("revenue", "value", "amount", "monetary", "cash", "spend", "price", "clv", "cost")
# Words kept as written when a column name becomes a header.
_HEADER_WORDS = {"aov": "AOV", "rfm": "RFM", "id": "ID", "sku": "SKU", "clv": "CLV", "r": "R", "f": "F", "m": "M"}
# A column name written by the code (snake_case), as opposed to a header typed in an imported file.
_CODE_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Excel number formats: money as dollars with cents, shares as percent, days and moments as ISO dates.
XLSX_MONEY_FORMAT = '"$"#,##0.00'
XLSX_PERCENT_FORMAT = "0.0%"
XLSX_DATE_FORMAT = "yyyy-mm-dd"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Column widths in characters: wide enough for the header or the longest of the first rows, never huge.
_WIDTH_SAMPLE_ROWS = 200
_MIN_WIDTH, _MAX_WIDTH = 8, 50
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


def header_label(name: str) -> str:
    """A column name as a spreadsheet header: 'average_order_value' → 'Average order value', 'clv' → 'CLV'."""
    words = str(name).split("_")
    if not _CODE_NAME.fullmatch(str(name)) or not all(words):
        return str(name)  # not a snake_case name (a header from an imported file): kept as written
    shown = [_HEADER_WORDS.get(word, word) for word in words]
    first = shown[0] if shown[0] in _HEADER_WORDS.values() else shown[0][:1].upper() + shown[0][1:]
    return " ".join([first, *shown[1:]])


def column_kind(name: str, values: pd.Series) -> str:
    """'money', 'percent', 'date', 'datetime' or 'other': how a column's numbers are shown."""
    column = str(name).lower()
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    sample = values.dropna().head(20)
    if len(sample) and all(isinstance(value, datetime) for value in sample):
        return "datetime"
    if len(sample) and all(isinstance(value, date) and not isinstance(value, datetime) for value in sample):
        return "date"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    decimals = len(sample) > 0 and all(isinstance(value, Decimal) for value in sample)
    if not (numeric or decimals) or column == "id" or column.endswith("_id"):
        return "other"
    if column.endswith(_PERCENT_ENDINGS):
        return "percent"
    if any(word in column for word in _MONEY_WORDS):
        return "money"
    return "other"


def presented_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as a CSV download shows it: no internal columns, readable headers naming the unit,
    percentages as on screen (12.5 under "Repeat rate (%)"), money rounded to cents under "… ($)".
    """
    shown = frame.drop(columns=[name for name in frame.columns if str(name) in INTERNAL_COLUMNS])
    result = pd.DataFrame(index=shown.index)
    for name in shown.columns:
        values = shown[name]
        kind = column_kind(str(name), values)
        label = header_label(str(name))
        if kind == "percent":
            result[f"{label} (%)"] = (pd.to_numeric(values, errors="coerce") * 100).round(2)
        elif kind == "money":
            result[f"{label} ($)"] = pd.to_numeric(values, errors="coerce").round(2)
        else:
            result[label] = values
    return result


_FORMATS = {
    "money": XLSX_MONEY_FORMAT,
    "percent": XLSX_PERCENT_FORMAT,
    "date": XLSX_DATE_FORMAT,
    "datetime": XLSX_DATETIME_FORMAT,
}


def _xlsx_cell(sheet: Any, value: object, number_format: str | None = None) -> Any:
    from openpyxl.cell import WriteOnlyCell

    value = _xlsx_value(value)
    if not isinstance(value, str):
        if number_format is None or value is None or isinstance(value, bool):
            return value
        if isinstance(value, Decimal):
            value = float(value)  # openpyxl stores Decimal as a number too; float keeps the format simple
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell
    text = _xlsx_text(value)
    cell = WriteOnlyCell(sheet, value=text)
    # Always a string cell: never a formula ("=…") or an error value ("#N/A"), whatever it holds.
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True  # Excel shows the text as typed and keeps it text when edited
    return cell


def _column_width(header: str, values: pd.Series, kind: str) -> float:
    sample = values.head(_WIDTH_SAMPLE_ROWS)
    longest = max((len(str(value)) for value in sample if value is not None), default=0)
    if kind in ("money", "percent"):
        longest += 4  # "$" and thousands separators, or the "%"
    return float(min(max(len(header), longest, _MIN_WIDTH) + 2, _MAX_WIDTH))


def _xlsx_bytes(frame: pd.DataFrame, sheet_name: str, *, readable_headers: bool = False) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    frame = frame.drop(columns=[name for name in frame.columns if str(name) in INTERNAL_COLUMNS])
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(sheet_name))
    sheet.freeze_panes = "A2"  # the header row stays in view while scrolling
    headers = [header_label(str(name)) if readable_headers else str(name) for name in frame.columns]
    kinds = [column_kind(str(name), frame[name]) for name in frame.columns]
    formats = [_FORMATS.get(kind) for kind in kinds]
    for position, (header, name, kind) in enumerate(zip(headers, frame.columns, kinds, strict=True), start=1):
        # Column widths must be set before the first row of a write-only sheet.
        sheet.column_dimensions[get_column_letter(position)].width = _column_width(header, frame[name], kind)
    sheet.append([_xlsx_cell(sheet, header) for header in headers])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_xlsx_cell(sheet, value, shown_as) for value, shown_as in zip(row, formats, strict=True)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(name: str) -> str:
    # Excel refuses these characters in sheet names and more than 31 characters.
    cleaned = "".join("_" if character in "[]:*?/\\" else character for character in name).strip("'")
    return cleaned[:31] or "data"


def table_bytes(frame: pd.DataFrame, file_format: str, *, sheet_name: str = "data", presented: bool = False) -> bytes:
    """``frame`` as a CSV (UTF-8 with BOM, so Excel reads accents and CJK) or XLSX file, formula-safe.

    XLSX always has a frozen header row, column widths, number formats for money, percent and
    dates, and no internal columns. ``presented`` (a table as a person downloads it from a page)
    also makes headers readable; its CSV is ``presented_table`` (units in the headers, percent as shown).
    """
    if file_format == "csv":
        return "\ufeff".encode() + csv_chunk(presented_table(frame) if presented else frame)
    if file_format == "xlsx":
        return _xlsx_bytes(frame, sheet_name, readable_headers=presented)
    raise ValueError(f"Unknown table format “{file_format}” (csv or xlsx).")


def _audit_export(engine: Engine, actor: Actor, name: str, details: dict[str, Any]) -> None:
    with engine.begin() as connection:
        record_audit(connection, actor, "export", name[:40], None, after=details)


def export_table(
    engine: Engine,
    frame: pd.DataFrame,
    *,
    name: str,
    file_format: str,
    actor: Actor,
    personal: bool,
    presented: bool = False,
) -> bytes:
    """The file for a table download; checks the permission and audits the export.

    ``personal`` tables (names, emails, phones, addresses, per-customer rows) need
    EXPORT_PERSONAL_DATA; aggregated tables need EXPORT_AGGREGATES. ``presented``: see ``table_bytes``.
    """
    require(actor, Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES)
    data = table_bytes(frame, file_format, sheet_name=name, presented=presented)
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


def chart_context_line(context: str, made: date) -> str:
    """The line under a downloaded chart's title: the period and filters, and the day it was made."""
    return f"{context} · made {made:%d %b %Y}" if context else f"Made {made:%d %b %Y}"


def with_context(figure: Any, context: str, made: date) -> Any:
    """A copy of ``figure`` whose title carries ``context`` (period, filters) and the day it was made.

    A file travels without the page around it, so the chart itself says what it shows. The line
    goes under the title (a Plotly subtitle); a chart without a title gets the line as its title.
    """
    import plotly.graph_objects as go

    copy = go.Figure(figure)
    line = chart_context_line(context, made)
    title = copy.layout.title.text
    if title:
        copy.update_layout(title={"text": title, "subtitle": {"text": line}}, margin={"t": 110})
    else:
        copy.update_layout(title={"text": line, "font": {"size": 14}}, margin={"t": 80})
    return copy


def chart_file(
    figure: Any,
    *,
    name: str,
    engine: Engine,
    actor: Actor,
    personal: bool = False,
    file_format: str | None = None,
    context: str = "",
    made: date | None = None,
) -> ChartFile:
    """The chart as PNG (kaleido + system Chromium) or, without a browser, standalone HTML with a note.

    ``file_format`` forces "png" or "html"; the default is PNG when it can be rendered. The file's
    title carries ``context`` (the period and filters) and the day it was made (``made``, default today).
    """
    require(actor, Permission.EXPORT_PERSONAL_DATA if personal else Permission.EXPORT_AGGREGATES)
    figure = with_context(figure, context, made or datetime.now(UTC).date())
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
