"""null-safe unique indexes, stock and price checks, ticket number format, customer filter indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00

* ``UNIQUE (parent_id, name)`` on categories / kb_categories and ``UNIQUE (product_id, variant_id,
  warehouse_id)`` on inventory let rows with a NULL parent / variant repeat (NULLs never compare
  equal). They become unique indexes over ``COALESCE(column, 0)`` under the same names.
* CHECKs: inventory.reserved <= on_hand, price_history.old_price >= 0, ticket_number = CS + 12 digits.
* Indexes on customers.birth_date and customers.gender for the age and gender filters.

Rows that would break the new rules are repaired where that loses nothing, else the upgrade stops
with ``MigrationBlocked`` naming them: repeated root category names get their id appended
("Shoes (#8)"); reservations above on hand are capped at on hand with a ``release`` movement in
the ledger (so ``reserved`` stays the running sum of movements); repeated inventory rows, negative
old prices and malformed ticket numbers can only come from outside the app and are reported.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm.db import MigrationBlocked

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TICKET_NUMBER_FORMAT = (
    "length(ticket_number) = 14 AND substr(ticket_number, 1, 2) = 'CS' "
    "AND ltrim(substr(ticket_number, 3), '0123456789') = ''"
)
# How many offending rows a refusal names (enough to find the pattern, short enough for one line).
SHOWN_ROWS = 5


def _rename_repeated_names(connection: sa.Connection, table: str) -> None:
    """Append the id to every name that repeats an older sibling's name, so nothing is merged or lost."""
    repeated = connection.execute(
        sa.text(
            f"SELECT id, name FROM {table} AS later WHERE EXISTS (SELECT 1 FROM {table} AS earlier "
            "WHERE COALESCE(earlier.parent_id, 0) = COALESCE(later.parent_id, 0) "
            "AND earlier.name = later.name AND earlier.id < later.id) ORDER BY id"
        )
    ).all()
    for row_id, name in repeated:
        suffix = f" (#{row_id})"
        connection.execute(
            sa.text(f"UPDATE {table} SET name = :name WHERE id = :id"),
            {"name": name[: 120 - len(suffix)] + suffix, "id": row_id},
        )


def _cap_reservations(connection: sa.Connection) -> None:
    """Reserved above on hand cannot be delivered: release the excess through the ledger."""
    rows = connection.execute(
        sa.text(
            "SELECT id, product_id, variant_id, warehouse_id, on_hand, reserved FROM inventory "
            "WHERE reserved > on_hand ORDER BY id"
        )
    ).all()
    now = datetime.now(UTC).replace(tzinfo=None)
    for row in rows:
        connection.execute(
            sa.text(
                "INSERT INTO stock_movements (product_id, variant_id, warehouse_id, movement_type, quantity, "
                "note, created_at) VALUES (:product_id, :variant_id, :warehouse_id, 'release', :quantity, :note, :now)"
            ),
            {
                "product_id": row.product_id,
                "variant_id": row.variant_id,
                "warehouse_id": row.warehouse_id,
                "quantity": row.on_hand - row.reserved,
                "note": f"Upgrade 0002: {row.reserved} reserved but only {row.on_hand} on hand; excess released",
                "now": now,
            },
        )
        connection.execute(
            sa.text("UPDATE inventory SET reserved = on_hand, version = version + 1, updated_at = :now WHERE id = :id"),
            {"id": row.id, "now": now},
        )


def _problems(connection: sa.Connection) -> list[str]:
    problems = []
    twins = connection.execute(
        sa.text(
            "SELECT product_id, variant_id, warehouse_id, COUNT(*) AS copies FROM inventory "
            "GROUP BY product_id, variant_id, warehouse_id HAVING COUNT(*) > 1 "  # GROUP BY puts NULLs together
            "ORDER BY product_id, warehouse_id"
        )
    ).all()
    for row in twins[:SHOWN_ROWS]:
        variant = "no variant" if row.variant_id is None else f"variant {row.variant_id}"
        problems.append(
            f"inventory has {row.copies} rows for product {row.product_id} ({variant}) in warehouse "
            f"{row.warehouse_id}: keep one"
        )
    if len(twins) > SHOWN_ROWS:
        problems.append(f"{len(twins) - SHOWN_ROWS} more repeated inventory items")
    negative = (
        connection.execute(sa.text("SELECT id FROM price_history WHERE old_price < 0 ORDER BY id")).scalars().all()
    )
    if negative:
        problems.append(f"price_history rows {_ids(negative)} have a negative old_price")
    malformed = (
        connection.execute(sa.text(f"SELECT ticket_number FROM tickets WHERE NOT ({TICKET_NUMBER_FORMAT}) ORDER BY id"))
        .scalars()
        .all()
    )
    if malformed:
        problems.append(f"ticket numbers {_ids(malformed)} are not CS + YYYYMMDD + 4 digits")
    return problems


