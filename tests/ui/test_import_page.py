"""The import wizard page in AppTest: upload -> reading -> mapping -> dry run -> import."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.db import init_database, make_engine
from crm.imports import list_mappings
from crm.schema import customers
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.imports.conftest import DATA, KOREAN_CUSTOMERS, make_messy_workbook
from tests.ui.apptest_support import app_as, shown_text


@pytest.fixture
def shop_url(tmp_path: Path) -> str:
    """A SQLite tiny shop (5 customers; ada is admin, sam an agent)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = make_engine(url)
    init_database(engine)
    load_tiny_shop(engine)
    engine.dispose()
    return url


def _customers(url: str, **where) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = select(func.count()).select_from(customers)
            for name, value in where.items():
                query = query.where(customers.c[name] == value)
            return connection.execute(query).scalar_one()
    finally:
        engine.dispose()


def _open_wizard(url: str, username: str = "ada"):
    app = app_as(url, username)
    app.run()
    app.switch_page("pages/import.py").run()
    assert not app.exception
    return app


def _upload(app, name: str, data: bytes, entity: str = "customers"):
    app.selectbox(key="wizard_entity").set_value(entity)
    app.file_uploader(key="wizard_file_0").upload(name, data, "text/csv").run()
    app.button(key="next_upload").click().run()
    assert not app.exception
    return app


def _mapping_boxes(app) -> dict[str, object]:
    return {box.label.removeprefix("Field for "): box for box in app.selectbox if box.key.startswith("wizard_map_")}


def test_the_wizard_imports_the_korean_file_with_a_column_ignored(shop_url):
    app = _open_wizard(shop_url)
    assert app.title[0].value == "Import data"
    _upload(app, "ko_customers_cp949.csv", KOREAN_CUSTOMERS.read_bytes())
    assert "CSV in cp949, comma-delimited, header on line 1, 30 data rows" in shown_text(app.success[0].value)
    assert app.dataframe[0].value.columns.tolist() == ["이름", "연락처", "생년월일", "성별", "메모"]

    app.button(key="next_reading").click().run()
    boxes = _mapping_boxes(app)
    assert {column: box.value for column, box in boxes.items()} == {
        "이름": "full_name",
        "연락처": "phone",
        "생년월일": "birth_date",
        "성별": "gender",
        "메모": "notes",
    }
    boxes["메모"].set_value("ignore").run()
    app.text_input(key="wizard_save_name").input("Korean shop").run()
    app.button(key="wizard_save").click().run()
    engine = make_engine(shop_url)
    assert list_mappings(engine, "customers") == ["Korean shop"]
    engine.dispose()

    app.button(key="next_mapping").click().run()
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert (metrics["Rows read"], metrics["To insert"], metrics["Rejected rows"]) == ("30", "30", "0")
    assert _customers(shop_url) == 5  # the preview is a dry run

    app.button(key="wizard_import").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("30 rows read: 30 were inserted")
    assert _customers(shop_url) == 35
    assert _customers(shop_url, notes="단골") == 0  # the memo column was ignored
    assert [button.label for button in app.get("download_button")][:2] == [
        "Download report (JSON)",
        "Rejected rows (CSV)",
    ]
    app.button(key="wizard_restart").click().run()
    assert app.file_uploader(key="wizard_file_1").value is None  # a fresh, empty uploader


def test_the_preview_lists_rejected_rows_and_duplicates_before_anything_is_written(shop_url):
    app = _open_wizard(shop_url)
    _upload(app, "messy.csv", (DATA / "utf8_bom_customers.csv").read_bytes())
    app.button(key="next_reading").click().run()
    app.button(key="next_mapping").click().run()
    metrics = {metric.label: metric.value for metric in app.metric}
    assert (metrics["To insert"], metrics["Skipped duplicates"], metrics["Rejected rows"]) == ("2", "2", "3")
    rejected = app.dataframe[1].value
    assert rejected.to_dict("records")[0] == {
        "row": 5,
        "column": "E-mail",
        "reason": "not an email address ('alan@@example')",
    }
    duplicates = app.dataframe[2].value
    assert duplicates["reason"].tolist() == ["same email as row 2", "same phone as row 3"]
    assert _customers(shop_url) == 5


def test_reading_options_can_be_corrected(shop_url):
    app = _open_wizard(shop_url)
    _upload(app, "german.csv", (DATA / "cp1252_semicolon_customers.csv").read_bytes())
    assert "header on line 2" in shown_text(app.success[0].value)
    app.selectbox(key="wizard_encoding").set_value("utf-8").run()
    assert "not valid utf-8" in shown_text(app.warning[0].value)
    app.selectbox(key="wizard_encoding").set_value("cp1252").run()
    assert app.dataframe[0].value.iloc[0, 0] == "José Müller"


def test_an_agent_cannot_open_the_import_page(shop_url):
    app = _open_wizard(shop_url, "sam")
    assert "may not open this page" in app.error[0].value
    assert not app.file_uploader


