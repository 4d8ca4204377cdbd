"""The data version moves with every committed data change, and only then (crm/data_version.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select

from crm.audit import export_audit, record_audit
from crm.auth import create_user, start_session
from crm.data_version import mark_data_changed, read_data_version
from crm.demo import DemoSize, generate_demo
from crm.imports.core import run_import
from crm.permissions import Actor
from crm.records import RecordQuery, apply_edits, list_records
from crm.schema import customers
from tests.fixtures.tiny_shop import TinyShop

ADA = Actor(user_id=None, username="ada", role="admin")
SECRET = "a-test-secret-key-of-enough-length-0123456789"


def _first_customers(engine: Engine):
    return list_records(engine, "customers", RecordQuery(sort_by="id", descending=False)).rows


def test_an_edit_bumps_the_version_by_one(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    before = read_data_version(engine)
    shown = _first_customers(engine)
    outcome = apply_edits(
        engine,
        "customers",
        shown,
        {"edited_rows": {0: {"city": "Bergen"}}, "added_rows": [], "deleted_rows": []},
        ADA,
    )
    assert outcome.problems == ()
    assert read_data_version(engine) == before + 1


def test_a_delete_bumps_the_version(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = _first_customers(engine)
    added = apply_edits(
        engine,
        "customers",
        shown,
        {"edited_rows": {}, "added_rows": [{"email": "gone@example.com", "first_name": "Gone"}], "deleted_rows": []},
        ADA,
    )
    assert added.problems == ()
    shown = _first_customers(engine)
    position = int(shown.index[shown["email"] == "gone@example.com"][0])
    before = read_data_version(engine)
    removal = {"edited_rows": {}, "added_rows": [], "deleted_rows": [position]}
    deleted = apply_edits(engine, "customers", shown, removal, ADA)
    assert deleted.problems == ()
    with engine.connect() as connection:
        assert connection.execute(select(customers.c.id).where(customers.c.email == "gone@example.com")).first() is None
    assert read_data_version(engine) == before + 1


def test_an_import_bumps_the_version_and_a_dry_run_does_not(engine: Engine) -> None:
    before = read_data_version(engine)
    run_import(engine, b"Email,First Name\nada@example.com,Ada\n", entity="customers", dry_run=True)
    assert read_data_version(engine) == before
    run_import(engine, b"Email,First Name\nada@example.com,Ada\nbob@example.com,Bob\n", entity="customers")
    assert read_data_version(engine) > before


def test_a_demo_load_bumps_the_version_and_a_replace_bumps_it_again(engine: Engine) -> None:
    before = read_data_version(engine)
    size = DemoSize(customers=60, orders=200)
    generate_demo(engine, size, seed=1, end_date=date(2025, 6, 30))
    loaded = read_data_version(engine)
    assert loaded > before
    generate_demo(engine, size, seed=2, end_date=date(2025, 6, 30), replace=True)
    # The counter survives the replace's truncation: it only ever counts up.
    assert read_data_version(engine) > loaded


def test_a_sign_in_a_sign_out_and_an_export_leave_the_version_alone(engine: Engine) -> None:
    create_user(engine, Actor.system(), "mia", "a long enough password 1", "manager")
    before = read_data_version(engine)
    start_session(engine, "mia", SECRET)
    with engine.begin() as connection:
        record_audit(connection, ADA, "logout", "user", 1)
    export_audit(engine, ADA)
    assert read_data_version(engine) == before


def test_a_rolled_back_change_bumps_nothing(engine: Engine) -> None:
    before = read_data_version(engine)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        record_audit(connection, ADA, "update", "customers", 1, after={"city": "Oslo"})
        raise RuntimeError("the write fails after its audit row")
    assert read_data_version(engine) == before
    with engine.begin() as connection:  # the flag was dropped with the rollback: this commit writes nothing
        connection.execute(select(1))
    assert read_data_version(engine) == before


def test_several_changes_in_one_transaction_bump_once(engine: Engine) -> None:
    before = read_data_version(engine)
    with engine.begin() as connection:
        record_audit(connection, ADA, "update", "customers", 1, after={"city": "Oslo"})
        record_audit(connection, ADA, "update", "customers", 2, after={"city": "Rome"})
        mark_data_changed(connection)
    assert read_data_version(engine) == before + 1
