"""Adding one customer by hand: checks while typing, possible duplicates, and the audited save.

The save goes through ``apply_edits`` (one added row), so the New customer form and the grid
share permission, validation, key normalisation (crm/contacts.py), the source vocabulary and
the audit row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, or_, select

from crm.contacts import email_key, email_problem, phone_key
from crm.permissions import Actor
from crm.records.edits import EditOutcome, apply_edits
from crm.records.entities import entity_spec
from crm.schema import customers

__all__ = ["DuplicateCandidate", "create_customer", "new_customer_problems", "possible_duplicates"]

# Possible duplicates listed under the form: enough to spot the person, short enough to read.
DUPLICATE_LIMIT = 5
_IDENTIFYING = ("first_name", "last_name", "company", "email", "phone")


@dataclass(frozen=True)
class DuplicateCandidate:
    """An existing customer the new one may be: who, and which of email, phone, name are the same."""

    customer_id: int
    label: str
    matched_on: tuple[str, ...]


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def new_customer_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """{field: what is wrong} for the form as typed so far ("" key: the whole customer)."""
    problems: dict[str, str] = {}
    email = _text(values, "email")
    if email and email_problem(email):
        problems["email"] = f"Not an email address: {email_problem(email)}"
    phone = _text(values, "phone")
    if phone and not phone_key(phone):
        problems["phone"] = "A phone number needs digits."
    elif phone and sum(character.isdigit() for character in phone) < 5:
        problems["phone"] = "Too short for a phone number (at least 5 digits)."
    if not any(_text(values, name) for name in _IDENTIFYING):
        problems[""] = "Enter at least a name, company, email or phone."
    return problems


def possible_duplicates(
    engine: Engine,
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    limit: int = DUPLICATE_LIMIT,
) -> list[DuplicateCandidate]:
    """Existing customers with the same email key, phone key (E.164) or full name, oldest first."""
    wanted_email, wanted_phone = email_key(email), phone_key(phone)
    first, last = (first_name or "").strip().lower(), (last_name or "").strip().lower()
    same_email = customers.c.email_normalized == wanted_email
    same_phone = customers.c.phone_normalized == wanted_phone
    # A name alone is a weak sign, so both parts must be given (case and outer spaces ignored).
    same_name = (func.lower(func.trim(customers.c.first_name)) == first) & (
        func.lower(func.trim(customers.c.last_name)) == last
    )
    conditions = [
        condition
        for condition, wanted in ((same_email, wanted_email), (same_phone, wanted_phone), (same_name, first and last))
        if wanted
    ]
    if not conditions:
        return []
    statement = (
        select(
            customers.c.id,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.company,
            customers.c.email,
            customers.c.email_normalized,
            customers.c.phone,
            customers.c.phone_normalized,
        )
        .where(or_(*conditions))
        .order_by(customers.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    found = []
    for row in rows:
        matched = []
        if wanted_email and row.email_normalized == wanted_email:
            matched.append("email")
        if wanted_phone and row.phone_normalized == wanted_phone:
            matched.append("phone")
        same_full_name = ((row.first_name or "").strip().lower(), (row.last_name or "").strip().lower()) == (
            first,
            last,
        )
        if first and last and same_full_name:
            matched.append("name")
        name = " ".join(part for part in (row.first_name, row.last_name) if part) or row.company or f"#{row.id}"
        label = " · ".join(part for part in (name, row.email, row.phone) if part)
        found.append(DuplicateCandidate(int(row.id), label, tuple(matched)))
    return found


def create_customer(engine: Engine, values: Mapping[str, Any], actor: Actor) -> EditOutcome:
    """Save one new customer (blank values left out) as an audited insert; ``outcome.created`` holds its id.

    Raises ``PermissionDeniedError`` for roles that may not edit records; every other refusal
    is in ``outcome.problems``, naming the field.
    """
    spec = entity_spec("customers")
    known = {field.name for field in spec.fields}
    row = {name: value for name, value in values.items() if name in known and value not in (None, "")}
    shown = pd.DataFrame(columns=["id", "version", *sorted(known)])
    return apply_edits(engine, spec, shown, {"edited_rows": {}, "added_rows": [row], "deleted_rows": []}, actor)
