"""segments: nested rule format, customers.marketing_consent

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-06 15:00:00

* ``customers.marketing_consent`` (Boolean, NOT NULL, default false): campaigns contact only
  customers who agreed; nobody is assumed to have agreed.
* ``segments.rules_json`` moves from the demo's flat ``{"match": "all"|"any", "rules": [...]}``
  to the nested tree ``{"all"|"any": [...]}`` / ``{"not": ...}`` (crm.marketing.rules). Rows
  already in the nested format, or not JSON at all, are left as they are (the app reports them).
* ``ix_orders_customer_behaviour`` (customer_id, status, order_date, total): covering index of the
  per-customer order aggregate that segment rules on behaviour read.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def _rewrite_rules(convert: object) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, rules_json FROM segments ORDER BY id")).all()
    for segment_id, text in rows:
        try:
            rules = json.loads(text)
        except (TypeError, ValueError):
            continue
        converted = convert(rules)  # type: ignore[operator]
        if converted is not rules:
            connection.execute(
                sa.text("UPDATE segments SET rules_json = :rules WHERE id = :id"),
                {"rules": json.dumps(converted, ensure_ascii=False), "id": segment_id},
            )


def _flat_to_nested(rules: object) -> object:
    if isinstance(rules, dict) and set(rules) == {"match", "rules"} and rules["match"] in ("all", "any"):
        return {rules["match"]: list(rules["rules"])}
    return rules


def _nested_to_flat(rules: object) -> object:
    # Only one level of plain conditions fits the old format; deeper trees stay nested.
    if isinstance(rules, dict) and len(rules) == 1:
        key = next(iter(rules))
        children = rules[key]
        plain = isinstance(children, list) and all(isinstance(child, dict) and "field" in child for child in children)
        if key in ("all", "any") and plain:
            return {"match": key, "rules": children}
    return rules


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("marketing_consent", sa.Boolean(), server_default="0", nullable=False))
    _rewrite_rules(_flat_to_nested)
    op.create_index("ix_orders_customer_behaviour", "orders", ["customer_id", "status", "order_date", "total"])


def downgrade() -> None:
    op.drop_index("ix_orders_customer_behaviour", table_name="orders")
    _rewrite_rules(_nested_to_flat)
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("marketing_consent")
