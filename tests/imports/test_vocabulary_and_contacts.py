"""Imports speak one vocabulary and recognise one phone or email however it is written."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from crm.analytics.options import filter_choices
from crm.imports import run_import
from crm.schema import customers
from crm.settings import get_settings


def _sources(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        return [row.source for row in connection.execute(select(customers.c.source).order_by(customers.c.id))]


def test_an_import_with_differently_cased_sources_leaves_one_option_per_source(engine: Engine) -> None:
    run_import(engine, b"Email,Source\nfirst@example.com,website\nsecond@example.com,store\n", entity="customers")
    run_import(
        engine,
        (
            b"Email,Source\nthird@example.com,Website\nfourth@example.com, WEBSITE \nfifth@example.com,web site\n"
            b"sixth@example.com,Store\nseventh@example.com,Social Media\neighth@example.com,social-media\n"
            b"ninth@example.com,Pop-up Market\ntenth@example.com,pop up market\n"
        ),
        entity="customers",
    )
    assert _sources(engine) == [
        "website",
        "store",
        "website",
        "website",
        "website",
        "store",
        "social_media",
        "social_media",
        "pop_up_market",
        "pop_up_market",
    ]
    assert filter_choices(engine).sources == ("pop_up_market", "social_media", "store", "website")


@pytest.fixture
def korean_shop(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CRM_PHONE_REGION", "KR")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_one_phone_in_two_formats_is_one_customer(engine: Engine, korean_shop: None) -> None:
    run_import(engine, "Name,Phone\n김민준,+82 10-4645-8329\n".encode(), entity="customers")
    report = run_import(
        engine, "Name,Phone,City\n김민준,010-4645-8329,Seoul\n".encode(), entity="customers", on_duplicate="update"
    )
    assert (report.inserted, report.updated) == (0, 1)
    with engine.connect() as connection:
        rows = connection.execute(select(customers.c.phone_normalized, customers.c.city)).all()
    assert [tuple(row) for row in rows] == [("+821046458329", "Seoul")]


def test_an_email_in_other_case_updates_the_same_customer_and_a_bad_one_is_rejected(engine: Engine) -> None:
    run_import(engine, b"Email\nAda.Lovelace@Example.com\n", entity="customers")
    report = run_import(
        engine,
        b"Email,City\nada.lovelace@EXAMPLE.COM,London\nada@@example.com,Paris\n",
        entity="customers",
        on_duplicate="update",
    )
    assert (report.inserted, report.updated, report.rejected_rows) == (0, 1, 1)
    with engine.connect() as connection:
        rows = connection.execute(select(customers.c.email, customers.c.email_normalized, customers.c.city)).all()
    assert [tuple(row) for row in rows] == [("ada.lovelace@EXAMPLE.COM", "ada.lovelace@example.com", "London")]