def test_a_workbooks_sheet_can_be_switched_and_orders_import_from_it(shop_url):
    messy_workbook = make_messy_workbook()
    app = _open_wizard(shop_url)
    app.selectbox(key="wizard_entity").set_value("orders")
    app.file_uploader(key="wizard_file_0").upload("shop.xlsx", messy_workbook, "application/octet-stream").run()
    app.button(key="next_upload").click().run()
    # For orders, the sheet whose header names order fields only is read first.
    assert "sheet “Orders”, header on row 1, 2 data rows" in shown_text(app.success[0].value)
    app.selectbox(key="wizard_sheet").set_value("Customers").run()
    assert "sheet “Customers”, header on row 3" in shown_text(app.success[0].value)
    assert "G7" in shown_text(app.warning[0].value)  # the formula without a saved result
    app.selectbox(key="wizard_sheet").set_value("Orders").run()
    assert not app.exception
    assert "sheet “Orders”, header on row 1, 2 data rows" in shown_text(app.success[0].value)
    app.button(key="next_reading").click().run()
    boxes = _mapping_boxes(app)
    assert {column: box.value for column, box in boxes.items()} == {
        "Order No": "order_number",
        "Customer ID": "customer_external_id",
        "Date": "order_date",
        "Total": "total",
    }
    app.button(key="next_mapping").click().run()
    app.button(key="wizard_import").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("2 rows read: 2 were inserted")
    assert "Created on the way: 2 customers" in [caption.value for caption in app.caption]


def test_going_back_to_choose_another_entity_suggests_that_entitys_fields(shop_url):
    app = _open_wizard(shop_url)
    _upload(app, "orders.csv", (DATA / "orders_items.csv").read_bytes(), entity="orders")
    app.button(key="next_reading").click().run()
    assert _mapping_boxes(app)["Customer Email"].value == "customer_email"
    app.button(key="back_mapping").click().run()
    app.button(key="back_reading").click().run()
    app.selectbox(key="wizard_entity").set_value("customers").run()
    app.button(key="next_upload").click().run()
    app.button(key="next_reading").click().run()
    assert not app.exception
    assert _mapping_boxes(app)["Customer Email"].value == "email"


def _to_preview(app):
    app.button(key="next_upload").click().run()
    app.button(key="next_reading").click().run()
    app.button(key="next_mapping").click().run()
    assert not app.exception
    return {metric.label: metric.value for metric in app.metric}


def test_a_corrected_file_with_the_same_name_and_size_is_read_again(shop_url):
    wrong = b"Name,Email\nAda Lovelace,ada@@x.com\n"
    corrected = b"Name,Email\nAda Lovelace,ada@ex.com\n"
    assert len(wrong) == len(corrected)
    app = _open_wizard(shop_url)
    app.file_uploader(key="wizard_file_0").upload("people.csv", wrong, "text/csv").run()
    metrics = _to_preview(app)
    assert (metrics["To insert"], metrics["Rejected rows"]) == ("0", "1")
    for step in ("back_preview", "back_mapping", "back_reading"):
        app.button(key=step).click().run()
    app.file_uploader(key="wizard_file_0").upload("people.csv", corrected, "text/csv").run()
    metrics = _to_preview(app)
    assert (metrics["To insert"], metrics["Rejected rows"]) == ("1", "0")


def test_the_rejected_rows_download_is_built_by_the_exports_module(shop_url):
    from crm.imports import run_import
    from crm.permissions import Actor
    from crm.schema import audit_log
    from crm.ui.import_wizard import _rejections_file

    engine = make_engine(shop_url)
    try:
        # A header starting with "=" is mapped to Email; a spreadsheet would run it as a formula.
        report = run_import(engine, b"=Email\nnot-an-email\n", entity="customers", dry_run=True)
        manager = Actor(None, "mia", "manager")
        data = _rejections_file(engine, manager, report)()
        with engine.connect() as connection:
            exports = connection.execute(
                select(audit_log.c.entity, audit_log.c.username).where(audit_log.c.action == "export")
            ).all()
    finally:
        engine.dispose()
    assert data.decode("utf-8-sig").splitlines() == [
        "row,column,reason",
        "2,'=Email,not an email address ('not-an-email')",
    ]
    assert [tuple(row) for row in exports] == [("import_rejections", "mia")]


def test_the_finished_import_offers_the_rejected_rows_through_exports(shop_url):
    app = _open_wizard(shop_url)
    _upload(app, "messy.csv", (DATA / "utf8_bom_customers.csv").read_bytes())
    app.button(key="next_reading").click().run()
    app.button(key="next_mapping").click().run()
    assert app.tabs[1].label == "Rejected (3 rows)"
    app.button(key="wizard_import").click().run()
    assert not app.exception
    labels = [button.label for button in app.get("download_button")]
    assert "Rejected rows (CSV)" in labels
    assert app.success[0].value.startswith("7 rows read: 2 were inserted")
