"""campaigns: templates, holdout, send state per recipient, the export channel

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 15:00:00

* campaigns: template_subject/body, holdout_percent (0 for existing rows: the demo's campaigns had
  no control group), seed, conversion_window_days (14), launched_at, sent_at, created_by; channel
  may also be ``export``; status may also be launched, sending, sent (the app's own campaigns).
* campaign_recipients: status (existing rows were all sent), reason, address, attempted_at, error,
  and an index on (campaign_id, status) for the send loop.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_CHANNELS = ("email", "sms", "push", "mail", "social")
NEW_CHANNELS = (*OLD_CHANNELS, "export")
OLD_STATUSES = ("draft", "scheduled", "running", "finished", "cancelled")
NEW_STATUSES = (*OLD_STATUSES, "launched", "sending", "sent")
RECIPIENT_STATUSES = ("pending", "sending", "sent", "failed", "exported", "holdout", "not_contactable")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_subject", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("template_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("holdout_percent", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("seed", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("conversion_window_days", sa.Integer(), server_default="14", nullable=False))
        batch_op.add_column(sa.Column("launched_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_campaigns_created_by_users"), "users", ["created_by"], ["id"], ondelete="SET NULL"
        )
        batch_op.drop_constraint(op.f("ck_campaigns_channel_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_campaigns_channel_allowed"), _in("channel", NEW_CHANNELS))
        batch_op.drop_constraint(op.f("ck_campaigns_status_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_campaigns_status_allowed"), _in("status", NEW_STATUSES))
        batch_op.create_check_constraint(
            op.f("ck_campaigns_holdout_percent_range"), "holdout_percent BETWEEN 0 AND 90"
        )
        batch_op.create_check_constraint(
            op.f("ck_campaigns_conversion_window_range"), "conversion_window_days BETWEEN 1 AND 365"
        )
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="sent", nullable=False))
        batch_op.add_column(sa.Column("reason", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("attempted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_campaign_recipients_status_allowed"), _in("status", RECIPIENT_STATUSES))
        batch_op.create_index("ix_campaign_recipients_campaign_status", ["campaign_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_recipients_campaign_status")
        batch_op.drop_constraint(op.f("ck_campaign_recipients_status_allowed"), type_="check")
        for column in ("error", "attempted_at", "address", "reason", "status"):
            batch_op.drop_column(column)
    op.execute("DELETE FROM campaigns WHERE channel = 'export' OR status IN ('launched', 'sending', 'sent')")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaigns_conversion_window_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_campaigns_holdout_percent_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_campaigns_channel_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_campaigns_channel_allowed"), _in("channel", OLD_CHANNELS))
        batch_op.drop_constraint(op.f("ck_campaigns_status_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_campaigns_status_allowed"), _in("status", OLD_STATUSES))
        batch_op.drop_constraint(op.f("fk_campaigns_created_by_users"), type_="foreignkey")
        for column in (
            "created_by",
            "sent_at",
            "launched_at",
            "conversion_window_days",
            "seed",
            "holdout_percent",
            "template_body",
            "template_subject",
        ):
            batch_op.drop_column(column)
