"""vocabulary and contact keys

Folds spelling variants of customer sources onto one lower_snake code ("Website", " WEBSITE ",
"web site" -> "website") and recomputes the stored duplicate keys: emails as email-validator
normalises them (lower-cased), phones in E.164 read in CRM_PHONE_REGION (crm/contacts.py).
No table changes: the same columns hold cleaner values.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:45:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from crm.contacts import email_key, phone_key
from crm.vocabulary import DEFAULT_SOURCES, SOURCE_ALIASES, normalise_code, to_code

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_customers = sa.table(
    "customers",
    sa.column("id", sa.Integer),
    sa.column("source", sa.String),
    sa.column("email", sa.String),
    sa.column("email_normalized", sa.String),
    sa.column("phone", sa.String),
    sa.column("phone_normalized", sa.String),
)
# Rows read and written per round trip: a big shop's customers never sit in memory at once.
_BATCH = 5_000


def _fold_sources(connection: sa.Connection) -> None:
    stored = [value for (value,) in connection.execute(sa.select(_customers.c.source).distinct()) if value]
    known = sorted({*DEFAULT_SOURCES, *(code for code in map(normalise_code, stored) if code)})
    for value in stored:
        code = to_code(value, known, SOURCE_ALIASES)
        if code != value:
            connection.execute(sa.update(_customers).where(_customers.c.source == value).values(source=code))


def _rekey(connection: sa.Connection, email_of: object, phone_of: object) -> None:
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(
                _customers.c.id,
                _customers.c.email,
                _customers.c.phone,
                _customers.c.email_normalized,
                _customers.c.phone_normalized,
            )
            .where(_customers.c.id > last_id)
            .order_by(_customers.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        changed = []
        for row in rows:
            email, phone = email_of(row.email), phone_of(row.phone)  # type: ignore[operator]
            if (email, phone) != (row.email_normalized, row.phone_normalized):
                changed.append({"row_id": row.id, "email_key": email, "phone_key": phone})
        if changed:
            connection.execute(
                sa.update(_customers)
                .where(_customers.c.id == sa.bindparam("row_id"))
                .values(email_normalized=sa.bindparam("email_key"), phone_normalized=sa.bindparam("phone_key")),
                changed,
            )


def _old_email_key(text: str | None) -> str | None:
    return text.strip().lower() or None if text else None


def _old_phone_key(text: str | None) -> str | None:
    return re.sub(r"\D", "", text or "") or None


def upgrade() -> None:
    connection = op.get_bind()
    _fold_sources(connection)
    _rekey(connection, email_key, phone_key)


def downgrade() -> None:
    # The keys go back to their old form; folded sources stay folded (the variants are not recorded).
    _rekey(op.get_bind(), _old_email_key, _old_phone_key)
