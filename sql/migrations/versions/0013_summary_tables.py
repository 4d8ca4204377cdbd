"""summary tables

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-06 15:50:00
"""

from __future__ import annotations

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
