"""The audit log: who created, changed, deleted, imported, merged or exported what, and when."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from crm.permissions import Actor
from crm.schema import audit_log, utc_now

__all__ = ["record_audit", "to_json"]


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
