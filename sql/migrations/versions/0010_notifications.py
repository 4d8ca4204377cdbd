"""digests and alerts: subscriptions, alert rules and recipients, alert episodes, claimed deliveries

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:30:00

New tables only; nothing existing changes. ``notification_deliveries`` has the unique key that makes
every digest period and alert episode go to a user at most once; ``alert_episodes`` a partial unique
index (one open episode per rule and condition) so an alert fires once until it clears.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(), nullable=False), sa.Column("updated_at", sa.DateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("view", sa.String(length=20), server_default="overview", nullable=False),
        sa.Column("send_at", sa.String(length=5), server_default="08:00", nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("filters_query", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(_in("frequency", ("daily", "weekly")), name=op.f("ck_digest_subscriptions_frequency_allowed")),
        sa.CheckConstraint(_in("view", ("overview",)), name=op.f("ck_digest_subscriptions_view_allowed")),
        sa.CheckConstraint("weekday IS NULL OR (weekday >= 0 AND weekday <= 6)", name=op.f("ck_digest_subscriptions_weekday_range")),
        sa.CheckConstraint("frequency = 'daily' OR weekday IS NOT NULL", name=op.f("ck_digest_subscriptions_weekly_has_weekday")),
        sa.CheckConstraint("length(send_at) = 5 AND substr(send_at, 3, 1) = ':'", name=op.f("ck_digest_subscriptions_send_at_format")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_digest_subscriptions_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_digest_subscriptions_created_by_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
        sa.UniqueConstraint("user_id", "view", "frequency", name="uq_digest_subscriptions_user_view_frequency"),
    )
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("threshold", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        *_timestamps(),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            _in("kind", ("low_stock", "overdue_follow_ups", "sla_breaches", "revenue_drop")),
            name=op.f("ck_alert_rules_kind_allowed"),
        ),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_alert_rules_threshold_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("kind", name=op.f("uq_alert_rules_kind")),
    )
    op.create_table(
        "alert_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_rule_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_rule_id"], ["alert_rules.id"], name=op.f("fk_alert_recipients_alert_rule_id_alert_rules"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_alert_recipients_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_recipients")),
        sa.UniqueConstraint("alert_rule_id", "user_id", name="uq_alert_recipients_pair"),
    )
    op.create_index(op.f("ix_alert_recipients_user_id"), "alert_recipients", ["user_id"])
    op.create_table(
        "alert_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_rule_id", sa.Integer(), nullable=False),
        sa.Column("condition_key", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["alert_rule_id"], ["alert_rules.id"], name=op.f("fk_alert_episodes_alert_rule_id_alert_rules"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_episodes")),
    )
    op.create_index(
        "uq_alert_episodes_open_condition",
        "alert_episodes",
        ["alert_rule_id", "condition_key"],
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reference_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=40), server_default="", nullable=False),
        sa.Column("status", sa.String(length=8), server_default="claimed", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_in("kind", ("digest", "alert")), name=op.f("ck_notification_deliveries_kind_allowed")),
        sa.CheckConstraint(_in("status", ("claimed", "sent", "failed")), name=op.f("ck_notification_deliveries_status_allowed")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_deliveries_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("kind", "reference_id", "user_id", "period_key", name="uq_notification_deliveries_once"),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_index("uq_alert_episodes_open_condition", table_name="alert_episodes")
    op.drop_table("alert_episodes")
    op.drop_index(op.f("ix_alert_recipients_user_id"), table_name="alert_recipients")
    op.drop_table("alert_recipients")
    op.drop_table("alert_rules")
    op.drop_table("digest_subscriptions")
