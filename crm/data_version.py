"""The data version: one counter that changes whenever committed data changes.

Every app server puts it into its cache keys (crm/ui/cache.py), so a write committed by one
server (or by ``python -m crm import``) reaches every other server's next page run, instead of
waiting for their caches to expire.

How it moves: a transaction that changes data calls ``mark_data_changed(connection)``
(``crm.audit.record_audit`` does it for every action but sign-ins and exports, so each audited
write counts; writers that are not audited, such as the demo loader, call it themselves). The
counter is bumped by a commit hook, as the last statement before COMMIT:

* it becomes visible atomically with the data (same transaction), so a reader that sees the new
  version also sees the new rows, and a result cached under the old version is never reused;
* on PostgreSQL the counter row is locked only between that UPDATE and the COMMIT, never while the
  writer still takes other locks: concurrent writers cannot deadlock on it and wait microseconds;
* a rolled-back transaction bumps nothing.

``max(audit_log.id)`` was not used: sign-ins are audited and would invalidate every analytics
result, and on PostgreSQL ids come from a sequence in begin order, not commit order, so a slow
writer could commit an id below the maximum already seen (its change would never show).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, event, select

from crm.schema import data_version

__all__ = ["DATA_VERSION_ROW", "mark_data_changed", "read_data_version"]

# The id of the single counter row (inserted by migration 0014).
DATA_VERSION_ROW = 1
# Key in the DBAPI connection's info dict: set by mark_data_changed, consumed at commit or rollback.
_CHANGED = "crm_data_changed"
# Plain SQL, run on the DBAPI cursor inside the commit hook (no parameters: same text on both engines).
_BUMP = f"UPDATE data_version SET version = version + 1 WHERE id = {DATA_VERSION_ROW}"
_CREATE_ROW = f"INSERT INTO data_version (id, version) VALUES ({DATA_VERSION_ROW}, 1)"


def mark_data_changed(connection: Connection) -> None:
    """Bump the data version when ``connection``'s current transaction commits (at most once)."""
    connection.info[_CHANGED] = True


def read_data_version(engine: Engine) -> int:
    """The current data version of ``engine``'s database (0 before migration 0014 made its row)."""
    with engine.connect() as connection:
        value = connection.execute(
            select(data_version.c.version).where(data_version.c.id == DATA_VERSION_ROW)
        ).scalar_one_or_none()
    return int(value or 0)


@event.listens_for(Engine, "commit")
def _bump_on_commit(connection: Connection) -> None:
    if not connection.info.pop(_CHANGED, False):
        return
    # Still inside the transaction (the hook runs before COMMIT is sent); executed through SQLAlchemy so
    # a lost connection raises its OperationalError (one line for the user) and invalidates the connection.
    if connection.exec_driver_sql(_BUMP).rowcount == 0:  # a database made without migration 0014's row
        connection.exec_driver_sql(_CREATE_ROW)


@event.listens_for(Engine, "rollback")
def _forget_on_rollback(connection: Connection) -> None:
    # A connection lost mid-transaction is rolled back too; touching its info would try to reconnect.
    # A flag left behind at worst bumps the version once more later: an extra recompute, never a stale page.
    if connection.invalidated or connection.closed:
        return
    connection.info.pop(_CHANGED, None)
