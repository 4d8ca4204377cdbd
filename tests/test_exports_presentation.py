"""Downloads a person opens: readable headers, number formats, widths, a frozen header row, no internal
columns (XLSX read back with openpyxl); CSV with units in the headers; chart files that say what they show."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal

import openpyxl
import pandas as pd
import plotly.graph_objects as go

from crm.exports import (
    XLSX_DATE_FORMAT,
    XLSX_DATETIME_FORMAT,
    XLSX_MONEY_FORMAT,
    XLSX_PERCENT_FORMAT,
    chart_context_line,
    chart_file,
    export_table,
    header_label,
    table_bytes,
    with_context,
)
from crm.permissions import Actor

ANALYST = Actor(user_id=None, username="ann", role="analyst")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": [datetime.date(2025, 1, 1), datetime.date(2025, 2, 1)],
            "revenue": [Decimal("1234.50"), Decimal("87.00")],
            "repeat_rate": [0.255, 0.5],
            "created_at": [pd.Timestamp("2025-01-02 10:30"), pd.Timestamp("2025-02-03 08:00")],
            "orders": [5, 12],
            "phone": ["+82 10-4645-8329", "010-1234-5678"],
            "version": [3, 1],
        }
    )


def _sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_a_presented_xlsx_has_readable_headers_and_no_version_column():
    sheet = _sheet(table_bytes(_frame(), "xlsx", presented=True))
    assert [cell.value for cell in sheet[1]] == ["Month", "Revenue", "Repeat rate", "Created at", "Orders", "Phone"]


def test_xlsx_money_percent_and_dates_carry_number_formats_and_keep_their_values():
    sheet = _sheet(table_bytes(_frame(), "xlsx", presented=True))
    month, revenue, rate, created, orders, phone = sheet[2]
    assert (month.value, month.number_format) == (datetime.datetime(2025, 1, 1), XLSX_DATE_FORMAT)
    assert (revenue.value, revenue.number_format) == (1234.5, XLSX_MONEY_FORMAT)
    assert (rate.value, rate.number_format) == (0.255, XLSX_PERCENT_FORMAT)
    assert (created.value, created.number_format) == (datetime.datetime(2025, 1, 2, 10, 30), XLSX_DATETIME_FORMAT)
    assert (orders.value, orders.number_format) == (5, "General")
    # A phone is text as typed: no apostrophe in the value, the quote-prefix style keeps it from being a formula.
    assert (phone.value, phone.data_type, phone.quotePrefix) == ("+82 10-4645-8329", "s", True)


def test_xlsx_freezes_the_header_row_and_sizes_columns_to_their_content():
    sheet = _sheet(table_bytes(_frame(), "xlsx", presented=True))
    assert sheet.freeze_panes == "A2"
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    # "Created at" is 10 characters, its values 19 ("2025-01-02 10:30:00"): 19 + 2 of margin.
    assert widths["D"] == 21
    # "Month" is short; the column is never narrower than 8 characters plus the margin.
    assert widths["A"] >= 10
    assert all(width <= 52 for width in widths.values())


def test_a_presented_csv_names_its_units_and_shows_percent_as_on_screen():
    text = table_bytes(_frame(), "csv", presented=True).decode("utf-8-sig").splitlines()
    assert text[0] == "Month,Revenue ($),Repeat rate (%),Created at,Orders,Phone"
    assert text[1] == "2025-01-01,1234.5,25.5,2025-01-02 10:30:00,5,'+82 10-4645-8329"


def test_headers_typed_in_an_imported_file_stay_as_written():
    assert header_label("E-mail Address") == "E-mail Address"
    assert header_label("average_order_value") == "Average order value"
    assert header_label("clv") == "CLV"


def test_a_table_download_from_a_page_is_presented(engine):
    data = export_table(
        engine, _frame(), name="revenue", file_format="xlsx", actor=ANALYST, personal=True, presented=True
    )
    assert _sheet(data)["B1"].value == "Revenue"


def test_a_chart_file_says_its_period_filters_and_the_day_it_was_made(engine):
    figure = go.Figure(go.Bar(x=["a"], y=[1])).update_layout(title="Revenue by month")
    context = "Orders from 1 Jan to 31 Mar 2025 · source: Website"
    framed = with_context(figure, context, datetime.date(2025, 4, 2))
    assert framed.layout.title.text == "Revenue by month"
    assert framed.layout.title.subtitle.text == f"{context} · made 02 Apr 2025"
    built = chart_file(figure, name="revenue", engine=engine, actor=ANALYST, file_format="html", context=context)
    made_today = chart_context_line(context, datetime.datetime.now(datetime.UTC).date())
    assert json.dumps(made_today)[1:-1] in built.data.decode("utf-8")  # the HTML holds the figure as JSON
    # The figure on the page is left alone.
    assert figure.layout.title.subtitle.text is None


def test_a_chart_without_a_title_gets_its_context_as_the_title():
    framed = with_context(go.Figure(), "All orders", datetime.date(2025, 4, 2))
    assert framed.layout.title.text == "All orders · made 02 Apr 2025"