def _ids(values: list[object]) -> str:
    shown = ", ".join(str(value) for value in values[:SHOWN_ROWS])
    return shown + (f" and {len(values) - SHOWN_ROWS} more" if len(values) > SHOWN_ROWS else "")


def upgrade() -> None:
    connection = op.get_bind()
    problems = _problems(connection)
    if problems:
        raise MigrationBlocked(
            "Cannot upgrade the database schema (revision 0002): "
            + "; ".join(problems)
            + ". Fix these rows, then run `python -m crm init` again."
        )
    _rename_repeated_names(connection, "categories")
    _rename_repeated_names(connection, "kb_categories")
    _cap_reservations(connection)

    # On SQLite each batch recreates its table from its reflection (and that of the tables it points
    # at), which cannot see expression indexes: every batch runs first, the COALESCE indexes last.
    with op.batch_alter_table("categories") as batch_op:
        batch_op.drop_constraint("uq_categories_parent_name", type_="unique")
    with op.batch_alter_table("kb_categories") as batch_op:
        batch_op.drop_constraint("uq_kb_categories_parent_name", type_="unique")
    with op.batch_alter_table("inventory") as batch_op:
        batch_op.drop_constraint("uq_inventory_item_place", type_="unique")
        batch_op.create_check_constraint(op.f("ck_inventory_reserved_within_on_hand"), "reserved <= on_hand")
    with op.batch_alter_table("price_history") as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_price_history_old_price_non_negative"), "old_price IS NULL OR old_price >= 0"
        )
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.create_check_constraint(op.f("ck_tickets_ticket_number_format"), TICKET_NUMBER_FORMAT)
    op.create_index("uq_categories_parent_name", "categories", [sa.text("coalesce(parent_id, 0)"), "name"], unique=True)
    op.create_index(
        "uq_kb_categories_parent_name", "kb_categories", [sa.text("coalesce(parent_id, 0)"), "name"], unique=True
    )
    op.create_index(
        "uq_inventory_item_place",
        "inventory",
        ["product_id", sa.text("coalesce(variant_id, 0)"), "warehouse_id"],
        unique=True,
    )
    op.create_index(op.f("ix_customers_birth_date"), "customers", ["birth_date"])
    op.create_index(op.f("ix_customers_gender"), "customers", ["gender"])


def downgrade() -> None:
    op.drop_index(op.f("ix_customers_gender"), table_name="customers")
    op.drop_index(op.f("ix_customers_birth_date"), table_name="customers")
    op.drop_index("uq_inventory_item_place", table_name="inventory")
    op.drop_index("uq_kb_categories_parent_name", table_name="kb_categories")
    op.drop_index("uq_categories_parent_name", table_name="categories")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint(op.f("ck_tickets_ticket_number_format"), type_="check")
    with op.batch_alter_table("price_history") as batch_op:
        batch_op.drop_constraint(op.f("ck_price_history_old_price_non_negative"), type_="check")
    with op.batch_alter_table("inventory") as batch_op:
        batch_op.drop_constraint(op.f("ck_inventory_reserved_within_on_hand"), type_="check")
        batch_op.create_unique_constraint("uq_inventory_item_place", ["product_id", "variant_id", "warehouse_id"])
    with op.batch_alter_table("kb_categories") as batch_op:
        batch_op.create_unique_constraint("uq_kb_categories_parent_name", ["parent_id", "name"])
    with op.batch_alter_table("categories") as batch_op:
        batch_op.create_unique_constraint("uq_categories_parent_name", ["parent_id", "name"])
