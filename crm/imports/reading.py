"""Reading import files: CSV in any of the common encodings and XLSX workbooks.

Everything is read as text (``str``, blank = ``""``): typing happens later, per field, in
``crm.imports.validation`` so that a bad value can be reported with its row and column
instead of silently becoming NaN.

Detection (each can be overridden by the caller):
* encoding — byte-order mark, then strict UTF-8, then charset-normalizer restricted to the
  encodings our users actually send (an unrestricted guess turns CP1252 into CP775), each
  guess checked by a strict decode; a guess other encodings would read differently, made
  from little text, comes with a warning;
* delimiter — the candidate that splits the first lines into the most, equally wide fields;
* header row — the first row that is mostly filled with text, so a title line ("Customers
  2025") or a blank line above the header is skipped;
* sheet — the sheet whose header row names the most known fields (a "Read me" or a long
  "Notes" sheet is skipped), else the one with the most filled cells.

Row numbers are the file's own: the line a CSV record starts on (a quoted note may span
lines), the sheet row in a workbook. A CSV line with more fields than the header is kept as
a rejected row ("5 fields, the header has 3"), never dropped.
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

from crm.imports.fields import ENTITIES, IGNORE
from crm.imports.mapping import suggest_mapping

__all__ = [
    "SUPPORTED_ENCODINGS",
    "WHITESPACE",
    "ParsedFile",
    "detect_delimiter",
    "detect_encoding",
    "detect_header_row",
    "guess_encoding",
    "read_source",
]

# Encodings offered in the wizard and tried by the detector, most common first. Windows'
# code pages, not the older standards they extend: Excel on Japanese Windows writes cp932
# (㈱, ①, 髙 are not Shift-JIS), on Taiwanese Windows cp950 (Big5 plus €, 碁, 裏…);
# gb18030 covers GBK/GB2312 (mainland China).
SUPPORTED_ENCODINGS = (
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "cp949",
    "cp950",
    "cp932",
    "gb18030",
    "euc_jp",
    "cp1252",
    "latin-1",
)
# charset-normalizer's names for the candidates above (it needs underscores).
_DETECTOR_CANDIDATES = ["utf_8", "utf_16", "cp949", "cp950", "cp932", "gb18030", "euc_jp", "cp1252"]
# Bytes looked at for encoding detection: enough for a reliable guess, cheap on a 100 MB file.
DETECTION_SAMPLE_BYTES = 256 * 1024
# Below this many non-ASCII bytes a guess between encodings that all decode the text is
# weak evidence (a dozen names can read as Chinese, Japanese or Korean): say so.
SMALL_SAMPLE_NON_ASCII_BYTES = 200
# Two guesses whose "chaos" (charset-normalizer's measure of unlikely characters) differ by
# less than this are equally plausible.
CLOSE_CHAOS = 0.05
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
    # CSV lines with more fields than the header: file line -> reason (they become rejected rows).
    ragged: dict[int, str] = field(default_factory=dict)
    # Columns whose header repeats an earlier one: their name here ("Email (2)") -> (header, 1-based position).
    repeated_headers: dict[str, tuple[str, int]] = field(default_factory=dict)

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
    return guess_encoding(data)[0]


def guess_encoding(data: bytes) -> tuple[str, str | None]:
    """(encoding, warning or None): the best guess, and a warning when the guess is uncertain."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", None
    sample = data[:DETECTION_SAMPLE_BYTES]
    cut = len(data) > len(sample)
    try:
        sample.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as error:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        if error.start >= len(sample) - 3 and cut:
            return "utf-8", None
    if _looks_like_bomless_utf16(sample):
        return ("utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"), None
    matches = sorted(
        charset_normalizer.from_bytes(sample, cp_isolation=_DETECTOR_CANDIDATES),
        key=lambda match: (match.chaos, -match.coherence),
    )
    # charset-normalizer may accept a guess that a byte further on does not decode: check.
    readable = {match.encoding: text for match in matches if (text := _strict_text(sample, match.encoding, cut))}
    if not readable:
        return "cp1252", (
            "The encoding could not be recognised, so the file is read as cp1252; "
            "choose the right encoding if names look wrong."
        )
    chosen = next(match for match in matches if match.encoding in readable)
    encoding = _python_name(chosen.encoding)
    others = [
        match
        for match in matches
        if match.encoding in readable
        and match.encoding != chosen.encoding
        and readable[match.encoding] != readable[chosen.encoding]
    ]
    non_ascii = sum(byte >= 0x80 for byte in sample[:65536])
    close = [match for match in others if match.chaos - chosen.chaos < CLOSE_CHAOS]
    if others and (non_ascii < SMALL_SAMPLE_NON_ASCII_BYTES or close):
        alternatives = ", ".join(_python_name(match.encoding) for match in (close or others)[:3])
        return encoding, (
            f"The encoding {encoding} is a guess from little text; {alternatives} would read it differently. "
            "Check the names in the sample below and choose another encoding if they look wrong."
        )
    return encoding, None


