"""The audit log: who created, changed, deleted, imported, merged or exported what, and when."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, select

from crm.data_version import mark_data_changed
from crm.permissions import Actor, Permission, require
from crm.schema import audit_log, utc_now

__all__ = [
    "AUDIT_VIEWS",
    "DEFAULT_AUDIT_VIEW",
    "AuditChoices",
    "AuditQuery",
    "actions_in_view",
    "audit_choices",
    "audit_entries",
    "count_audit_entries",
    "entries_sentence",
    "export_audit",
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
    """Write one audit row inside the caller's transaction (so it commits or rolls back with the change).

    Every action but a sign-in or an export changed data: its commit bumps the data version
    (crm/data_version.py), so every app server recomputes on its next page run.
    """
    if action not in SIGN_IN_ACTIONS + EXPORT_ACTIONS:
        mark_data_changed(connection)
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

AUDIT_COLUMNS = ["id", "at", "username", "action", "entity", "entity_id", "before", "after"]
# Actions that record a sign-in or sign-out, and an export of data; every other action changes data.
SIGN_IN_ACTIONS = ("login", "logout")
EXPORT_ACTIONS = ("export",)
# What the Audit page shows, by kind of action: "changes" is its default, because sign-ins are most
# rows of a busy log and buried the changes; an action added later counts as a change.
AUDIT_VIEWS = {"changes": "Changes", "exports": "Exports", "sign-ins": "Sign-ins", "everything": "Everything"}
DEFAULT_AUDIT_VIEW = "changes"
# Rows read per query while exporting: bounded memory however big the log grows.
EXPORT_CHUNK_ROWS = 20_000
AUDIT_EXPORT_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the Audit page; every field narrows the log (None or empty: no restriction)."""

    username: str | None = None
    action: str | None = None
    entity: str | None = None
    # Inclusive UTC days of ``audit_log.at``.
    start_date: date | None = None
    end_date: date | None = None
    # The id of the changed row as logged (text: imported keys are ids too); exact match.
    entity_id: str | None = None
    # A kind of action (a key of AUDIT_VIEWS); "everything" restricts nothing.
    view: str = "everything"

    def clauses(self) -> list[Any]:
        clauses: list[Any] = _view_clauses(self.view)
        if self.username:
            clauses.append(audit_log.c.username == self.username)
        if self.action:
            clauses.append(audit_log.c.action == self.action)
        if self.entity:
            clauses.append(audit_log.c.entity == self.entity)
        if self.entity_id and str(self.entity_id).strip():
            clauses.append(audit_log.c.entity_id == str(self.entity_id).strip())
        if self.start_date is not None:
            clauses.append(audit_log.c.at >= datetime.combine(self.start_date, time.min))
        if self.end_date is not None:
            clauses.append(audit_log.c.at < datetime.combine(self.end_date + timedelta(days=1), time.min))
        return clauses


def _view_clauses(view: str) -> list[Any]:
    if view == "changes":
        return [audit_log.c.action.not_in(SIGN_IN_ACTIONS + EXPORT_ACTIONS)]
    if view == "exports":
        return [audit_log.c.action.in_(EXPORT_ACTIONS)]
    if view == "sign-ins":
        return [audit_log.c.action.in_(SIGN_IN_ACTIONS)]
    if view == "everything":
        return []
    raise ValueError(f"Unknown audit view “{view}” ({', '.join(AUDIT_VIEWS)}).")


def actions_in_view(view: str, actions: Sequence[str]) -> list[str]:
    """The ``actions`` (e.g. ``crm.schema.AUDIT_ACTIONS``) that ``view`` shows, in their order."""
    if view == "changes":
        return [action for action in actions if action not in SIGN_IN_ACTIONS + EXPORT_ACTIONS]
    if view == "exports":
        return [action for action in actions if action in EXPORT_ACTIONS]
    if view == "sign-ins":
        return [action for action in actions if action in SIGN_IN_ACTIONS]
    return list(actions)


def _entries_statement(query: AuditQuery) -> Select[Any]:
    return (
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
    )


