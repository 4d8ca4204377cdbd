"""visits and relationships

Interactions get an outcome; a visit payment may name the order it settles (so total takings never
count that sale twice).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("outcome", sa.String(200), nullable=True))
    with op.batch_alter_table("visit_payments") as batch:
        batch.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_visit_payments_order_id_orders", "orders", ["order_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_visit_payments_order_id", ["order_id"])


def downgrade() -> None:
    with op.batch_alter_table("visit_payments") as batch:
        batch.drop_index("ix_visit_payments_order_id")
        batch.drop_constraint("fk_visit_payments_order_id_orders", type_="foreignkey")
        batch.drop_column("order_id")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("outcome")
