"""The audit log: written in the caller's transaction, read back with filters, exported safely."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

import crm.audit
import crm.exports
from crm.audit import (
    AuditQuery,
    actions_in_view,
    audit_choices,
    audit_entries,
    count_audit_entries,
    entries_sentence,
    export_audit,
    export_audit_csv,
    record_audit,
)
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log
from tests.fixtures.tiny_shop import TinyShop

ADA = Actor(user_id=1, username="ada", role="admin")
SAM = Actor(user_id=2, username="sam", role="agent")


def _write(engine: Engine, at: datetime, actor: Actor, action: str, entity: str, entity_id: object, **values) -> None:
    with engine.begin() as connection:
        record_audit(connection, actor, action, entity, entity_id, **values)
        # Pin the time so the date filters can be checked by hand.
        newest = connection.execute(select(func.max(audit_log.c.id))).scalar_one()
        connection.execute(audit_log.update().where(audit_log.c.id == newest).values(at=at))


@pytest.fixture
def logged(tiny_shop: TinyShop) -> Engine:
    """Four audit rows:

    1  2025-03-01 10:00  sam  update customers 1   city Oslo -> Bergen
    2  2025-03-02 11:00  ada  delete orders    4
    3  2025-03-02 23:59  sam  create tickets   7   subject "=HYPERLINK(...)"
    4  2025-03-03 00:00  ada  export customers
    """
    engine = tiny_shop.engine
    _write(
        engine,
        datetime(2025, 3, 1, 10),
        SAM,
        "update",
        "customers",
        1,
        before={"city": "Oslo"},
        after={"city": "Bergen"},
    )
    _write(engine, datetime(2025, 3, 2, 11), ADA, "delete", "orders", 4, before={"total": "16.00"})
    _write(engine, datetime(2025, 3, 2, 23, 59), SAM, "create", "tickets", 7, after={"subject": '=HYPERLINK("x")'})
    _write(engine, datetime(2025, 3, 3, 0, 0), ADA, "export", "customers", None, after={"rows": 5})
    return engine


def test_entries_come_newest_first_with_before_and_after_values(logged: Engine) -> None:
    entries = audit_entries(logged, ADA)
    assert list(entries["entity"]) == ["customers", "tickets", "orders", "customers"]
    update = entries.iloc[-1]
    assert (update["username"], update["action"], update["entity_id"]) == ("sam", "update", "1")
    assert json.loads(update["before"]) == {"city": "Oslo"}
    assert json.loads(update["after"]) == {"city": "Bergen"}


@pytest.mark.parametrize(
    ("query", "expected_ids"),
    [
        (AuditQuery(username="sam"), ["7", "1"]),
        (AuditQuery(action="delete"), ["4"]),
        (AuditQuery(entity="customers"), [None, "1"]),
        # 2 March is a whole day: 11:00 and 23:59 are in, 00:00 on 3 March is not.
        (AuditQuery(start_date=date(2025, 3, 2), end_date=date(2025, 3, 2)), ["7", "4"]),
        (AuditQuery(start_date=date(2025, 3, 3)), [None]),
        (AuditQuery(username="ada", entity="orders", end_date=date(2025, 3, 2)), ["4"]),
        (AuditQuery(username="nobody"), []),
        (AuditQuery(entity_id="4"), ["4"]),
        (AuditQuery(entity_id=" 7 "), ["7"]),  # as typed into the page, spaces and all
        (AuditQuery(entity="customers", entity_id="1"), ["1"]),
        (AuditQuery(entity="orders", entity_id="1"), []),
        # Kinds of action: the export (row 4) is no change; nothing here is a sign-in.
        (AuditQuery(view="changes"), ["7", "4", "1"]),
        (AuditQuery(view="exports"), [None]),
        (AuditQuery(view="sign-ins"), []),
        (AuditQuery(view="everything"), [None, "7", "4", "1"]),
        (AuditQuery(view="changes", username="ada"), ["4"]),
    ],
)
def test_filters_narrow_the_log(logged: Engine, query: AuditQuery, expected_ids: list[str | None]) -> None:
    entity_ids = [None if pd.isna(value) else value for value in audit_entries(logged, ADA, query)["entity_id"]]
    assert entity_ids == expected_ids
    assert count_audit_entries(logged, ADA, query) == len(expected_ids)


def test_the_newest_rows_can_be_limited_while_the_count_stays_the_real_one(logged: Engine) -> None:
    shown = audit_entries(logged, ADA, limit=2)
    assert list(shown["entity"]) == ["customers", "tickets"]  # the two newest
    assert count_audit_entries(logged, ADA) == 4


@pytest.mark.parametrize(
    ("total", "sentence"),
    [
        (0, "0 entries, newest first (times in UTC)."),
        (1, "1 entry, newest first (times in UTC)."),
        (1_000, "1,000 entries, newest first (times in UTC)."),
        (
            1_234,
            "1,234 entries, newest first (times in UTC). "
            "The table shows the newest 1,000; the downloads hold all 1,234.",
        ),
    ],
)
def test_the_page_caption_counts_entries_and_says_when_the_table_is_cut(total: int, sentence: str) -> None:
    assert entries_sentence(total, shown=1_000) == sentence


def test_filter_choices_list_the_users_and_entities_in_the_log(logged: Engine) -> None:
    choices = audit_choices(logged, ADA)
    assert choices.usernames == ["ada", "sam"]
    assert choices.entities == ["customers", "orders", "tickets"]


@pytest.mark.parametrize("role", ["manager", "analyst", "agent"])
def test_only_admins_read_or_export_the_log(logged: Engine, role: str) -> None:
    someone = Actor(user_id=2, username="sam", role=role)
    with pytest.raises(PermissionDeniedError):
        audit_entries(logged, someone)
    with pytest.raises(PermissionDeniedError):
        audit_choices(logged, someone)
    with pytest.raises(PermissionDeniedError):
        export_audit_csv(logged, someone)


def test_the_csv_export_defuses_formulas_and_is_itself_audited(logged: Engine) -> None:
    data = export_audit_csv(logged, ADA, AuditQuery(username="sam"))
    assert data.startswith("\ufeff".encode())  # BOM: Excel opens UTF-8 correctly
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["entity_id"] for row in rows] == ["7", "1"]
    assert rows[0]["after"].startswith("{")  # the JSON text starts with a brace, no prefix needed
    exports = audit_entries(logged, ADA, AuditQuery(action="export", entity="audit_log"))
    assert len(exports) == 1
    assert json.loads(exports.iloc[-1]["after"]) == {
        "format": "csv",
        "filters": {
            "action": None,
            "end_date": None,
            "entity": None,
            "entity_id": None,
            "start_date": None,
            "username": "sam",
            "view": "everything",
        },
        "rows": 2,
    }


def test_an_audit_row_rolls_back_with_the_change_it_describes(tiny_shop: TinyShop) -> None:
    with pytest.raises(RuntimeError), tiny_shop.engine.begin() as connection:
        record_audit(connection, ADA, "delete", "orders", 1)
        raise RuntimeError("the delete failed")
    assert audit_entries(tiny_shop.engine, ADA).empty


def test_exported_cells_that_a_spreadsheet_would_run_get_a_quote_prefix(tiny_shop: TinyShop) -> None:
    # An imported record's key is user data: it may well start with "=", "+", "-" or "@".
    for key in ("=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)"):
        _write(tiny_shop.engine, datetime(2025, 3, 1), SAM, "import", "customers", key)
    rows = list(csv.DictReader(io.StringIO(export_audit_csv(tiny_shop.engine, ADA).decode("utf-8-sig"))))
    assert sorted(row["entity_id"] for row in rows) == ["'+1", "'-1", "'=cmd|' /C calc'!A0", "'@SUM(A1)"]


def test_the_csv_export_streams_every_row_in_chunks_with_one_header(
    logged: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crm.audit, "EXPORT_CHUNK_ROWS", 3)  # 4 rows: a chunk of 3, then 1
    text = export_audit_csv(logged, ADA).decode("utf-8-sig")
    assert text.count("id,at,username,action,entity,entity_id,before,after") == 1
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["entity"] for row in rows] == ["customers", "tickets", "orders", "customers"]
    assert rows[1]["after"] == '{"subject": "=HYPERLINK(\\"x\\")"}'


def test_an_export_without_matches_holds_the_header_only(logged: Engine) -> None:
    data = export_audit_csv(logged, ADA, AuditQuery(username="nobody"))
    assert data.decode("utf-8-sig") == "id,at,username,action,entity,entity_id,before,after\r\n"


def test_the_xlsx_export_holds_every_matching_row_formula_safe_and_is_audited(logged: Engine) -> None:
    from openpyxl import load_workbook

    for key in ("=1+1", "@SUM(A1)"):
        _write(logged, datetime(2025, 3, 1), SAM, "import", "customers", key)
    data = export_audit(logged, ADA, AuditQuery(action="import"), file_format="xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "audit_log"
    assert cells[0] == ["id", "at", "username", "action", "entity", "entity_id", "before", "after"]
    # Text as logged, in string cells marked as text (quotePrefix), never a formula.
    ids = sorted((row[5].value, row[5].data_type, row[5].quotePrefix) for row in sheet.iter_rows(min_row=2))
    assert ids == [("=1+1", "s", True), ("@SUM(A1)", "s", True)]
    exports = audit_entries(logged, ADA, AuditQuery(action="export", entity="audit_log"))
    assert json.loads(exports.iloc[0]["after"])["format"] == "xlsx"
    assert json.loads(exports.iloc[0]["after"])["rows"] == 2


def test_an_xlsx_export_larger_than_one_excel_sheet_is_refused_with_the_count(
    logged: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crm.exports, "EXCEL_MAX_DATA_ROWS", 3)
    with pytest.raises(ValueError, match="4 audit entries do not fit in one Excel sheet"):
        export_audit(logged, ADA, file_format="xlsx")
    assert count_audit_entries(logged, ADA, AuditQuery(action="export")) == 1  # the export row of 3 March only


def test_an_unknown_export_format_is_refused(logged: Engine) -> None:
    with pytest.raises(ValueError, match="csv or xlsx"):
        export_audit(logged, ADA, file_format="pdf")


def test_sign_ins_are_their_own_view_and_never_counted_as_changes(logged: Engine) -> None:
    _write(logged, datetime(2025, 3, 4, 8), SAM, "login", "user", 2)
    _write(logged, datetime(2025, 3, 4, 9), SAM, "logout", "user", 2)
    sign_ins = audit_entries(logged, ADA, AuditQuery(view="sign-ins"))
    assert list(sign_ins["action"]) == ["logout", "login"]
    assert set(audit_entries(logged, ADA, AuditQuery(view="changes"))["action"]) == {"update", "delete", "create"}
    assert count_audit_entries(logged, ADA, AuditQuery(view="everything")) == 6


def test_each_view_offers_only_its_own_actions_and_new_actions_count_as_changes() -> None:
    actions = ("create", "update", "export", "login", "logout", "redeem")
    assert actions_in_view("changes", actions) == ["create", "update", "redeem"]
    assert actions_in_view("exports", actions) == ["export"]
    assert actions_in_view("sign-ins", actions) == ["login", "logout"]
    assert actions_in_view("everything", actions) == list(actions)


def test_an_unknown_view_is_refused_by_name(logged: Engine) -> None:
    with pytest.raises(ValueError, match="Unknown audit view “logins”"):
        audit_entries(logged, ADA, AuditQuery(view="logins"))
