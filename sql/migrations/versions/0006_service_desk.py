"""service desk: ticket categories of the replaced system, customer messages, SLA policies, daily numbering

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:00:00

* Ticket categories become general, technical, billing, shipping, returns, complaint, feature_request,
  other (the column widens to 20 characters for ``feature_request``; new tickets default to general).
  Existing rows are mapped: order → general (questions about an order that are not about its delivery or
  its payment), product → technical (how a product works, defects), account → technical (sign-in and
  account problems), shipping, billing and other keep their code. The downgrade maps back: general,
  complaint, feature_request → other; technical → product; returns → order.
* ``ticket_notes.note_type`` gains ``customer_message`` (what the customer wrote, logged by staff);
  the downgrade turns those into internal notes.
* ``sla_policies``: first-response and resolution targets in hours per priority, seeded with the
  defaults of ``crm.schema.DEFAULT_SLA_HOURS``.
* ``ticket_number_days``: the last sequence handed out per local day, so concurrent creators queue on
  the day's row instead of computing the same "max + 1".
* Index on ``tickets.status`` for the service desk queue and its counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NEW_CATEGORIES = ("general", "technical", "billing", "shipping", "returns", "complaint", "feature_request", "other")
OLD_CATEGORIES = ("order", "product", "shipping", "billing", "account", "other")
UPGRADE_MAP = {"order": "general", "product": "technical", "account": "technical"}
DOWNGRADE_MAP = {
    "general": "other",
    "complaint": "other",
    "feature_request": "other",
    "technical": "product",
    "returns": "order",
}
NEW_NOTE_TYPES = ("internal", "customer_reply", "customer_message", "system", "resolution")
OLD_NOTE_TYPES = ("internal", "customer_reply", "system", "resolution")
DEFAULT_SLA_HOURS = (("urgent", 1, 24), ("high", 4, 48), ("medium", 8, 96), ("low", 24, 168))


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _remap(table: str, column: str, mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        op.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old").bindparams(old=old, new=new))


def upgrade() -> None:
    op.create_table(
        "ticket_number_days",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "last_sequence BETWEEN 0 AND 9999", name=op.f("ck_ticket_number_days_last_sequence_range")
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_ticket_number_days")),
    )
    sla = op.create_table(
        "sla_policies",
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("first_response_hours", sa.Integer(), nullable=False),
        sa.Column("resolution_hours", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')", name=op.f("ck_sla_policies_priority_allowed")
        ),
        sa.CheckConstraint("first_response_hours > 0", name=op.f("ck_sla_policies_first_response_hours_positive")),
        sa.CheckConstraint(
            "resolution_hours >= first_response_hours", name=op.f("ck_sla_policies_resolution_after_first_response")
        ),
        sa.PrimaryKeyConstraint("priority", name=op.f("pk_sla_policies")),
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(
        sla,
        [
            {
                "priority": priority,
                "first_response_hours": first_response,
                "resolution_hours": resolution,
                "created_at": now,
                "updated_at": now,
            }
            for priority, first_response, resolution in DEFAULT_SLA_HOURS
        ],
    )
    # The old CHECK refuses the new codes: drop it, remap the rows, then add the new one.
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(op.f("ck_tickets_category_allowed"), type_="check")
        batch_op.alter_column(
            "category",
            existing_type=sa.String(length=12),
            type_=sa.String(length=20),
            existing_nullable=False,
            server_default="general",
        )
    _remap("tickets", "category", UPGRADE_MAP)
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.create_check_constraint(op.f("ck_tickets_category_allowed"), _in("category", NEW_CATEGORIES))
        batch_op.create_index(op.f("ix_tickets_status"), ["status"])
    with op.batch_alter_table("ticket_notes") as batch_op:
        batch_op.drop_constraint(op.f("ck_ticket_notes_note_type_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ticket_notes_note_type_allowed"), _in("note_type", NEW_NOTE_TYPES))


def downgrade() -> None:
    _remap("ticket_notes", "note_type", {"customer_message": "internal"})
    with op.batch_alter_table("ticket_notes") as batch_op:
        batch_op.drop_constraint(op.f("ck_ticket_notes_note_type_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ticket_notes_note_type_allowed"), _in("note_type", OLD_NOTE_TYPES))
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index(op.f("ix_tickets_status"))
        batch_op.drop_constraint(op.f("ck_tickets_category_allowed"), type_="check")
    _remap("tickets", "category", DOWNGRADE_MAP)
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.alter_column(
            "category",
            existing_type=sa.String(length=20),
            type_=sa.String(length=12),
            existing_nullable=False,
            server_default="other",
        )
        batch_op.create_check_constraint(op.f("ck_tickets_category_allowed"), _in("category", OLD_CATEGORIES))
    op.drop_table("sla_policies")
    op.drop_table("ticket_number_days")