def _python_name(encoding: str) -> str:
    return encoding.replace("_", "-") if encoding.startswith("utf") else encoding


def _strict_text(sample: bytes, encoding: str, cut: bool) -> str | None:
    """``sample`` decoded strictly (a character cut at the sample's end excused), or None."""
    try:
        return sample.decode(encoding)
    except UnicodeDecodeError as error:
        if cut and error.start >= len(sample) - 4:
            try:
                return sample[: error.start].decode(encoding)
            except UnicodeDecodeError:
                return None
        return None
    except LookupError:
        return None


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


def _csv_records(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """Every record of ``text`` and the file line it starts on (a quoted field may span lines)."""
    if delimiter == WHITESPACE:
        lines = text.splitlines()
        return [line.split() for line in lines], list(range(1, len(lines) + 1))
    # newline="": \n, \r\n and a lone \r all end a line, and csv sees them as written.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    starts: list[int] = []
    previous = 0
    try:
        for record in reader:
            records.append(record)
            starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error as error:
        raise ValueError(f"Line {previous + 1} cannot be read as CSV ({error}).") from None
    return records, starts


def _line_count(text: str) -> int:
    """Physical lines of ``text`` as the CSV parser sees them (\n, \r\n or a lone \r ends one)."""
    terminators = text.count("\n") + text.count("\r") - text.count("\r\n")
    return terminators + (0 if text.endswith(("\n", "\r")) else 1)


def _read_csv_one_line_per_record(
    text: str, delimiter: str, header_index: int
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """pandas' C parser for the common file: every record on one line, none wider than the header.

    Its row numbers are then simply the lines after the header. None when a line is too wide
    or a quoted field spans lines; the exact (slower) reader handles those files.
    """
    options = {
        "sep": delimiter,
        "header": None,
        "skiprows": max(header_index, 0),
        "dtype": str,
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
    }
    try:
        table = pd.read_csv(io.StringIO(text), engine="c", on_bad_lines="error", **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if len(table) != _line_count(text) - max(header_index, 0):
        return None  # a quoted field holds a line break: records and lines differ
    if header_index >= 0:
        names = _unique_names([str(value) for value in table.iloc[0].tolist()])
        table = table.iloc[1:]
        first_line = header_index + 2
    else:
        names = [f"column {position}" for position in range(1, len(table.columns) + 1)]
        first_line = 1
    table.columns = names
    lines = np.arange(len(table), dtype=np.int64) + first_line
    return _finish(table.reset_index(drop=True), lines)


def _read_csv(
    data: bytes, encoding: str | None, delimiter: str | None, header_row: int | None, warnings: list[str]
) -> tuple[pd.DataFrame, np.ndarray, str, str, int, dict[int, str]]:
    if encoding is None:
        encoding, doubt = guess_encoding(data)
        if doubt:
            warnings.append(doubt)
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
    if delimiter != WHITESPACE:
        if header_row is None:
            first_index = detect_header_row(list(csv.reader(head_lines, delimiter=delimiter)))
        else:
            first_index = header_row - 1
        fast = _read_csv_one_line_per_record(text, delimiter, first_index)
        if fast is not None:
            frame, lines = fast
            return frame, lines, encoding, delimiter, first_index + 1, {}
    records, starts = _csv_records(text, delimiter)
    if header_row is None:
        header_index = detect_header_row(records[:SNIFF_LINES])
    elif header_row == 0:
        header_index = -1
    else:
        # The record on (or, inside a multi-line title, first after) the given line.
        header_index = next((index for index, start in enumerate(starts) if start >= header_row), len(records))
        if header_index >= len(records):
            raise ValueError(f"The file has only {starts[-1] if starts else 0} lines; line {header_row} is empty.")
    body = records[header_index + 1 :]
    lines = np.asarray(starts[header_index + 1 :], dtype=np.int64)
    if header_index >= 0:
        names = _unique_names(records[header_index])
        width = len(names)
    else:
        width = max((len(record) for record in body), default=0)
        names = [f"column {position}" for position in range(1, width + 1)]
    ragged: dict[int, str] = {}
    for position, record in enumerate(body):
        size = len(record)
        if size == width:
            continue
        if size < width:
            body[position] = record + [""] * (width - size)  # short lines: the missing cells are blank
            continue
        if any(value.strip() for value in record[width:]):
            ragged[int(lines[position])] = f"{size} fields, the header has {width}"
        body[position] = record[:width]  # trailing empty fields ("a,b,c,") are not data
    if ragged:
        first_line, first_reason = next(iter(ragged.items()))
        warnings.append(
            f"{len(ragged):,} line(s) have more fields than the header (first: line {first_line}, {first_reason}); "
            "they will be rejected. Check the delimiter, or quote fields that contain it."
        )
    frame = pd.DataFrame(body, columns=names, dtype=object) if body else pd.DataFrame(columns=names, dtype=object)
    frame, lines = _finish(frame, lines)
    kept = set(lines.tolist())
    ragged = {line: reason for line, reason in ragged.items() if line in kept}
    header_line = starts[header_index] if header_index >= 0 else 0
    return frame, lines, encoding, delimiter, header_line, ragged


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
    if isinstance(value, str) and "_x" in value:
        # Excel writes characters XML cannot hold (line feeds' CR, control characters) as _xHHHH_,
        # and a literal "_x" as _x005F_x; openpyxl leaves them as written.
        return _EXCEL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)
    return str(value)


_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


_MERGED_RANGE = re.compile(rb'<mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?>(.*?)</c>', re.DOTALL)


# Rows of each sheet looked at when choosing the sheet that holds the data.
SHEET_SAMPLE_ROWS = 200


def _header_likeness(rows: list[list[str]], entity: str | None) -> float:
    """How much the sheet's header row looks like ``entity``'s fields (any entity's when None).

    Known columns count, and so does their share of the header: a 4-column orders sheet
    whose every column is known beats a 7-column customers sheet with 4 order-like names.
    """
    if not rows:
        return 0.0
    header_index = detect_header_row(rows)
    if header_index < 0:
        return 0.0
    header = [value for value in rows[header_index] if value.strip()]
    if not header:
        return 0.0
    known: set[str] = set()
    for name in [entity] if entity else list(ENTITIES):
        known |= {column for column, field_name in suggest_mapping(header, name).items() if field_name != IGNORE}
    return len(known) * len(known) / len(header)


def _choose_sheet(workbook: object, sheets: list[str], entity: str | None) -> str:
    """The sheet whose header looks most like known fields; on a tie, the one with most filled cells.

    A "Read me" sheet in front, or a long "Notes" sheet (many rows, one column), names no
    fields, so it loses to the data sheet whatever its size.
    """
    scores = []
    for position, name in enumerate(sheets):
        worksheet = workbook[name]  # type: ignore[index]
        sample = [
            [_cell_text(value) for value in row]
            for row in worksheet.iter_rows(max_row=SHEET_SAMPLE_ROWS, values_only=True)
        ]
        filled = sum(1 for row in sample for value in row if value.strip())
        scores.append((_header_likeness(sample, entity), filled, -position))
    return sheets[max(range(len(sheets)), key=lambda index: scores[index])]


def _read_xlsx(
    data: bytes, sheet: str | None, header_row: int | None, warnings: list[str], entity: str | None = None
) -> tuple[pd.DataFrame, np.ndarray, str, int, list[str]]:
    import openpyxl

    # Read-only mode streams the sheet (several times faster on big sheets); data_only=True
    # reads the value Excel saved for each formula, not the formula text.
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = list(workbook.sheetnames)
        if sheet is None:
            sheet = _choose_sheet(workbook, sheets, entity)
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
    _warn_cells_at_excels_limit(rows, warnings)
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


# The most characters an Excel cell holds; Excel and most writers cut longer text to it.
EXCEL_CELL_LIMIT = 32_767
# Cells named in a warning about long cells.
SHOWN_LONG_CELLS = 5


def _warn_cells_at_excels_limit(rows: list[list[str]], warnings: list[str]) -> None:
    """Cells longer than an Excel cell can hold, or exactly that long (likely cut by the writer): say so."""
    from openpyxl.utils.cell import get_column_letter

    longer, at_limit = [], []
    for row_number, row in enumerate(rows, start=1):
        for column_number, value in enumerate(row, start=1):
            if len(value) >= EXCEL_CELL_LIMIT:
                cell = f"{get_column_letter(column_number)}{row_number}"
                if len(value) > EXCEL_CELL_LIMIT:
                    longer.append(f"{cell} has {len(value):,}")
                else:
                    at_limit.append(cell)
    if longer:
        warnings.append(
            f"{len(longer):,} cell(s) are longer than the {EXCEL_CELL_LIMIT:,} characters an Excel cell can hold "
            f"({_first(longer)}): they are read whole, but Excel cuts them when it opens the file or an export of it."
        )
    if at_limit:
        warnings.append(
            f"{len(at_limit):,} cell(s) hold exactly {EXCEL_CELL_LIMIT:,} characters, the most an Excel cell can hold "
            f"({_first(at_limit)}): the program that wrote the file has probably cut them; check how they end."
        )


def _first(cells: list[str]) -> str:
    return "; ".join(cells[:SHOWN_LONG_CELLS]) + (" …" if len(cells) > SHOWN_LONG_CELLS else "")


def read_source(
    source: Path | bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    file_name: str | None = None,
    entity: str | None = None,
) -> ParsedFile:
    """Read a CSV or XLSX file (path or bytes) into a text table, detecting what isn't given.

    ``header_row`` is 1-based (the line or sheet row of the header); 0 means the file has no
    header and its columns are named "column 1", "column 2", ... ``entity`` (customers,
    orders, ...) helps pick a workbook's sheet: the one whose header names its fields.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    if file_name is None and isinstance(source, (str, Path)):
        file_name = Path(source).name
    sha256 = hashlib.sha256(data).hexdigest()
    warnings: list[str] = []
    is_xlsx = data.startswith(XLSX_MAGIC) or (file_name or "").lower().endswith((".xlsx", ".xlsm"))
    if is_xlsx:
        try:
            frame, row_numbers, sheet_name, header, sheets = _read_xlsx(data, sheet, header_row, warnings, entity)
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise ValueError(f"This is not a readable Excel (.xlsx) file ({error}).") from error
        parsed = ParsedFile(frame, row_numbers, "xlsx", None, None, header, sheet_name, sheets, sha256, warnings)
    else:
        if not data.strip():
            raise ValueError("The file is empty.")
        frame, row_numbers, used_encoding, used_delimiter, header, ragged = _read_csv(
            data, encoding, delimiter, header_row, warnings
        )
        parsed = ParsedFile(
            frame, row_numbers, "csv", used_encoding, used_delimiter, header, None, [], sha256, warnings, ragged
        )
    if parsed.frame.columns.empty:
        raise ValueError("The file has no columns.")
    parsed.repeated_headers = _repeated_headers(parsed.columns)
    return parsed


def _repeated_headers(columns: list[str]) -> dict[str, tuple[str, int]]:
    """Columns ``_unique_names`` renamed because their header repeats an earlier one."""
    repeated = {}
    names = set(columns)
    for position, column in enumerate(columns, start=1):
        match = re.fullmatch(r"(.+) \((\d+)\)", column)
        if match and match.group(1) in names:
            repeated[column] = (match.group(1), position)
    return repeated
