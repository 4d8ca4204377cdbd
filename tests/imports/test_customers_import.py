"""Importing customers on both engines: the Korean sample, messy files, duplicates, atomicity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crm.db import PROJECT_ROOT
from crm.imports import ImportError_, run_import
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log, customers
from tests.imports.conftest import DATA, KOREAN_CUSTOMERS


def _count(engine: Engine, table=customers) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _customer(engine: Engine, **where) -> dict:
    with engine.connect() as connection:
        query = select(customers)
        for name, value in where.items():
            query = query.where(customers.c[name] == value)
        return dict(connection.execute(query).mappings().one())


def test_the_korean_cp949_customers_import_completely(engine):
    report = run_import(engine, KOREAN_CUSTOMERS, entity="customers")
    assert report.detected["encoding"] == "cp949"
    assert report.mapping == {
        "이름": "full_name",
        "연락처": "phone",
        "생년월일": "birth_date",
        "성별": "gender",
        "메모": "notes",
    }
    assert (report.rows_read, report.inserted, report.skipped_duplicates, report.rejected) == (30, 30, 0, [])
    # Counted in the file: 6 rows have no birth date and 16 no memo; nobody has a type, status or consent column.
    assert report.not_provided == {
        "birth_date": 6,
        "notes": 16,
        "customer_type": 30,
        "status": 30,
        "loyalty_points": 30,
        "marketing_consent": 30,
    }
    first = _customer(engine, phone_normalized="01052793859")
    assert (first["last_name"], first["first_name"], first["phone"]) == ("김", "민준", "010-5279-3859")
    assert (first["gender"], first["birth_date"], first["notes"]) == ("male", None, None)
    assert (first["customer_type"], first["status"], first["loyalty_points"]) == ("individual", "active", 0)
    second = _customer(engine, phone_normalized="01099115264")
    assert (second["last_name"], second["first_name"], second["gender"]) == ("이", "서연", "female")
    assert (second["birth_date"], second["notes"]) == (date(1975, 1, 6), "단골")
    assert _count(engine) == 30


def test_re_running_the_same_file_imports_nothing_twice(engine):
    run_import(engine, KOREAN_CUSTOMERS, entity="customers")
    again = run_import(engine, KOREAN_CUSTOMERS, entity="customers")
    assert (again.inserted, again.skipped_duplicates) == (0, 30)
    assert again.already_imported_at is not None
    assert {decision["decision"] for decision in again.decisions} == {"skip"}
    assert again.decisions[0]["reason"].startswith("phone already belongs to customer #")
    assert _count(engine) == 30


def test_a_dry_run_reports_real_counts_and_writes_nothing(engine):
    report = run_import(engine, KOREAN_CUSTOMERS, entity="customers", dry_run=True)
    assert (report.dry_run, report.inserted) == (True, 30)
    assert _count(engine) == 0
    assert _count(engine, audit_log) == 0


def test_messy_file_duplicates_and_invalid_rows_are_each_decided(engine):
    report = run_import(engine, DATA / "utf8_bom_customers.csv", entity="customers")
    decisions = {decision["row"]: (decision["decision"], decision["reason"]) for decision in report.decisions}
    assert decisions == {
        2: ("insert", ""),
        3: ("insert", ""),
        4: ("skip", "same email as row 2"),  # " ADA@Example.com " is ada@example.com
        5: ("reject", "E-mail: not an email address ('alan@@example')"),
        6: ("skip", "same phone as row 3"),  # 212-555-0199 is (212) 555-0199
        8: ("reject", "no name, company, email or phone: the customer could not be told apart"),
        9: ("reject", "Birthday: in the future ('2999-01-01')"),
    }
    assert report.rejected == [
        {"row": 5, "column": "E-mail", "reason": "not an email address ('alan@@example')"},
        {"row": 8, "column": "", "reason": "no name, company, email or phone: the customer could not be told apart"},
        {"row": 9, "column": "Birthday", "reason": "in the future ('2999-01-01')"},
    ]
    assert (report.rows_read, report.inserted, report.skipped_duplicates, report.rejected_rows) == (7, 2, 2, 3)
    ada = _customer(engine, email_normalized="ada@example.com")
    # The note is stored as written; exports neutralise it (tests/test_exports.py).
    assert (ada["first_name"], ada["notes"]) == ("Ada", '=HYPERLINK("http://x")')


def test_update_takes_the_later_rows_values_and_merge_only_fills_blanks(engine):
    first = run_import(engine, DATA / "utf8_bom_customers.csv", entity="customers", on_duplicate="update")
    # Row 4 (Ada again) and row 6 (Grace's phone) are combined with the rows they repeat,
    # which are inserted once: 2 inserted + 2 combined + 3 rejected = the 7 rows read.
    assert (first.inserted, first.updated, first.combined, first.rejected_rows) == (2, 0, 2, 3)
    ada = _customer(engine, email_normalized="ada@example.com")
    assert (ada["first_name"], ada["notes"], ada["birth_date"]) == ("ADA", "second row for Ada", date(1915, 12, 10))
    grace = _customer(engine, phone_normalized="+12125550199")
    assert (grace["first_name"], grace["email"]) == ("Linus", "linus@example.com")

    change = b"Email,Notes,City\nada@example.com,new note,London\nnew@example.com,,Paris\n"
    merged = run_import(engine, change, entity="customers", on_duplicate="merge")
    assert (merged.inserted, merged.merged) == (1, 1)
    ada = _customer(engine, email_normalized="ada@example.com")
    assert (ada["notes"], ada["city"], ada["version"]) == ("second row for Ada", "London", 2)
    updated = run_import(engine, change, entity="customers", on_duplicate="update")
    assert (updated.inserted, updated.updated) == (0, 2)
    ada = _customer(engine, email_normalized="ada@example.com")
    assert (ada["notes"], ada["first_name"], ada["version"]) == ("new note", "ADA", 3)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("utf16_customers.csv", [("Zoë", "Quill", "Kraków"), ("Ørjan", "Ås", "Tromsø")]),
        ("big5_customers.csv", [("小明", "王", None), ("美麗", "陳", None), ("志強", "林", None)]),
        ("shift_jis_customers.csv", [("太郎", "山田", None), ("花子", "佐藤", None)]),
        ("cp932_customers.csv", [("一郎", "髙橋", None), ("太郎", "山田", None)]),
        ("cp950_customers.csv", [("小明", "王", None), ("美麗", "陳", None)]),
        ("gb18030_customers.csv", [("小明", "王", None), ("娜", "李", None), ("伟", "张", None)]),
        (
            "cp1252_semicolon_customers.csv",
            [("José", "Müller", "Zürich"), ("Françoise", "Dupré", "Besançon"), ("Søren", "Kierkegaard", "København")],
        ),
    ],
)
def test_files_in_every_supported_encoding_import_their_names_intact(engine, file_name, expected):
    report = run_import(engine, DATA / file_name, entity="customers")
    assert report.inserted == len(expected)
    with engine.connect() as connection:
        rows = connection.execute(
            select(customers.c.first_name, customers.c.last_name, customers.c.city).order_by(customers.c.id)
        ).all()
    assert rows == expected


def test_japanese_customers_get_their_dates_gender_and_notes(engine):
    run_import(engine, DATA / "shift_jis_customers.csv", entity="customers")
    taro = _customer(engine, email_normalized="taro@example.jp")
    assert (taro["birth_date"], taro["gender"], taro["notes"], taro["phone_normalized"]) == (
        date(1980, 2, 3),
        "male",
        "常連",
        "09012345678",
    )


def test_german_thousands_separators_in_points_are_whole_numbers(engine):
    run_import(engine, DATA / "cp1252_semicolon_customers.csv", entity="customers")
    assert _customer(engine, email_normalized="jose@example.de")["loyalty_points"] == 1250


def test_workbook_customers_use_saved_formula_results_and_merged_cities(engine, messy_workbook):
    mapping = {
        "Customer ID": "external_id",
        "Name": "full_name",
        "Email": "email",
        "City": "city",
        "Orders": "ignore",
        "Points": "loyalty_points",
        "Spend": "ignore",
    }
    report = run_import(engine, messy_workbook, entity="customers", mapping=mapping, file_name="shop.xlsx")
    assert (report.detected["sheet"], report.detected["header_row"], report.inserted) == ("Customers", 3, 4)
    assert any("G7" in warning for warning in report.warnings)
    seoyeon = _customer(engine, external_id="K-002")
    assert (seoyeon["last_name"], seoyeon["first_name"], seoyeon["city"], seoyeon["loyalty_points"]) == (
        "이",
        "서연",
        "Seoul",
        10,
    )
    assert _customer(engine, external_id="K-004")["loyalty_points"] == 50


def test_rows_without_any_key_are_recognised_by_the_file_on_re_import(engine):
    data = b"Name,City\nMina Park,Busan\nJun Oh,Seoul\n"
    assert run_import(engine, data, entity="customers").inserted == 2
    again = run_import(engine, data, entity="customers")
    assert (again.inserted, again.skipped_duplicates) == (0, 2)
    assert again.decisions[0]["reason"].startswith("already imported from this file on ")
    assert _count(engine) == 2


def test_a_failure_half_way_leaves_nothing_written(engine, monkeypatch):
    run_import(engine, b"Email,City\nada@example.com,Paris\n", entity="customers")
    import crm.imports.customers as customers_module

    real_insert = customers_module.bulk_insert

    def insert_then_fail(connection, table, frame):
        real_insert(connection, table, frame)
        raise RuntimeError("disk full")

    monkeypatch.setattr(customers_module, "bulk_insert", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        # Updates Ada (before the insert) and inserts Bob: both must roll back.
        run_import(
            engine,
            b"Email,City\nada@example.com,Rome\nbob@example.com,Oslo\n",
            entity="customers",
            on_duplicate="update",
        )
    assert _count(engine) == 1
    assert _customer(engine, email_normalized="ada@example.com")["city"] == "Paris"
    assert _count(engine, audit_log) == 2  # the first import's summary and its one created customer


_KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
import crm.imports.customers as customers_module
from crm.db import make_engine
from crm.imports import run_import

real_insert = customers_module.bulk_insert

def insert_then_die(connection, table, frame):
    real_insert(connection, table, frame)
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies after writing, before committing

customers_module.bulk_insert = insert_then_die
run_import(make_engine(sys.argv[1]), Path(sys.argv[2]), entity="customers")
"""


