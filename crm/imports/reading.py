"""Reading import files: CSV in any of the common encodings and XLSX workbooks.

Everything is read as text (``str``, blank = ``""``): typing happens later, per field, in
``crm.imports.validation`` so that a bad value can be reported with its row and column
instead of silently becoming NaN.

Detection (each can be overridden by the caller):
* encoding — byte-order mark, then strict UTF-8, then charset-normalizer restricted to the
  encodings our users actually send (an unrestricted guess turns CP1252 into CP775);
* delimiter — the candidate that splits the first lines into the most, equally wide fields;
* header row — the first row that is mostly filled with text, so a title line ("Customers
  2025") or a blank line above the header is skipped;
* sheet — the sheet with the most cells (a "Read me" sheet in front is skipped).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import charset_normalizer
import numpy as np
import pandas as pd

__all__ = [
    "SUPPORTED_ENCODINGS",
    "WHITESPACE",
    "ParsedFile",
    "detect_delimiter",
    "detect_encoding",
    "detect_header_row",
    "read_source",
]

# Encodings offered in the wizard and tried by the detector, most common first.
SUPPORTED_ENCODINGS = (
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "cp949",
    "big5",
    "shift_jis",
    "gb18030",
    "euc_jp",
    "cp1252",
    "latin-1",
)
# charset-normalizer's names for the candidates above (it needs underscores).
_DETECTOR_CANDIDATES = ["utf_8", "utf_16", "cp949", "big5", "shift_jis", "gb18030", "euc_jp", "cp1252"]
# Bytes looked at for encoding detection: enough for a reliable guess, cheap on a 100 MB file.
DETECTION_SAMPLE_BYTES = 256 * 1024
DELIMITER_CANDIDATES = (",", ";", "\t", "|")
# Stands for "one or more spaces/tabs" (fixed-width exports such as CDNOW_master.txt).
WHITESPACE = " "
# Lines/rows examined when guessing the delimiter and the header row.
SNIFF_LINES = 30
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class ParsedFile:
    """A file read as a text table, with what was detected and what went wrong."""

    frame: pd.DataFrame  # one column per header cell, all values ``str`` ("" when blank)
    row_numbers: np.ndarray  # 1-based line (CSV) or sheet row (XLSX) of every frame row
    file_format: str  # "csv" or "xlsx"
    encoding: str | None  # CSV only
    delimiter: str | None  # CSV only
    header_row: int  # 1-based row of the header in the file or sheet; 0 when the file has none
    sheet: str | None  # XLSX only
    sheets: list[str] = field(default_factory=list)
    sha256: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [str(column) for column in self.frame.columns]

    def describe(self) -> str:
        """One line for the wizard: what was detected."""
        if self.file_format == "xlsx":
            header = f"header on row {self.header_row}" if self.header_row else "no header row"
            return f"Excel sheet “{self.sheet}”, {header}, {len(self.frame):,} data rows"
        delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", WHITESPACE: "space"}.get(
            self.delimiter or "", "?"
        )
        header = f"header on line {self.header_row}" if self.header_row else "no header line"
        return f"CSV in {self.encoding}, {delimiter}-delimited, {header}, {len(self.frame):,} data rows"


# --- encoding and delimiter ----------------------------------------------------------------
def detect_encoding(data: bytes) -> str:
    """Best guess of the text encoding of ``data`` among ``SUPPORTED_ENCODINGS``."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:DETECTION_SAMPLE_BYTES]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        if error.start >= len(sample) - 3 and len(data) > len(sample):
            return "utf-8"
    if _looks_like_bomless_utf16(sample):
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    best = charset_normalizer.from_bytes(sample, cp_isolation=_DETECTOR_CANDIDATES).best()
    if best is None:
        return "cp1252"  # decodes nearly any byte; the preview shows the user whether it is right
    return best.encoding.replace("_", "-") if best.encoding.startswith("utf") else best.encoding


