"""Nothing an import assumes or leaves out goes unsaid (issue 11, part 7).

Ambiguous dates say which order was used and on which rows; a repeated header column that is
not imported is named; cells at or over Excel's 32,767 characters are pointed out; an order,
payment or sign-up dated after today is rejected with its row and column.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from crm.cli import main
from crm.imports import run_import
from crm.imports.reading import read_source
from crm.imports.validation import latest_allowed_day
from crm.schema import customers, orders

AMBIGUOUS = (
    b"name,email,birth date\n"
    b"Ann,ann@example.com,03/04/1990\n"
    b"Bo,bo@example.com,1991-07-20\n"
    b"Cy,cy@example.com,05/06/1992\n"
    b"Di,di@example.com,07/07/1993\n"
)
AMBIGUOUS_WARNING = (
    "birth date: dates such as '03/04/1990' could be day/month or month/day; read as month/day/year "
    "(March 4), because no date in the column has a number above 12 to tell the order. If the file means "
    "day/month, write the dates as YYYY-MM-DD (rows 2, 4)."
)


def _birth_dates(engine: Engine) -> dict[str, date]:
    with engine.connect() as connection:
        return dict(connection.execute(select(customers.c.first_name, customers.c.birth_date)).all())


def test_dates_that_read_either_way_are_read_month_first_with_a_warning_naming_the_rows(engine: Engine) -> None:
    preview = run_import(engine, AMBIGUOUS, entity="customers", file_name="people.csv", dry_run=True)
    assert preview.warnings == [AMBIGUOUS_WARNING]
    # 07/07 reads the same either way, and the ISO date is not in question: only rows 2 and 4.
    assert [(entry["column"], entry["rows"]) for entry in preview.warning_rows] == [("birth date", [2, 4])]

    report = run_import(engine, AMBIGUOUS, entity="customers", file_name="people.csv")
    assert report.warnings == [AMBIGUOUS_WARNING]
    assert _birth_dates(engine) == {
        "Ann": date(1990, 3, 4),
        "Bo": date(1991, 7, 20),
        "Cy": date(1992, 5, 6),
        "Di": date(1993, 7, 7),
    }


def test_a_column_that_shows_its_order_is_read_that_way_without_a_warning(engine: Engine) -> None:
    data = AMBIGUOUS + b"Ed,ed@example.com,25/12/1994\n"
    report = run_import(engine, data, entity="customers", file_name="people.csv")
    assert report.warnings == []
    assert _birth_dates(engine)["Ann"] == date(1990, 4, 3)
    assert _birth_dates(engine)["Ed"] == date(1994, 12, 25)


def test_a_time_after_a_day_month_date_is_kept_and_one_that_cannot_be_read_is_dropped_with_a_warning(
    engine: Engine,
) -> None:
    data = (
        "Order No,Customer Email,Order Date,Total\n"
        "O-1,ann@example.com,25/12/2024 10:30,10.00\n"
        "O-2,ann@example.com,26/12/2024 2:05 PM,11.00\n"
        "O-3,ann@example.com,27/12/2024 오후 3:00,12.00\n"
    ).encode()
    report = run_import(engine, data, entity="orders", file_name="orders.csv")
    assert report.warnings == [
        "Order Date: the time of day in values such as '27/12/2024 오후 3:00' could not be read: only the date is "
        "kept (row 4)."
    ]
    with engine.connect() as connection:
        dates = dict(connection.execute(select(orders.c.order_number, orders.c.order_date)).all())
    assert dates == {
        "O-1": datetime(2024, 12, 25, 10, 30),
        "O-2": datetime(2024, 12, 26, 14, 5),
        "O-3": datetime(2024, 12, 27),
    }


def test_the_cli_prints_the_date_warning_and_writes_it_with_its_rows_into_the_report(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_bytes(AMBIGUOUS)
    report_path = tmp_path / "report.json"
    url = engine.url.render_as_string(hide_password=False)
    arguments = ["--database-url", url, "import", str(source), "--entity", "customers", "--dry-run"]
    assert main([*arguments, "--report", str(report_path)]) == 0
    assert f"warning: {AMBIGUOUS_WARNING}" in capsys.readouterr().out.splitlines()
    written = json.loads(report_path.read_text(encoding="utf-8"))
    assert written["warnings"] == [AMBIGUOUS_WARNING]
    assert [(entry["column"], entry["rows"]) for entry in written["warning_rows"]] == [("birth date", [2, 4])]


def test_sign_ups_orders_and_payments_after_today_are_rejected_with_row_and_column(engine: Engine) -> None:
    today = latest_allowed_day().date()
    tomorrow = today + timedelta(days=1)
    people = (
        "name,email,customer since\n"
        f"Ann,ann@example.com,{today} 08:00\n"
        f"Bo,bo@example.com,{tomorrow}\n"
        "Cy,cy@example.com,2099-01-01 10:00\n"
    ).encode()
    report = run_import(engine, people, entity="customers", file_name="people.csv")
    assert report.inserted == 1
    assert report.rejected == [
        {"row": 3, "column": "customer since", "reason": f"in the future (after {today}) ('{tomorrow}')"},
        {"row": 4, "column": "customer since", "reason": f"in the future (after {today}) ('2099-01-01 10:00')"},
    ]

    sales = (
        "Order No,Customer Email,Order Date,Total\n"
        f"O-1,ann@example.com,{today},10.00\n"
        f"O-2,ann@example.com,{tomorrow} 09:30,12.00\n"
    ).encode()
    report = run_import(engine, sales, entity="orders", file_name="orders.csv")
    assert report.inserted == 1
    assert report.rejected == [
        {"row": 3, "column": "Order Date", "reason": f"in the future (after {today}) ('{tomorrow} 09:30')"}
    ]
    with engine.connect() as connection:
        assert connection.execute(select(orders.c.order_number)).scalars().all() == ["O-1"]

    payments = f"Order No,Amount,Date,Type,Method\nO-1,10.00,{tomorrow},sale,cash\n".encode()
    report = run_import(engine, payments, entity="transactions", file_name="payments.csv")
    assert (report.inserted, [(entry["row"], entry["column"]) for entry in report.rejected]) == (0, [(2, "Date")])


class _FixedClock(datetime):
    """``datetime`` whose ``now`` is a chosen UTC moment (seen in the zone asked for)."""

    moment = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return cls.moment.astimezone(tz) if tz is not None else cls.moment.replace(tzinfo=None)


@pytest.mark.parametrize(
    ("zone", "utc_moment", "latest"),
    [
        ("Asia/Taipei", datetime(2026, 3, 1, 20, 0, tzinfo=UTC), date(2026, 3, 2)),  # already the 2nd in Taipei
        ("America/New_York", datetime(2026, 3, 1, 20, 0, tzinfo=UTC), date(2026, 3, 1)),
        ("America/New_York", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), date(2026, 3, 2)),  # still the 1st there
    ],
)
def test_today_is_the_later_of_the_local_and_the_utc_day(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, zone: str, utc_moment: datetime, latest: date
) -> None:
    import crm.imports.validation as validation
    from crm.settings import get_settings

    monkeypatch.setenv("CRM_TIMEZONE", zone)
    monkeypatch.setattr(_FixedClock, "moment", utc_moment)
    monkeypatch.setattr(validation, "datetime", _FixedClock)
    get_settings.cache_clear()
    try:
        assert latest_allowed_day() == pd.Timestamp(latest)
        later = latest + timedelta(days=1)
        data = f"name,email,customer since\nAnn,ann@example.com,{latest} 23:00\nBo,bo@example.com,{later}\n".encode()
        report = run_import(engine, data, entity="customers", file_name="people.csv")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert (report.inserted, [entry["row"] for entry in report.rejected]) == (1, [3])


def test_a_repeated_header_column_left_out_is_named_with_its_rows_and_imported_when_mapped(engine: Engine) -> None:
    data = b"name,email,phone,email\nAnn,ann@example.com,010-1234-5678,ann.work@example.com\nBo,bo@example.com,,\n"
    preview = run_import(engine, data, entity="customers", file_name="people.csv", dry_run=True)
    assert "email (2)" in preview.mapping and preview.mapping["email (2)"] == "ignore"
    assert preview.warnings == [
        "email (2): column 4 repeats the header 'email' and is not imported (only the first 'email' column is "
        "read); map it to a field, or rename it in the file, to keep its values (row 2)."
    ]
    mapping = {**preview.mapping, "email (2)": "notes"}
    report = run_import(engine, data, entity="customers", file_name="people.csv", mapping=mapping)
    assert report.warnings == []
    with engine.connect() as connection:
        assert connection.execute(select(customers.c.notes).where(customers.c.first_name == "Ann")).scalar_one() == (
            "ann.work@example.com"
        )


def _workbook_with_cells(cells: dict[str, str]) -> bytes:
    """A customers workbook; each placeholder value in ``cells`` is replaced by its text in the XML.

    openpyxl itself cuts text at 32,767 characters when writing, as Excel does: the replacement
    makes a file as another program may write it.
    """
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["name", "email", "notes"])
    for number, placeholder in enumerate(cells, start=1):
        sheet.append([f"Person {number}", f"p{number}@example.com", placeholder])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            for placeholder, text in cells.items():
                content = content.replace(placeholder.encode(), text.encode())
            target.writestr(item, content)
    return target_buffer.getvalue()


def test_workbook_cells_over_or_at_excels_limit_are_pointed_out() -> None:
    data = _workbook_with_cells({"LONG": "x" * 40_000, "LIMIT": "y" * 32_767, "SHORT": "fine"})
    parsed = read_source(data, file_name="people.xlsx")
    assert parsed.frame["notes"].str.len().tolist() == [40_000, 32_767, 4]
    assert parsed.warnings == [
        "1 cell(s) are longer than the 32,767 characters an Excel cell can hold (C2 has 40,000): they are read "
        "whole, but Excel cuts them when it opens the file or an export of it.",
        "1 cell(s) hold exactly 32,767 characters, the most an Excel cell can hold (C3): the program that wrote "
        "the file has probably cut them; check how they end.",
    ]


def test_the_long_cell_warning_reaches_the_dry_run_report(engine: Engine) -> None:
    report = run_import(
        engine, _workbook_with_cells({"LIMIT": "y" * 32_767}), entity="customers", file_name="p.xlsx", dry_run=True
    )
    assert any("exactly 32,767 characters" in warning for warning in report.warnings)
