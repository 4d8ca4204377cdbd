"""Adding one customer: checks as typed, possible duplicates by contact keys or name, audited save."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.permissions import Actor, PermissionDeniedError
from crm.records.new_customer import create_customer, new_customer_problems, possible_duplicates
from crm.schema import audit_log, customers
from tests.fixtures.tiny_shop import TinyShop

SAM = Actor(user_id=2, username="sam", role="agent")
ANN = Actor(user_id=None, username="ann", role="analyst")


def test_problems_name_the_field_while_typing() -> None:
    assert new_customer_problems({}) == {"": "Enter at least a name, company, email or phone."}
    problems = new_customer_problems({"first_name": "Finn", "email": "finn@", "phone": "12"})
    assert set(problems) == {"email", "phone"}
    assert problems["email"].startswith("Not an email address: ")
    assert new_customer_problems({"first_name": "Finn", "email": "finn@example.com", "phone": "010-1234-5678"}) == {}


def test_the_same_email_phone_or_full_name_is_a_possible_duplicate(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Alice Kim is customer 1: alice@example.com, 010-0000-0001 (key 01000000001 in the default region).
    by_email = possible_duplicates(engine, email=" ALICE@Example.com")
    assert [(found.customer_id, found.matched_on) for found in by_email] == [(1, ("email",))]
    by_phone = possible_duplicates(engine, phone="010 0000 0001")
    assert [(found.customer_id, found.matched_on) for found in by_phone] == [(1, ("phone",))]
    by_name = possible_duplicates(engine, first_name=" alice ", last_name="KIM")
    assert [(found.customer_id, found.matched_on) for found in by_name] == [(1, ("name",))]
    assert by_name[0].label == "Alice Kim · alice@example.com · 010-0000-0001"
    assert possible_duplicates(engine, first_name="Alice") == []  # a first name alone is no sign
    assert possible_duplicates(engine, email="nobody@example.com", phone="010-9999-9999") == []


def test_a_new_customer_is_saved_with_keys_and_one_audit_row_and_analysts_are_refused(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    outcome = create_customer(
        engine, {"first_name": "Finn", "email": "Finn@Example.com", "phone": "", "source": "Social Media"}, SAM
    )
    assert outcome.ok, outcome.problems
    new_id = outcome.created[0]
    with engine.connect() as connection:
        finn = connection.execute(select(customers).where(customers.c.id == new_id)).mappings().one()
        audit = connection.execute(
            select(audit_log.c.action, audit_log.c.username).where(
                audit_log.c.entity == "customers", audit_log.c.entity_id == str(new_id)
            )
        ).all()
    assert (finn["email_normalized"], finn["phone"], finn["source"], finn["status"]) == (
        "finn@example.com",
        None,
        "social_media",
        "active",
    )
    assert [tuple(row) for row in audit] == [("create", "sam")]
    refused = create_customer(engine, {"first_name": "Ann", "email": "nope"}, SAM)
    assert refused.problems == (
        "New row 1, Email: 'nope' is not an email address. An email address must have an @-sign.",
    )
    with pytest.raises(PermissionDeniedError):
        create_customer(engine, {"first_name": "Ann"}, ANN)
