"""A NUL character in one cell rejects that row with its row and column; the clean rows import.

PostgreSQL refused such a file as a whole (a driver message, no row number); SQLite stored the
NUL and exported it (issue 11, part 2). Both engines, CSV and XLSX.
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import Engine, select

from crm.imports import run_import
from crm.imports.reading import read_source
from crm.schema import customers

PLACEHOLDER = "PLACEHOLDER-CELL"


def _csv(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(row) for row in rows) + "\n").encode("utf-8")


def _xlsx(rows: list[list[str]], raw_cell: str) -> bytes:
    """A workbook of ``rows``; the cell reading ``PLACEHOLDER`` holds ``raw_cell`` as written in the XML.

    XML cannot hold a NUL: Excel writes it as _x0000_ (as it writes a carriage return as _x000D_).
    """
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename).replace(PLACEHOLDER.encode(), raw_cell.encode()))
    return target_buffer.getvalue()


HEADER = ["name", "email", "city", "notes"]


def _names(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(customers.c.first_name, customers.c.city)).all())


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_nul_in_one_cell_rejects_that_row_naming_row_and_column_and_the_rest_import(
    engine: Engine, file_format: str
) -> None:
    rows = [
        HEADER,
        ["Ann", "ann@example.com", "Seoul", "first"],
        ["Bo", "bo@example.com", "Bu\x00san" if file_format == "csv" else PLACEHOLDER, "second"],
        ["Cy", "cy@example.com", "Daegu", "third"],
    ]
    data = _csv(rows) if file_format == "csv" else _xlsx(rows, "Bu_x0000_san")
    report = run_import(engine, data, entity="customers", file_name=f"people.{file_format}")

    assert (report.inserted, report.rejected_rows) == (2, 1)
    assert report.rejected == [
        {
            "row": 3,
            "column": "city",
            "reason": "contains a NUL character (\\x00), which cannot be stored ('Bu\\x00san')",
        }
    ]
    assert _names(engine) == [("Ann", "Seoul"), ("Cy", "Daegu")]


def test_a_nul_is_reported_once_even_in_a_required_or_typed_column(engine: Engine) -> None:
    rows = [HEADER, ["Ann", "ann@exam\x00ple.com", "Seoul", ""], ["\x00", "bo@example.com", "Busan", ""]]
    report = run_import(engine, _csv(rows), entity="customers", file_name="people.csv")
    reasons = {(rejection["row"], rejection["column"]): rejection["reason"] for rejection in report.rejected}
    assert reasons == {
        (2, "email"): "contains a NUL character (\\x00), which cannot be stored ('ann@exam\\x00ple.com')",
        (3, "name"): "contains a NUL character (\\x00), which cannot be stored ('\\x00')",
    }
    assert (report.inserted, _names(engine)) == (0, [])


def test_excel_escapes_in_workbook_cells_read_as_the_characters_they_stand_for() -> None:
    rows = [HEADER, ["Ann", "ann@example.com", PLACEHOLDER, ""]]
    parsed = read_source(_xlsx(rows, "line one_x000D_ and _x005F_x0041_ literally"), file_name="people.xlsx")
    assert parsed.frame["city"].tolist() == ["line one\r and _x0041_ literally"]