def test_a_killed_import_process_leaves_nothing_written(engine):
    url = engine.url.render_as_string(hide_password=False)
    completed = subprocess.run(
        [sys.executable, "-c", _KILL_SCRIPT, url, str(KOREAN_CUSTOMERS)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": "."},
    )
    assert completed.returncode == -signal.SIGKILL, completed.stderr
    assert _count(engine) == 0
    assert run_import(engine, KOREAN_CUSTOMERS, entity="customers").inserted == 30


def test_the_import_is_audited_with_its_counts_and_file_hash(engine):
    report = run_import(engine, KOREAN_CUSTOMERS, entity="customers", actor=Actor(None, "mgr", "manager"))
    with engine.connect() as connection:
        row = connection.execute(select(audit_log).where(audit_log.c.action == "import")).mappings().one()
    after = json.loads(row["after_json"])
    assert (row["action"], row["entity"], row["username"]) == ("import", "customers", "mgr")
    assert (after["inserted"], after["file_sha256"]) == (30, report.detected["file_sha256"])


def test_roles_without_import_permission_are_refused(engine):
    with pytest.raises(PermissionDeniedError):
        run_import(engine, KOREAN_CUSTOMERS, entity="customers", actor=Actor(None, "ann", "analyst"))


def test_a_bad_mapping_is_refused_before_anything_happens(engine):
    with pytest.raises(ImportError_, match="both mapped to Email"):
        run_import(engine, b"a,b\nx@y.z,x@y.z\n", entity="customers", mapping={"a": "email", "b": "email"})


def test_the_report_serialises_to_json_with_every_decision(engine, tmp_path: Path):
    report = run_import(engine, DATA / "utf8_bom_customers.csv", entity="customers")
    payload = json.loads(report.to_json())
    assert (payload["rows_read"], payload["inserted"], payload["skipped_duplicates"]) == (7, 2, 2)
    assert len(payload["decisions"]) == 7
    assert payload["rejected"][0] == {"row": 5, "column": "E-mail", "reason": "not an email address ('alan@@example')"}


def test_two_imports_of_the_same_file_at_once_insert_it_once(engine):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: run_import(engine, KOREAN_CUSTOMERS, entity="customers"), range(2)))
    # One import inserts all 30 rows; the other waits for it and then finds them all there.
    assert sorted(report.inserted for report in reports) == [0, 30]
    assert _count(engine) == 30


