"""Sample files for the import tests: the committed messy CSVs and a generated messy workbook."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

DATA = Path(__file__).resolve().parent / "data"
# A copy of the shared reference sample: the repository carries everything its tests read.
KOREAN_CUSTOMERS = DATA / "ko_customers_cp949.csv"


def _store_formula_results(workbook_bytes: bytes, results: dict[tuple[str, str], object]) -> bytes:
    """Write Excel's saved formula results into the workbook (openpyxl only writes the formulas).

    ``results`` maps (sheet xml name, cell) -> value, e.g. ("sheet2.xml", "G4") -> 120.
    """
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            for (sheet_file, cell), value in results.items():
                if item.filename.endswith(sheet_file):
                    text = content.decode("utf-8")
                    text = re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)<v\s*/>', rf"\g<1>\g<2><v>{value}</v>", text)
                    content = text.encode("utf-8")
            target.writestr(item, content)
    return target_buffer.getvalue()


@pytest.fixture(scope="session")
def messy_workbook() -> bytes:
    """The workbook of ``make_messy_workbook``."""
    return make_messy_workbook()


def make_messy_workbook() -> bytes:
    """An .xlsx as people send them.

    Sheet "Read me": one note. Sheet "Customers": a merged title on row 1, a blank row 2, the
    header on row 3, data on rows 4-7; "Seoul" is merged over D4:D5 (both customers live
    there); "Points" is a formula (=Orders*10) with Excel's saved results (30, 10, 0, 50);
    row 7's "Spend" formula has no saved result. Sheet "Orders": two orders, header on row 1.
    """
    workbook = openpyxl.Workbook()
    readme = workbook.active
    readme.title = "Read me"
    readme["A1"] = "Exported from ShopX. Customers are on the next sheet."
    sheet = workbook.create_sheet("Customers")
    sheet["A1"] = "Customer list — exported 2025-03-01"
    sheet.merge_cells("A1:F1")
    sheet.append([])
    sheet.append(["Customer ID", "Name", "Email", "City", "Orders", "Points", "Spend"])
    rows = [
        ("K-001", "김민준", "minjun@example.kr", "Seoul", 3),
        ("K-002", "이서연", "seoyeon@example.kr", None, 1),
        ("K-003", "Wei Chen", "wei@example.tw", "Taipei", 0),
        ("K-004", "Yuki Sato", "yuki@example.jp", "Tokyo", 5),
    ]
    for offset, (customer_id, name, email, city, order_count) in enumerate(rows):
        row = 4 + offset
        sheet.append([customer_id, name, email, city, order_count, f"=E{row}*10", f"=E{row}*12.5"])
    sheet.merge_cells("D4:D5")
    orders_sheet = workbook.create_sheet("Orders")
    orders_sheet.append(["Order No", "Customer ID", "Date", "Total"])
    orders_sheet.append(["X-1", "K-001", "2025-02-01", 30])
    orders_sheet.append(["X-2", "K-004", "2025-02-02", 12.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    saved = {("sheet2.xml", f"F{4 + i}"): row[4] * 10 for i, row in enumerate(rows)}
    saved |= {("sheet2.xml", f"G{4 + i}"): row[4] * 12.5 for i, row in enumerate(rows[:3])}
    return _store_formula_results(buffer.getvalue(), saved)
