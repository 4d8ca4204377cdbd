"""The audit log: who created, changed, deleted, imported, merged or exported what, and when."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select

from crm.permissions import Actor, Permission, require
from crm.schema import audit_log, utc_now

__all__ = [
    "AuditChoices",
    "AuditQuery",
    "audit_choices",
    "audit_entries",
    "export_audit_csv",
    "record_audit",
    "to_json",
]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def to_json(values: Mapping[str, Any] | None) -> str | None:
    """JSON text of a row's values (money as exact strings, datetimes as ISO)."""
    if values is None:
        return None
    return json.dumps(dict(values), default=_default, ensure_ascii=False, sort_keys=True)


def record_audit(
    connection: Connection,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object | None = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Write one audit row inside the caller's transaction (so it commits or rolls back with the change)."""
    connection.execute(
        audit_log.insert().values(
            at=utc_now(),
            user_id=actor.user_id,
            username=actor.username,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before_json=to_json(before),
            after_json=to_json(after),
        )
    )


# ---------------------------------------------------------------------------------------
# Reading the log (admin Audit page)

# Audit rows shown or exported at most at once; the filters narrow a bigger log.
MAX_AUDIT_ROWS = 50_000
AUDIT_COLUMNS = ["id", "at", "username", "action", "entity", "entity_id", "before", "after"]
# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the Audit page; every field narrows the log (None or empty: no restriction)."""

    username: str | None = None
    action: str | None = None
    entity: str | None = None
    # Inclusive UTC days of ``audit_log.at``.
    start_date: date | None = None
    end_date: date | None = None
    entity_id: str | None = None

    def clauses(self) -> list[Any]:
        clauses: list[Any] = []
        if self.username:
            clauses.append(audit_log.c.username == self.username)
        if self.action:
            clauses.append(audit_log.c.action == self.action)
        if self.entity:
            clauses.append(audit_log.c.entity == self.entity)
        if self.entity_id:
            clauses.append(audit_log.c.entity_id == str(self.entity_id))
        if self.start_date is not None:
            clauses.append(audit_log.c.at >= datetime.combine(self.start_date, time.min))
        if self.end_date is not None:
            clauses.append(audit_log.c.at < datetime.combine(self.end_date + timedelta(days=1), time.min))
        return clauses


def audit_entries(
    engine: Engine, actor: Actor, query: AuditQuery | None = None, *, limit: int = MAX_AUDIT_ROWS
) -> pd.DataFrame:
    """The newest audit rows matching ``query`` (at most ``limit``).

    Columns: id, at (UTC), username, action, entity, entity_id, before, after (JSON text of the
    changed values; empty for actions without values such as login).
    """
    require(actor, Permission.VIEW_AUDIT)
    query = query or AuditQuery()
    statement = (
        select(
            audit_log.c.id,
            audit_log.c.at,
            audit_log.c.username,
            audit_log.c.action,
            audit_log.c.entity,
            audit_log.c.entity_id,
            audit_log.c.before_json.label("before"),
            audit_log.c.after_json.label("after"),
        )
        .where(*query.clauses())
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=AUDIT_COLUMNS)


@dataclass(frozen=True)
class AuditChoices:
    usernames: list[str]
    entities: list[str]


def audit_choices(engine: Engine, actor: Actor) -> AuditChoices:
    """The usernames and entities that occur in the log (options of the Audit page filters)."""
    require(actor, Permission.VIEW_AUDIT)
    with engine.connect() as connection:
        usernames = connection.execute(select(audit_log.c.username).distinct().order_by(audit_log.c.username))
        entities = connection.execute(select(audit_log.c.entity).distinct().order_by(audit_log.c.entity))
        return AuditChoices(usernames=list(usernames.scalars()), entities=list(entities.scalars()))


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def export_audit_csv(engine: Engine, actor: Actor, query: AuditQuery | None = None) -> bytes:
    """CSV (UTF-8 with BOM, for Excel) of the matching audit rows; the export itself is audited.

    Text cells that a spreadsheet would run as a formula are prefixed with ``'``.
    """
    require(actor, Permission.VIEW_AUDIT)
    frame = audit_entries(engine, actor, query)
    safe = frame.astype(object).map(_safe_cell)
    with engine.begin() as connection:
        record_audit(
            connection,
            actor,
            "export",
            "audit_log",
            after={"rows": len(frame), "filters": asdict(query or AuditQuery())},
        )
    return safe.to_csv(index=False).encode("utf-8-sig")