def _looks_like_bomless_utf16(sample: bytes) -> bool:
    # ASCII text in UTF-16 has a NUL in every other byte.
    head = sample[:2000]
    return len(head) >= 4 and (head[1::2].count(0) > len(head) * 0.4 or head[0::2].count(0) > len(head) * 0.4)


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, most consistent fields."""
    lines = [line for line in text.splitlines()[:SNIFF_LINES] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for candidate in DELIMITER_CANDIDATES:
        widths = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        if max(widths) <= 1:
            continue
        common = max(set(widths), key=widths.count)
        # Consistency matters more than width: a title line above the header may differ.
        score = widths.count(common) / len(widths) * 10 + min(common, 50) / 50
        if score > best_score:
            best, best_score = candidate, score
    if best_score < 0:
        widths = [len(line.split()) for line in lines]
        if min(widths) >= 2 and len(set(widths)) == 1:
            return WHITESPACE
    return best


# --- header row ----------------------------------------------------------------------------
_NUMBER_OR_DATE = re.compile(r"^[\s$€£¥₩+-]*[\d.,/:\- ]+%?$")


def _is_label(value: str) -> bool:
    value = value.strip()
    return bool(value) and not _NUMBER_OR_DATE.match(value)


def detect_header_row(rows: list[list[str]]) -> int:
    """0-based index of the header among the first rows of a table; -1 when there is none.

    The header is the first row filled to at least 60 % of the widest row with labels
    (text that is not a number or date); titles and blank lines above it are skipped.
    A table of nothing but numbers and dates has no header; otherwise the first non-empty
    row is the header (e.g. "Name, 2024, 2025").
    """
    sample = rows[:SNIFF_LINES]
    filled = [sum(1 for value in row if str(value).strip()) for row in sample]
    if not filled or max(filled) == 0:
        return 0
    widest = max(filled)
    for index, row in enumerate(sample):
        values = [str(value) for value in row if str(value).strip()]
        wide_enough = filled[index] >= max(2, widest * 0.6) or (widest == 1 and filled[index] == 1)
        if wide_enough and sum(_is_label(value) for value in values) >= len(values) * 0.8:
            return index
    if not any(_is_label(str(value)) for row in sample for value in row):
        return -1
    return next(index for index, count in enumerate(filled) if count)


# --- reading -------------------------------------------------------------------------------
def _unique_names(names: list[str]) -> list[str]:
    """Header cells as column names: blanks become "column N", repeats get " (2)"."""
    seen: dict[str, int] = {}
    result = []
    for position, raw in enumerate(names, start=1):
        name = str(raw).strip().replace("\n", " ") or f"column {position}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        result.append(name)
    return result


def _finish(frame: pd.DataFrame, row_numbers: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    frame = frame.fillna("").astype(str)
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    # Wholly blank rows (spacer lines, trailing rows of a sheet) are not data.
    keep = (frame != "").any(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), dtype=bool)
    return frame.loc[keep].reset_index(drop=True), row_numbers[keep]


def _read_csv(
    data: bytes, encoding: str | None, delimiter: str | None, header_row: int | None, warnings: list[str]
) -> tuple[pd.DataFrame, np.ndarray, str, str, int]:
    encoding = encoding or detect_encoding(data)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        if isinstance(error, LookupError):
            raise ValueError(f"Unknown encoding “{encoding}”.") from None
        text = data.decode(encoding, errors="replace")
        warnings.append(
            f"Some bytes are not valid {encoding} and were replaced by “�” (first at byte {error.start}); "
            "choose another encoding if names look wrong."
        )
    text = text.removeprefix("\ufeff")
    head_lines = text[:200_000].splitlines()[:SNIFF_LINES]
    delimiter = delimiter or detect_delimiter("\n".join(head_lines))
    if header_row is None:
        if delimiter == WHITESPACE:
            sniffed = [line.split() for line in head_lines]
        else:
            sniffed = list(csv.reader(head_lines, delimiter=delimiter))
        header_index = detect_header_row(sniffed)
    else:
        header_index = header_row - 1
    # Lines above the header (titles, notes) may have any width: skip them before parsing.
    options = {
        "sep": r"\s+" if delimiter == WHITESPACE else delimiter,
        "header": 0 if header_index >= 0 else None,
        "skiprows": max(header_index, 0),
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
    }
    try:
        frame = pd.read_csv(io.StringIO(text), engine="c", on_bad_lines="error", **options)
    except pd.errors.ParserError:
        # Rare ragged lines: the slower parser lets us keep the good rows and say which were dropped.
        dropped: list[list[str]] = []

        def _keep_bad(fields: list[str]) -> None:
            dropped.append(fields)
            return None

        frame = pd.read_csv(io.StringIO(text), engine="python", on_bad_lines=_keep_bad, **options)
        warnings.append(
            f"{len(dropped)} line(s) have more fields than the header and were left out "
            f"(first: {delimiter.join(dropped[0])[:80]!r}); check the delimiter."
        )
    if header_index < 0:
        frame.columns = [f"column {position}" for position in range(1, len(frame.columns) + 1)]
    frame.columns = _unique_names([str(column) for column in frame.columns])
    # pandas names blank header cells "Unnamed: N"; show them as "column N".
    frame.columns = [
        f"column {position}" if name.startswith("Unnamed: ") else name
        for position, name in enumerate(frame.columns, start=1)
    ]
    row_numbers = np.arange(len(frame), dtype=np.int64) + header_index + 2
    frame, row_numbers = _finish(frame, row_numbers)
    return frame, row_numbers, encoding, delimiter, header_index + 1


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.isoformat(sep=" ")
            if (value.hour, value.minute, value.second) != (0, 0, 0)
            else value.date().isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_MERGED_RANGE = re.compile(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?>(.*?)</c>', re.DOTALL)


def _read_xlsx(
    data: bytes, sheet: str | None, header_row: int | None, warnings: list[str]
) -> tuple[pd.DataFrame, np.ndarray, str, int, list[str]]:
    import openpyxl

    # Read-only mode streams the sheet (several times faster on big sheets); data_only=True
    # reads the value Excel saved for each formula, not the formula text.
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = list(workbook.sheetnames)
        if sheet is None:
            # The biggest sheet is the data; a "Read me" or "Notes" sheet in front of it is not.
            sheet = max(sheets, key=lambda name: (workbook[name].max_row or 0) * (workbook[name].max_column or 0))
        elif sheet not in sheets:
            raise ValueError(f"The workbook has no sheet “{sheet}” (sheets: {', '.join(sheets)}).")
        worksheet = workbook[sheet]
        rows = [[_cell_text(value) for value in row] for row in worksheet.iter_rows(values_only=True)]
        sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read(worksheet._worksheet_path)
    finally:
        workbook.close()
    width = max((len(row) for row in rows), default=0)
    rows = [row + [""] * (width - len(row)) for row in rows]
    # Detected before merged cells are filled in: a merged title spans the width of a header.
    header_index = detect_header_row(rows) if header_row is None else header_row - 1
    _fill_merged_cells(sheet_xml, rows)
    _warn_formulas_without_values(sheet_xml, rows, warnings)
    if header_index >= len(rows):
        raise ValueError(f"Sheet “{sheet}” has only {len(rows)} rows; header row {header_index + 1} is empty.")
    if header_index < 0:  # no header: name the columns by position
        width = max((index + 1 for row in rows for index, value in enumerate(row) if value.strip()), default=0)
        header = [f"column {position}" for position in range(1, width + 1)]
    else:
        header = rows[header_index]
        width = max((index + 1 for index, value in enumerate(header) if value.strip()), default=0)
    body = [row[:width] for row in rows[header_index + 1 :]]
    frame = pd.DataFrame(body, columns=_unique_names(header[:width]), dtype=object)
    row_numbers = np.arange(len(frame), dtype=np.int64) + header_index + 2
    frame, row_numbers = _finish(frame, row_numbers)
    return frame, row_numbers, sheet, header_index + 1, sheets


def _fill_merged_cells(sheet_xml: bytes, rows: list[list[str]]) -> None:
    """A merged range shows its value in every cell it covers (e.g. a city merged over three rows)."""
    from openpyxl.utils.cell import range_boundaries

    for match in _MERGED_RANGE.finditer(sheet_xml):
        min_col, min_row, max_col, max_row = range_boundaries(match.group(1).decode())
        if min_row > len(rows) or min_col > len(rows[min_row - 1]):
            continue
        value = rows[min_row - 1][min_col - 1]
        for row_index in range(min_row - 1, min(max_row, len(rows))):
            for column_index in range(min_col - 1, min(max_col, len(rows[row_index]))):
                rows[row_index][column_index] = value


def _warn_formulas_without_values(sheet_xml: bytes, rows: list[list[str]], warnings: list[str]) -> None:
    """Formulas whose result was never saved (files written by scripts) read as blank: say so."""
    if b"<f" not in sheet_xml:
        return
    from openpyxl.utils.cell import column_index_from_string

    missing = []
    for match in _CELL.finditer(sheet_xml):
        if b"<f" not in match.group(3):
            continue
        row, column = int(match.group(2)), column_index_from_string(match.group(1).decode())
        if row <= len(rows) and column <= len(rows[row - 1]) and not rows[row - 1][column - 1]:
            missing.append(f"{match.group(1).decode()}{row}")
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        warnings.append(
            f"{len(missing)} formula cell(s) have no saved result and read as blank ({shown}); "
            "open the file in Excel and save it to store the results."
        )


def read_source(
    source: Path | bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    file_name: str | None = None,
) -> ParsedFile:
    """Read a CSV or XLSX file (path or bytes) into a text table, detecting what isn't given.

    ``header_row`` is 1-based (the line or sheet row of the header); 0 means the file has no
    header and its columns are named "column 1", "column 2", ...
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    if file_name is None and isinstance(source, (str, Path)):
        file_name = Path(source).name
    sha256 = hashlib.sha256(data).hexdigest()
    warnings: list[str] = []
    is_xlsx = data.startswith(XLSX_MAGIC) or (file_name or "").lower().endswith((".xlsx", ".xlsm"))
    if is_xlsx:
        try:
            frame, row_numbers, sheet_name, header, sheets = _read_xlsx(data, sheet, header_row, warnings)
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise ValueError(f"This is not a readable Excel (.xlsx) file ({error}).") from error
        parsed = ParsedFile(frame, row_numbers, "xlsx", None, None, header, sheet_name, sheets, sha256, warnings)
    else:
        if not data.strip():
            raise ValueError("The file is empty.")
        frame, row_numbers, used_encoding, used_delimiter, header = _read_csv(
            data, encoding, delimiter, header_row, warnings
        )
        parsed = ParsedFile(
            frame, row_numbers, "csv", used_encoding, used_delimiter, header, None, [], sha256, warnings
        )
    if parsed.frame.columns.empty:
        raise ValueError("The file has no columns.")
    return parsed
