"""vocabulary and contact keys

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 15:45:00
"""

from __future__ import annotations

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
