"""stored clv fits and data version

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06 15:50:00

* ``data_version``: one row (id 1) whose counter is bumped in the commit of every transaction that
  changed data (crm/data_version.py); app servers put it into their cache keys.
* ``clv_fits``: stored CLV fits shared by every server process (crm/analytics/clv/stored.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    version = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 1}])
    op.create_table(
        "clv_fits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fit_key", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_version", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=1), nullable=False),
        sa.Column("model", sa.String(length=10), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("fitted_at", sa.DateTime(), nullable=False),
        sa.Column("model_json", sa.Text(), nullable=False),
        sa.Column("summary_parquet", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clv_fits")),
        sa.UniqueConstraint("fit_key", name=op.f("uq_clv_fits_fit_key")),
    )


def downgrade() -> None:
    op.drop_table("clv_fits")
    op.drop_table("data_version")
