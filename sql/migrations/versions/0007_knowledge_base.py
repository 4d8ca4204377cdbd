"""knowledge base

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 15:00:00

Articles get an author and a publication time, FAQ entries a pin, "was this helpful" votes their
table, and both articles and FAQ entries a full-text index in each engine's own kind:

* PostgreSQL: GIN indexes on the weighted tsvector expressions that ``crm.service.search_sql``
  queries (title/question weight A, body/answer weight B), so searches use the index;
* SQLite: FTS5 tables reading their text from kb_articles / faqs (external content), kept in step
  by triggers. A later migration that recreates kb_articles or faqs (a SQLite batch copy) drops
  their triggers with the old table and must create them again (``_create_sqlite_search``).

The DDL is written out here rather than imported, so this revision stays what it was when it ran.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, its FTS5 table, title column, body column)
_SEARCHED = (("kb_articles", "kb_articles_fts", "title", "body"), ("faqs", "faqs_fts", "question", "answer"))
_TOKENIZER = "porter unicode61 remove_diacritics 2"


def _postgres_vector(title: str, body: str) -> str:
    # Must stay character for character the expression crm.service.search_sql matches against.
    return (
        f"(setweight(to_tsvector('english'::regconfig, coalesce({title}, '')), 'A') || "
        f"setweight(to_tsvector('english'::regconfig, coalesce({body}, '')), 'B'))"
    )


def _create_sqlite_search() -> None:
    for table, fts, title, body in _SEARCHED:
        op.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({title}, {body}, "
            f"content='{table}', content_rowid='id', tokenize='{_TOKENIZER}')"
        )
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {fts}_after_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {title}, {body}) VALUES (new.id, new.{title}, new.{body}); END"
        )
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {fts}_after_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {title}, {body}) VALUES ('delete', old.id, old.{title}, old.{body}); "
            "END"
        )
        # Only text edits touch the index: view counts and publishing do not.
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {fts}_after_update AFTER UPDATE OF {title}, {body} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {title}, {body}) VALUES ('delete', old.id, old.{title}, old.{body}); "
            f"INSERT INTO {fts}(rowid, {title}, {body}) VALUES (new.id, new.{title}, new.{body}); END"
        )
        # Index the rows that exist already (demo data, or articles written before this revision).
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def upgrade() -> None:
    with op.batch_alter_table("kb_articles") as batch:
        batch.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key("fk_kb_articles_author_id_users", "users", ["author_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("faqs") as batch:
        batch.add_column(sa.Column("is_pinned", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "kb_article_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("voted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name="fk_kb_article_votes_article_id_kb_articles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_kb_article_votes_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_kb_article_votes"),
        sa.UniqueConstraint("article_id", "user_id", name="uq_kb_article_votes_article_user"),
    )
    # Published articles already in the database (the demo's) count as published when this ran.
    op.execute("UPDATE kb_articles SET published_at = updated_at WHERE is_published AND published_at IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        for table, _fts, title, body in _SEARCHED:
            op.execute(f"CREATE INDEX ix_{table}_search ON {table} USING gin ({_postgres_vector(title, body)})")
    else:
        _create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _fts, _title, _body in _SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
    else:
        for _table, fts, _title, _body in _SEARCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_after_{event}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    op.drop_table("kb_article_votes")
    with op.batch_alter_table("faqs") as batch:
        batch.drop_column("is_pinned")
    with op.batch_alter_table("kb_articles") as batch:
        batch.drop_constraint("fk_kb_articles_author_id_users", type_="foreignkey")
        batch.drop_column("published_at")
        batch.drop_column("author_id")
