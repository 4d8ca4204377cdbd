"""customers.marketing_consent: off by default, importable, editable in the Customers grid and audited."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from crm.imports import run_import
from crm.permissions import Actor
from crm.records import RecordQuery, apply_edits, list_records
from crm.schema import audit_log, customers
from tests.fixtures.tiny_shop import TinyShop

ADA = Actor(user_id=1, username="ada", role="admin")


def _consent(engine: Engine) -> dict[str, bool]:
    with engine.connect() as connection:
        rows = connection.execute(select(customers.c.email, customers.c.marketing_consent)).all()
    return {email: bool(consent) for email, consent in rows}


def test_imported_customers_carry_consent_and_a_blank_means_no(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    csv = (
        "Name,Email,Accepts marketing\nZoe Ray,zoe@example.com,yes\nYan Li,yan@example.com,\nXi Wu,xi@example.com,no\n"
    )
    report = run_import(engine, csv.encode(), entity="customers", file_name="people.csv", actor=ADA)
    assert report.inserted == 3
    consent = _consent(engine)
    assert (consent["zoe@example.com"], consent["yan@example.com"], consent["xi@example.com"]) == (True, False, False)
    assert consent["alice@example.com"] is False


def test_consent_is_edited_in_the_customers_grid_with_an_audit_row(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = list_records(engine, "customers", RecordQuery(sort_by="id", descending=False)).rows
    assert "marketing_consent" in shown.columns
    changes = {"edited_rows": {0: {"marketing_consent": True}}, "added_rows": [], "deleted_rows": []}
    outcome = apply_edits(engine, "customers", shown, changes, ADA)
    assert outcome.ok, outcome.problems
    assert _consent(engine)["alice@example.com"] is True
    with engine.connect() as connection:
        row = connection.execute(
            select(audit_log.c.before_json, audit_log.c.after_json).where(audit_log.c.entity == "customers")
        ).one()
    assert json.loads(row.before_json)["marketing_consent"] is False
    assert json.loads(row.after_json)["marketing_consent"] is True
