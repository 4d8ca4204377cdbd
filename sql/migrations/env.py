"""Alembic environment: migrations run on the engine handed over by crm.db.init_database.

Run from the command line with ``python -m crm init`` (alembic's own CLI works too:
``alembic -c sql/alembic.ini upgrade head`` uses CRM_DATABASE_URL).
"""

from __future__ import annotations

from alembic import context

from crm.db import make_engine
from crm.schema import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can't ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
