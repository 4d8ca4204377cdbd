"""Saved segments: named rule trees, their members, and the writes that keep them (audited).

A segment is a name (unique), an optional description and a rule tree (crm.marketing.rules),
stored as canonical JSON in ``segments.rules_json``. Members are computed when asked, by ONE
SQL statement (crm.marketing.compiler), so a segment always reflects today's data; campaigns
snapshot members when they launch. Deleting a segment keeps its campaigns
(``campaigns.segment_id`` becomes NULL).

Every write takes an ``Actor``, needs ``Permission.MANAGE_SEGMENTS`` (analysts, managers,
admins) and writes its audit row in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from crm.audit import record_audit
from crm.exports import export_table
from crm.marketing.compiler import count_statement, members_statement, resolve_today, rule_source
from crm.marketing.rules import RuleTree, parse_rules, to_json_dict
from crm.permissions import Actor, Permission, require
from crm.schema import campaigns, customers, segments, utc_now
from crm.settings import get_settings

__all__ = [
    "MEMBER_COLUMNS",
    "NAME_MAX_LENGTH",
    "Segment",
    "SegmentError",
    "delete_segment",
    "export_segment_members",
    "get_segment",
    "list_segments",
    "rename_segment",
    "save_segment",
    "segment_count",
    "segment_members",
    "segment_sample",
    "update_segment",
]

NAME_MAX_LENGTH = 120
# Columns of the member sample and of the members download (personal data).
MEMBER_COLUMNS = [
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "country",
    "source",
    "customer_type",
    "status",
    "loyalty_points",
    "marketing_consent",
]


class SegmentError(ValueError):
    """A segment write that cannot be done (name taken or empty, segment not found, changed meanwhile)."""


@dataclass(frozen=True)
class Segment:
    """One saved segment; ``rules`` is the nested JSON rule tree as Python objects."""

    id: int
    name: str
    description: str | None
    rules: dict[str, Any]
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    version: int
    # Campaigns that target this segment (launched or not).
    campaign_count: int = 0

    @property
    def tree(self) -> RuleTree:
        """The parsed rules (``RuleError`` when a stored row is not a valid rule)."""
        return parse_rules(self.rules)


def _tree(rules: Any) -> RuleTree:
    if isinstance(rules, (dict, str, bytes)):
        return parse_rules(rules)
    return rules  # already parsed


def _timezone_name() -> str:
    return get_settings().timezone_name


# --- reading members ---------------------------------------------------------------------------
def segment_members(
    engine: Engine, rules: dict[str, Any] | RuleTree, *, as_of: date | None = None, timezone_name: str | None = None
) -> list[int]:
    """Ids of the customers matching ``rules`` (ascending), by one SQL statement.

    ``as_of`` sets "today" for relative fields (age, days since …) and hides nothing; default:
    today in CRM_TIMEZONE. ``RuleError`` for a bad rule.
    """
    zone = timezone_name or _timezone_name()
    statement = members_statement(
        _tree(rules), today=resolve_today(as_of, zone), timezone_name=zone, dialect_name=engine.dialect.name
    )
    with engine.connect() as connection:
        return [int(value) for value in connection.execute(statement).scalars()]


def segment_count(
    engine: Engine, rules: dict[str, Any] | RuleTree, *, as_of: date | None = None, timezone_name: str | None = None
) -> int:
    """How many customers match ``rules`` (the live count of the builder)."""
    zone = timezone_name or _timezone_name()
    statement = count_statement(
        _tree(rules), today=resolve_today(as_of, zone), timezone_name=zone, dialect_name=engine.dialect.name
    )
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


def _member_rows(
    engine: Engine,
    rules: dict[str, Any] | RuleTree,
    *,
    as_of: date | None,
    limit: int | None,
    timezone_name: str | None,
) -> pd.DataFrame:
    zone = timezone_name or _timezone_name()
    source, condition = rule_source(
        _tree(rules), today=resolve_today(as_of, zone), timezone_name=zone, dialect_name=engine.dialect.name
    )
    c = customers.c
    statement = (
        select(*(c.id if column == "customer_id" else c[column] for column in MEMBER_COLUMNS))
        .select_from(source)
        .where(condition)
        .order_by(c.id)
    )
    if limit is not None:
        statement = statement.limit(max(0, int(limit)))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=MEMBER_COLUMNS)
    frame["marketing_consent"] = frame["marketing_consent"].astype(bool)
    return frame


def segment_sample(
    engine: Engine,
    rules: dict[str, Any] | RuleTree,
    *,
    limit: int | None = 20,
    as_of: date | None = None,
    timezone_name: str | None = None,
) -> pd.DataFrame:
    """The first ``limit`` members (all with None), by id, with contact columns: ``MEMBER_COLUMNS``."""
    return _member_rows(engine, rules, as_of=as_of, limit=limit, timezone_name=timezone_name)


def export_segment_members(
    engine: Engine,
    actor: Actor,
    rules: dict[str, Any] | RuleTree,
    *,
    file_format: str,
    name: str = "segment_members",
    as_of: date | None = None,
) -> bytes:
    """All members as CSV/XLSX through crm.exports (formula-safe, personal data permission, audited)."""
    require(actor, Permission.EXPORT_PERSONAL_DATA)
    frame = _member_rows(engine, rules, as_of=as_of, limit=None, timezone_name=None)
    return export_table(engine, frame, file_format=file_format, actor=actor, name=name, personal=True)


# --- reading saved segments ----------------------------------------------------------------
def _campaign_counts() -> Any:
    return (
        select(campaigns.c.segment_id, func.count(campaigns.c.id).label("campaign_count"))
        .where(campaigns.c.segment_id.is_not(None))
        .group_by(campaigns.c.segment_id)
        .subquery("campaign_counts")
    )


def _segment(row: Any) -> Segment:
    try:
        rules = json.loads(row.rules_json)
    except (TypeError, ValueError):
        rules = {}
    return Segment(
        id=int(row.id),
        name=row.name,
        description=row.description,
        rules=rules if isinstance(rules, dict) else {},
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=int(row.version),
        campaign_count=int(row.campaign_count or 0),
    )


def _segments_query() -> Any:
    counts = _campaign_counts()
    return select(*segments.c, counts.c.campaign_count).select_from(
        segments.outerjoin(counts, counts.c.segment_id == segments.c.id)
    )


def list_segments(engine: Engine) -> list[Segment]:
    """Every saved segment, by name."""
    with engine.connect() as connection:
        rows = connection.execute(_segments_query().order_by(segments.c.name)).all()
    return [_segment(row) for row in rows]


def get_segment(engine: Engine, segment_id_or_name: int | str) -> Segment:
    """One saved segment by id (int, or digits) or by exact name; ``SegmentError`` when there is none."""
    query = _segments_query()
    if isinstance(segment_id_or_name, int):
        query = query.where(segments.c.id == segment_id_or_name)
    else:
        query = query.where(segments.c.name == segment_id_or_name.strip())
    with engine.connect() as connection:
        row = connection.execute(query).first()
        if row is None and isinstance(segment_id_or_name, str) and segment_id_or_name.strip().isdigit():
            row = connection.execute(_segments_query().where(segments.c.id == int(segment_id_or_name))).first()
    if row is None:
        raise SegmentError(f"No segment {segment_id_or_name!r}.")
    return _segment(row)


# --- writes ------------------------------------------------------------------------------------
def _clean_name(name: str) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise SegmentError("A segment needs a name.")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise SegmentError(f"A segment name has at most {NAME_MAX_LENGTH} characters ({len(cleaned)} given).")
    return cleaned


def _name_taken(connection: Connection, name: str, *, other_than: int | None = None) -> bool:
    query = select(segments.c.id).where(func.lower(segments.c.name) == name.lower())
    if other_than is not None:
        query = query.where(segments.c.id != other_than)
    return connection.execute(query).first() is not None


def _canonical(rules: Any) -> tuple[dict[str, Any], str]:
    tree = _tree(rules)
    canonical = to_json_dict(tree)
    return canonical, json.dumps(canonical, ensure_ascii=False, sort_keys=True)


def _row_values(connection: Connection, segment_id: int) -> dict[str, Any]:
    row = connection.execute(select(segments).where(segments.c.id == segment_id)).mappings().first()
    if row is None:
        raise SegmentError(f"No segment #{segment_id}.")
    return dict(row)


def _audit_view(values: dict[str, Any]) -> dict[str, Any]:
    return {key: values[key] for key in ("name", "description", "rules_json", "version") if key in values}


def save_segment(
    engine: Engine, actor: Actor, name: str, rules: dict[str, Any] | str, description: str | None = None
) -> int:
    """Save a new segment and return its id. ``SegmentError`` (name empty/taken), ``RuleError`` (bad rules)."""
    require(actor, Permission.MANAGE_SEGMENTS)
    cleaned = _clean_name(name)
    _rules, rules_text = _canonical(rules)
    description = (description or "").strip() or None
    now = utc_now()
    try:
        with engine.begin() as connection:
            if _name_taken(connection, cleaned):
                raise SegmentError(f"A segment named “{cleaned}” already exists; choose another name.")
            values = {
                "name": cleaned,
                "description": description,
                "rules_json": rules_text,
                "created_by": actor.user_id,
                "created_at": now,
                "updated_at": now,
            }
            segment_id = int(connection.execute(segments.insert().values(**values)).inserted_primary_key[0])
            record_audit(connection, actor, "create", "segments", segment_id, after=_audit_view(values))
    except IntegrityError:  # a concurrent save took the name between the check and the insert
        raise SegmentError(f"A segment named “{cleaned}” already exists; choose another name.") from None
    return segment_id


def birthday_rules(month: int) -> dict[str, list[dict[str, object]]]:
    """Segment rules in the nested format: customers born in ``month`` (1–12)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, not {month}.")
    return {"all": [{"field": "birthday_month", "op": "=", "value": month}]}


