"""Exports: tables to CSV/XLSX (formula-injection safe) and charts to PNG or standalone HTML.

Every export checks the actor's permission (personal data vs. aggregates) and writes an
``export`` row to the audit log. Spreadsheet programs run a cell that starts with
``= + - @`` (or a tab/CR before them) as a formula, so such text cells get a leading
apostrophe, which Excel and LibreOffice show as plain text (OWASP "CSV injection").
Numbers are left alone: -5 stays a number.

Chart PNGs are rendered by kaleido, which drives a headless Chrome/Chromium; when none is
installed the chart is exported as standalone HTML (interactive, with its own camera
button for PNG) and the note says why.
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import customers, order_items, orders, products, transactions

__all__ = [
    "EXPORTABLE_ENTITIES",
    "FORMULA_PREFIXES",
    "ChartFile",
    "browser_path",
    "chart_file",
    "export_entity",
    "export_table",
    "mime_type",
    "neutralise_formulas",
    "png_available",
    "table_bytes",
]

# Characters that make a spreadsheet cell a formula (or smuggle one in after a tab/CR).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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


def _neutralise_text(values: pd.Series) -> pd.Series:
    text = values.astype(object)
    is_text = text.map(lambda value: isinstance(value, str))
    risky = is_text & text.where(is_text, "").str.startswith(FORMULA_PREFIXES)
    return text.where(~risky, "'" + text.where(risky, "").astype(str))


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells starting with = + - @ tab or CR begin with ``'``."""
    result = frame.copy()
    for column in result.columns:
        series = result[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            result[column] = _neutralise_text(series)
    # Column headers are cells too.
    result.columns = [
        f"'{name}" if isinstance(name, str) and name.startswith(FORMULA_PREFIXES) else name for name in result.columns
    ]
    return result


def _xlsx_ready(frame: pd.DataFrame) -> pd.DataFrame:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    result = frame.copy()
    for column in result.columns:
        series = result[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            result[column] = series.dt.tz_convert(None)  # Excel has no time zones
        elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            # Control characters make the workbook unreadable; they carry no meaning in a table.
            result[column] = series.map(
                lambda value: ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
            )
    return result


def table_bytes(frame: pd.DataFrame, file_format: str, *, sheet_name: str = "data") -> bytes:
    """``frame`` as a CSV (UTF-8 with BOM, so Excel reads accents and CJK) or XLSX file, formula-safe."""
    safe = neutralise_formulas(frame)
    if file_format == "csv":
        return safe.to_csv(index=False).encode("utf-8-sig")
    if file_format == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            _xlsx_ready(safe).to_excel(writer, index=False, sheet_name=sheet_name[:31] or "data")
        return buffer.getvalue()
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
                    handle.write(neutralise_formulas(chunk).to_csv(index=False, header=rows == 0).encode("utf-8"))
                    rows += len(chunk)
                if rows == 0:
                    handle.write((",".join(table.c.keys()) + "\n").encode("utf-8"))
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
