"""loyalty: ledger kinds and authors, the earning rule, tier history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 15:00:00

* loyalty_ledger gets ``kind`` (earn, reversal, redeem, adjustment, opening) and ``created_by``,
  and indexes on order_id and created_at. Existing rows linked to an order become ``earn``
  (positive) or ``reversal`` (negative); the others stay ``adjustment``.
* loyalty_settings: one row holding the earning rule and the value of a redeemed point.
* loyalty_tier_changes: the tier history written when a balance crosses a threshold.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LEDGER_KINDS = "kind IN ('earn', 'reversal', 'redeem', 'adjustment', 'opening')"


def upgrade() -> None:
    with op.batch_alter_table("loyalty_ledger") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(12), nullable=False, server_default="adjustment"))
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_loyalty_ledger_created_by_users", "users", ["created_by"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_check_constraint(op.f("ck_loyalty_ledger_kind_allowed"), LEDGER_KINDS)
        batch_op.create_index("ix_loyalty_ledger_order_id", ["order_id"])
        batch_op.create_index("ix_loyalty_ledger_created_at", ["created_at"])
    op.execute("UPDATE loyalty_ledger SET kind = 'earn' WHERE order_id IS NOT NULL AND points > 0")
    op.execute("UPDATE loyalty_ledger SET kind = 'reversal' WHERE order_id IS NOT NULL AND points < 0")
    op.create_table(
        "loyalty_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("points_per_currency_unit", sa.Numeric(10, 4), server_default="1", nullable=False),
        sa.Column("points_per_discount_unit", sa.Integer(), server_default="100", nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "points_per_currency_unit >= 0",
            name=op.f("ck_loyalty_settings_points_per_currency_unit_non_negative"),
        ),
        sa.CheckConstraint(
            "points_per_discount_unit > 0", name=op.f("ck_loyalty_settings_points_per_discount_unit_positive")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_loyalty_settings_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_settings")),
    )
    op.create_table(
        "loyalty_tier_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("from_tier", sa.String(20), nullable=False),
        sa.Column("to_tier", sa.String(20), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("from_tier <> to_tier", name=op.f("ck_loyalty_tier_changes_tier_changed")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_tier_changes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tier_changes")),
    )
    op.create_index(op.f("ix_loyalty_tier_changes_customer_id"), "loyalty_tier_changes", ["customer_id"])
    op.create_index("ix_loyalty_tier_changes_changed_at", "loyalty_tier_changes", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_loyalty_tier_changes_changed_at", table_name="loyalty_tier_changes")
    op.drop_index(op.f("ix_loyalty_tier_changes_customer_id"), table_name="loyalty_tier_changes")
    op.drop_table("loyalty_tier_changes")
    op.drop_table("loyalty_settings")
    with op.batch_alter_table("loyalty_ledger") as batch_op:
        batch_op.drop_index("ix_loyalty_ledger_created_at")
        batch_op.drop_index("ix_loyalty_ledger_order_id")
        batch_op.drop_constraint(op.f("ck_loyalty_ledger_kind_allowed"), type_="check")
        batch_op.drop_constraint("fk_loyalty_ledger_created_by_users", type_="foreignkey")
        batch_op.drop_column("created_by")
        batch_op.drop_column("kind")