def audit_entries(
    engine: Engine, actor: Actor, query: AuditQuery | None = None, *, limit: int | None = None
) -> pd.DataFrame:
    """The audit rows matching ``query``, newest first: all of them, or the newest ``limit``.

    Columns: id, at (UTC), username, action, entity, entity_id, before, after (JSON text of the
    changed values; empty for actions without values such as login).
    """
    require(actor, Permission.VIEW_AUDIT)
    statement = _entries_statement(query or AuditQuery())
    if limit is not None:
        statement = statement.limit(max(0, int(limit)))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=AUDIT_COLUMNS)


def count_audit_entries(engine: Engine, actor: Actor, query: AuditQuery | None = None) -> int:
    """How many audit rows match ``query`` (the page shows this, however few rows it draws)."""
    require(actor, Permission.VIEW_AUDIT)
    statement = select(func.count()).select_from(audit_log).where(*(query or AuditQuery()).clauses())
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def entries_sentence(total: int, *, shown: int) -> str:
    """The Audit page's caption: how many entries match, and whether its table shows only some."""
    sentence = f"{total:,} {'entry' if total == 1 else 'entries'}, newest first (times in UTC)."
    if total > shown:
        sentence += f" The table shows the newest {shown:,}; the downloads hold all {total:,}."
    return sentence


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


def _chunks(connection: Connection, query: AuditQuery) -> Iterator[pd.DataFrame]:
    """Every matching row, EXPORT_CHUNK_ROWS at a time (a server-side cursor on PostgreSQL)."""
    result = connection.execution_options(stream_results=True).execute(_entries_statement(query))
    while rows := result.fetchmany(EXPORT_CHUNK_ROWS):
        yield pd.DataFrame([tuple(row) for row in rows], columns=AUDIT_COLUMNS)


def export_audit(engine: Engine, actor: Actor, query: AuditQuery | None = None, *, file_format: str = "csv") -> bytes:
    """Every audit row matching ``query`` as CSV (UTF-8 with BOM, for Excel) or XLSX; the export is audited.

    Written with ``crm.exports``' writers, so no text cell can be run as a formula (see there).
    CSV is built chunk by chunk; XLSX holds what one Excel sheet can (``ValueError`` beyond
    that, naming the count).
    """
    # crm.exports writes its own audit rows with record_audit from this module: imported here.
    from crm.exports import EXCEL_MAX_DATA_ROWS, csv_chunk, table_bytes

    require(actor, Permission.VIEW_AUDIT)
    if file_format not in AUDIT_EXPORT_FORMATS:
        raise ValueError(f"Unknown audit export format “{file_format}” (csv or xlsx).")
    query = query or AuditQuery()
    rows = count_audit_entries(engine, actor, query) if file_format == "xlsx" else 0
    if rows > EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"{rows:,} audit entries do not fit in one Excel sheet; narrow the filters or use CSV.")
    with engine.connect() as connection:
        if file_format == "xlsx":
            chunks = list(_chunks(connection, query))
            frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=AUDIT_COLUMNS)
            data = table_bytes(frame, "xlsx", sheet_name="audit_log")
            rows = len(frame)
        else:
            buffer = io.BytesIO()
            buffer.write("\ufeff".encode())  # BOM: Excel then reads UTF-8 (accents, CJK) correctly
            for chunk in _chunks(connection, query):
                buffer.write(csv_chunk(chunk, header=rows == 0))
                rows += len(chunk)
            if rows == 0:
                buffer.write(csv_chunk(pd.DataFrame(columns=AUDIT_COLUMNS)))
            data = buffer.getvalue()
    with engine.begin() as connection:
        record_audit(
            connection,
            actor,
            "export",
            "audit_log",
            after={"format": file_format, "rows": rows, "filters": asdict(query)},
        )
    return data


def export_audit_csv(engine: Engine, actor: Actor, query: AuditQuery | None = None) -> bytes:
    """``export_audit`` as CSV (kept for callers of the CSV-only version)."""
    return export_audit(engine, actor, query, file_format="csv")