def test_an_unreadable_file_is_refused_with_the_reason_and_nothing_written(engine):
    with pytest.raises(ImportError_, match="Cannot read the file: This is not a readable Excel"):
        run_import(engine, b"PK\x03\x04 broken", entity="customers", file_name="broken.xlsx")
    assert _count(engine, audit_log) == 0


def test_a_file_with_only_a_header_imports_nothing_and_says_so(engine):
    report = run_import(engine, b"Name,Email\n", entity="customers")
    assert (report.rows_read, report.inserted, report.decisions) == (0, 0, [])


def test_windows_japanese_and_taiwanese_characters_survive_the_import(engine):
    run_import(
        engine,
        DATA / "cp932_customers.csv",
        entity="customers",
        mapping={"氏名": "full_name", "会社": "company", "メールアドレス": "email", "メモ": "notes"},
    )
    takahashi = _customer(engine, email_normalized="ichiro@example.jp")
    assert (takahashi["last_name"], takahashi["company"], takahashi["notes"]) == ("髙橋", "㈱山田商事", "①常連")
    run_import(engine, DATA / "cp950_customers.csv", entity="customers")
    assert _customer(engine, email_normalized="ming@example.tw")["notes"] == "碁友會員 €5"


def test_a_korean_family_name_column_and_given_name_column_fill_both_names(engine):
    report = run_import(engine, DATA / "ko_split_customers.csv", entity="customers")
    # Next to 성 (family name), 이름 is the given name.
    assert (report.mapping["성"], report.mapping["이름"]) == ("last_name", "first_name")
    with engine.connect() as connection:
        names = connection.execute(select(customers.c.last_name, customers.c.first_name).order_by(customers.c.id)).all()
    assert [tuple(name) for name in names] == [("김", "민준"), ("이", "서연"), ("남궁", "민수")]