def save_birthday_segment(engine: Engine, actor: Actor, name: str, month: int) -> int:
    """Save (or refresh the rules of) the segment "customers born in ``month``" under ``name``; its id.

    The Overview's one-click birthday segment: saving it again in another year finds it by name.
    """
    rules = birthday_rules(month)
    try:
        existing = get_segment(engine, name.strip())
    except SegmentError:
        return save_segment(engine, actor, name, rules, f"Customers whose birthday is in month {month}.")
    return update_segment(engine, actor, existing.id, rules=rules).id


def update_segment(
    engine: Engine,
    actor: Actor,
    segment_id: int,
    *,
    name: str | None = None,
    rules: dict[str, Any] | str | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> Segment:
    """Change a segment's name, rules and/or description (only what is given); audited.

    ``expected_version`` (the version the user saw) refuses the change when someone else saved
    in between.
    """
    require(actor, Permission.MANAGE_SEGMENTS)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if rules is not None:
        changes["rules_json"] = _canonical(rules)[1]
    if description is not None:
        changes["description"] = description.strip() or None
    try:
        with engine.begin() as connection:
            before = _row_values(connection, segment_id)
            if expected_version is not None and before["version"] != expected_version:
                raise SegmentError(
                    f"Segment “{before['name']}” was changed by someone else meanwhile; reload it and try again."
                )
            if "name" in changes and _name_taken(connection, changes["name"], other_than=segment_id):
                raise SegmentError(f"A segment named “{changes['name']}” already exists; choose another name.")
            changes = {key: value for key, value in changes.items() if before[key] != value}
            if changes:
                changes["updated_at"] = utc_now()
                changes["version"] = before["version"] + 1
                result = connection.execute(
                    segments.update()
                    .where(segments.c.id == segment_id, segments.c.version == before["version"])
                    .values(**changes)
                )
                if result.rowcount != 1:
                    raise SegmentError(f"Segment “{before['name']}” was changed by someone else meanwhile.")
                record_audit(
                    connection,
                    actor,
                    "update",
                    "segments",
                    segment_id,
                    before=_audit_view({key: before[key] for key in changes if key in before}),
                    after=_audit_view(changes),
                )
    except IntegrityError:
        raise SegmentError(f"A segment named “{changes.get('name')}” already exists; choose another name.") from None
    return get_segment(engine, segment_id)


def rename_segment(engine: Engine, actor: Actor, segment_id: int, new_name: str) -> Segment:
    """Give a segment another (unique) name."""
    return update_segment(engine, actor, segment_id, name=new_name)


def delete_segment(engine: Engine, actor: Actor, segment_id: int) -> None:
    """Delete a segment; its campaigns are kept (their segment becomes empty). Audited."""
    require(actor, Permission.MANAGE_SEGMENTS)
    with engine.begin() as connection:
        before = _row_values(connection, segment_id)
        # Explicit, so the campaigns survive on engines or connections without FK actions too.
        connection.execute(campaigns.update().where(campaigns.c.segment_id == segment_id).values(segment_id=None))
        connection.execute(segments.delete().where(segments.c.id == segment_id))
        record_audit(connection, actor, "delete", "segments", segment_id, before=_audit_view(before))
