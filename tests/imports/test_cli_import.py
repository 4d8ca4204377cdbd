"""``python -m crm import``: the same import as the wizard, from the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from crm.cli import main
from crm.schema import customers, orders
from tests.imports.conftest import DATA, KOREAN_CUSTOMERS


def _run(engine, *arguments: str) -> int:
    return main(["--database-url", engine.url.render_as_string(hide_password=False), "import", *arguments])


def _count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_import_dry_run_prints_the_detection_and_counts_and_writes_nothing(engine, capsys):
    assert _run(engine, str(KOREAN_CUSTOMERS), "--entity", "customers", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "cp949, delimiter ',', header on line 1" in out
    assert "이름" in out and "-> full_name" in out
    assert "Dry run, nothing written. 30 rows read: 30 would be inserted" in out
    assert _count(engine, customers) == 0


def test_import_writes_the_json_report_with_every_rejection(engine, tmp_path, capsys):
    report_path = tmp_path / "r.json"
    assert (
        _run(engine, str(DATA / "utf8_bom_customers.csv"), "--entity", "customers", "--report", str(report_path)) == 0
    )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert (report["rows_read"], report["inserted"], report["skipped_duplicates"], report["rejected_rows"]) == (
        7,
        2,
        2,
        3,
    )
    assert {rejection["row"] for rejection in report["rejected"]} == {5, 8, 9}
    assert "row 5, E-mail: not an email address" in capsys.readouterr().out


def test_import_with_a_mapping_file_and_update_policy(engine, tmp_path):
    mapping = tmp_path / "m.json"
    mapping.write_text(
        json.dumps(
            {"customer_id": "customer_external_id", "date": "order_date", "amount": "total", "quantity": "ignore"}
        )
    )
    source = tmp_path / "cdnow.csv"
    source.write_bytes(b"customer_id,date,quantity,amount\n7,19970101,1,11.77\n8,19970102,2,20.00\n")
    assert _run(engine, str(source), "--entity", "orders", "--mapping", str(mapping)) == 0
    assert _run(engine, str(source), "--entity", "orders", "--mapping", str(mapping), "--on-duplicate", "update") == 0
    assert (_count(engine, orders), _count(engine, customers)) == (2, 2)


def test_workbook_sheet_and_header_row_options(engine, tmp_path, messy_workbook, capsys):
    workbook = tmp_path / "shop.xlsx"
    workbook.write_bytes(messy_workbook)
    assert _run(engine, str(workbook), "--entity", "customers", "--sheet", "Customers", "--header-row", "3") == 0
    out = capsys.readouterr().out
    assert "sheet 'Customers', header on row 3" in out
    assert "warning: 1 formula cell(s) have no saved result" in out
    assert _count(engine, customers) == 4


def test_a_bad_mapping_fails_with_a_message_and_exit_code_1(engine, tmp_path, capsys):
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"이름": "email", "연락처": "email"}))
    assert _run(engine, str(KOREAN_CUSTOMERS), "--entity", "customers", "--mapping", str(mapping)) == 1
    assert "both mapped to Email" in capsys.readouterr().err


def test_importing_the_cdnow_master_layout_from_the_command_line(engine, tmp_path, capsys):
    source = tmp_path / "CDNOW_master.txt"
    source.write_bytes(b"00001 00001 19970101 1 11.77\n00002 00002 19970112 1 12.00\n00002 00002 19970112 5 77.00\n")
    mapping = tmp_path / "cdnow.json"
    mapping.write_text(
        json.dumps(
            {
                "column 1": "ignore",
                "column 2": "customer_external_id",
                "column 3": "order_date",
                "column 4": "ignore",
                "column 5": "total",
            }
        )
    )
    assert _run(engine, str(source), "--entity", "orders", "--mapping", str(mapping)) == 0
    out = capsys.readouterr().out
    assert "delimiter ' ', no header line." in out
    assert "3 rows read: 3 were inserted" in out
    assert (_count(engine, orders), _count(engine, customers)) == (3, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: cannot read the mapping file"),
        ("{not json", "is not valid JSON"),
        ('["a", "b"]', 'must hold a JSON object {"file column": "field or ignore"}'),
        ('{"이름": 5}', 'must hold a JSON object {"file column": "field or ignore"}'),
    ],
)
def test_a_missing_or_invalid_mapping_file_is_one_error_line_not_a_traceback(
    engine, tmp_path, capsys, content, message
):
    mapping = tmp_path / "m.json"
    if content is not None:
        mapping.write_text(content, encoding="utf-8")
    assert _run(engine, str(KOREAN_CUSTOMERS), "--entity", "customers", "--mapping", str(mapping)) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert _count(engine, customers) == 0


@pytest.mark.parametrize("spelling", ["\\t", "tab", "TAB", "\t"])
def test_a_tab_delimiter_can_be_written_the_way_a_shell_allows(engine, tmp_path, capsys, spelling):
    source = tmp_path / "people.tsv"
    source.write_bytes(b"Name\tEmail\nAda Lovelace\tada@example.com\n")
    assert _run(engine, str(source), "--entity", "customers", "--delimiter", spelling) == 0
    assert "delimiter '\\t'" in capsys.readouterr().out
    assert _count(engine, customers) == 1


def test_a_semicolon_delimiter_is_taken_as_given(engine, tmp_path, capsys):
    source = tmp_path / "people.csv"
    source.write_bytes(b"Name;Email\nAda Lovelace;ada@example.com\n")
    assert _run(engine, str(source), "--entity", "customers", "--delimiter", ";") == 0
    assert "delimiter ';'" in capsys.readouterr().out


def test_an_unknown_delimiter_is_refused_by_the_argument_parser(engine, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _run(engine, str(KOREAN_CUSTOMERS), "--entity", "customers", "--delimiter", "xyz")
    assert exit_info.value.code == 2
    assert "'xyz' is not a delimiter" in capsys.readouterr().err


def test_without_sheet_the_one_whose_header_names_the_entitys_fields_is_read(engine, tmp_path, capsys):
    import openpyxl

    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    for line in range(60):  # a long notes sheet: more rows and cells than the data
        notes.append([f"note line {line}", "see the other sheet"])
    people = workbook.create_sheet("People")
    people.append(["Name", "Email"])
    people.append(["Ada Lovelace", "ada@example.com"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    assert _run(engine, str(path), "--entity", "customers") == 0
    assert "sheet 'People', header on row 1" in capsys.readouterr().out
    assert _count(engine, customers) == 1


def test_a_mapping_saved_in_the_wizard_can_be_used_by_name(engine, capsys):
    from crm.imports import save_mapping
    from crm.permissions import Actor

    saved = {"이름": "full_name", "연락처": "phone", "생년월일": "ignore", "성별": "ignore", "메모": "ignore"}
    save_mapping(engine, name="Korean shop", entity="customers", mapping=saved, actor=Actor.system())
    assert _run(engine, str(KOREAN_CUSTOMERS), "--entity", "customers", "--saved-mapping", "Korean shop") == 0
    out = capsys.readouterr().out
    assert "생년월일                           -> ignore" in out
    with engine.connect() as connection:
        birth_dates = connection.execute(select(func.count(customers.c.birth_date))).scalar_one()
    assert (_count(engine, customers), birth_dates) == (30, 0)
    assert _run(engine, str(KOREAN_CUSTOMERS), "--entity", "customers", "--saved-mapping", "Nope") == 1
    assert "no saved customers mapping called 'Nope' (saved: Korean shop)" in capsys.readouterr().err