def test_a_family_name_with_a_full_name_column_gives_the_rest_as_the_first_name(engine):
    data = "성,이름,이메일\n김,민준,a@example.kr\n이,이서연,b@example.kr\nHopper,Grace Hopper,g@example.com\n"
    run_import(
        engine, data.encode(), entity="customers", mapping={"성": "last_name", "이름": "full_name", "이메일": "email"}
    )
    with engine.connect() as connection:
        names = connection.execute(select(customers.c.last_name, customers.c.first_name).order_by(customers.c.id)).all()
    # 이름 holds the given name (민준) or the whole name (이서연, Grace Hopper): the family name is taken off.
    assert [tuple(name) for name in names] == [("김", "민준"), ("이", "서연"), ("Hopper", "Grace")]


def test_every_invalid_cell_of_a_row_is_reported_and_the_row_rejected_once(engine):
    data = b"Name,Email,Birthday,Gender\nAda,ada@@example,2999-01-01,zz\nGrace,grace@example.com,,F\n"
    report = run_import(engine, data, entity="customers")
    assert report.rejected == [
        {"row": 2, "column": "Email", "reason": "not an email address ('ada@@example')"},
        {"row": 2, "column": "Birthday", "reason": "in the future ('2999-01-01')"},
        {"row": 2, "column": "Gender", "reason": "must be one of female, male, other ('zz')"},
    ]
    assert (report.rejected_rows, report.inserted) == (1, 1)
    rejected = [decision for decision in report.decisions if decision["decision"] == "reject"]
    assert rejected == [
        {
            "row": 2,
            "decision": "reject",
            "reason": "Email: not an email address ('ada@@example'); Birthday: in the future ('2999-01-01'); "
            "Gender: must be one of female, male, other ('zz')",
            "target": "",
        }
    ]


def test_lines_with_too_many_fields_are_rejected_and_later_rows_keep_their_line_numbers(engine):
    report = run_import(engine, DATA / "ragged_customers.csv", entity="customers")
    assert report.rejected == [
        {"row": 3, "column": "", "reason": "4 fields, the header has 3"},
        {"row": 4, "column": "Email", "reason": "not an email address ('cat@x')"},
        {"row": 5, "column": "", "reason": "5 fields, the header has 3"},
    ]
    decisions = {decision["row"]: decision["decision"] for decision in report.decisions}
    # Gus's quoted note spans lines 7 and 8, so Fay is on line 9.
    assert decisions == {2: "insert", 3: "reject", 4: "reject", 5: "reject", 6: "insert", 7: "insert", 9: "insert"}
    assert any("2 line(s) have more fields than the header" in warning for warning in report.warnings)
    assert _customer(engine, email_normalized="gus@example.com")["notes"] == "line one\nline two"
    assert _count(engine) == 4


def test_in_file_duplicates_under_update_are_combined_and_the_counts_add_up(engine):
    run_import(engine, b"Email,City\nada@example.com,Paris\n", entity="customers")
    data = b"Email,City\nada@example.com,Rome\nnew@example.com,Lyon\nNEW@example.com,Nice\n"
    report = run_import(engine, data, entity="customers", on_duplicate="update")
    # Ada is updated; new@ is inserted once, with the later row's city; its repeat is combined.
    assert (report.inserted, report.updated, report.combined, report.rejected_rows) == (1, 1, 1, 0)
    assert report.inserted + report.updated + report.merged + report.skipped_duplicates + report.combined == 3
    assert _customer(engine, email_normalized="new@example.com")["city"] == "Nice"
    assert [decision["decision"] for decision in report.decisions] == ["update", "insert", "combine"]
    assert "1 combined with an earlier row" in report.summary()


def test_the_preview_shows_whole_numbers_without_decimals_and_money_with_cents(engine):
    report = run_import(engine, b"Email,Points\nada@example.com,1.000\n", entity="customers", dry_run=True)
    assert report.preview[0]["loyalty_points"] == "1000"
    orders_report = run_import(
        engine, b"Email,Date,Total\nada@example.com,2025-01-01,12.5\n", entity="orders", dry_run=True
    )
    assert orders_report.preview[0]["total"] == "12.50"
    products_report = run_import(engine, b"SKU,Weight\nTS,1234567.5\n", entity="products", dry_run=True)
    assert products_report.preview[0]["weight_kg"] == "1234567.5"


@pytest.mark.parametrize("points", ["99999999999", "99999999999999999999", "1e20"])
def test_points_beyond_the_column_reject_that_row_and_the_rest_of_the_file_imports(engine, points):
    data = f"Name,Email,Points\nBig Points,big@example.com,{points}\nAda,ada@example.com,10\n".encode()
    report = run_import(engine, data, entity="customers")
    assert report.rejected == [
        {"row": 2, "column": "Points", "reason": f"too large (at most 2,147,483,647) ('{points}')"}
    ]
    assert (report.inserted, _count(engine)) == (1, 1)


def test_a_value_the_database_refuses_becomes_a_clear_error_with_nothing_written(engine, monkeypatch):
    import crm.imports.validation as validation

    # Lift the importer's own bound, so the database is the one to refuse: PostgreSQL raises
    # "integer out of range" (a DataError), SQLite's 64-bit integer overflows into the CHECK.
    monkeypatch.setattr(validation, "INTEGER_MAXIMUM", 1e30)
    value = "99999999999" if engine.dialect.name == "postgresql" else "99999999999999999999"
    data = f"Name,Email,Points\nBig Points,big@example.com,{value}\nAda,ada@example.com,10\n".encode()
    with pytest.raises(ImportError_, match=r"^The database refused the import \(.+\); nothing was imported\.$"):
        run_import(engine, data, entity="customers")
    assert (_count(engine), _count(engine, audit_log)) == (0, 0)
