"""Saving a grid's edits: ``apply_edits`` validates ``st.data_editor``'s changes and writes them.

The grid's own column limits only run in the browser; here every value is checked again
(type, allowed values, required, non-negative money, referenced rows exist, unique keys
free) and every problem is reported with the row and the field. All changes of one save
go in ONE transaction: either all are written, with an audit row each, or none.
Updates and deletes carry the ``version`` the user saw (optimistic locking): if someone
else changed or deleted the row meanwhile, the save is refused and nothing is written.
A row that other rows still reference is never deleted silently; the message says by what.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, String, Table, func, select
from sqlalchemy.exc import IntegrityError

from crm.audit import record_audit
from crm.contacts import email_problem
from crm.permissions import Actor, Permission, require
from crm.records.entities import EntitySpec, Field, entity_spec
from crm.records.hooks import EntityHooks, Plan, hooks_for
from crm.records.inventory import StockError
from crm.records.orders import OrderError
from crm.schema import metadata, utc_now
from crm.vocabulary import code_label, to_code

__all__ = ["EditOutcome", "apply_edits", "empty_changes", "has_changes"]

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Numeric(12, 2): ten digits before the decimal point.
MONEY_LIMIT = Decimal("10000000000")


@dataclass(frozen=True)
class EditOutcome:
    """What one save did, or why it did nothing (``problems``; ``conflict`` for version clashes)."""

    created: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    deleted: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()
    conflict: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return "Nothing was saved."
        parts = [
            f"{len(ids)} {word}"
            for ids, word in ((self.created, "added"), (self.updated, "updated"), (self.deleted, "deleted"))
            if ids
        ]
        return "Saved: " + ", ".join(parts) + "." if parts else "No changes to save."


class _RejectedError(Exception):
    def __init__(self, problems: Sequence[str], *, conflict: bool = False) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)
        self.conflict = conflict


def empty_changes() -> dict[str, Any]:
    return {"edited_rows": {}, "added_rows": [], "deleted_rows": []}


def has_changes(changes: Mapping[str, Any] | None) -> bool:
    """True when a data_editor state holds any edit, added row or deleted row."""
    if not changes:
        return False
    edited = changes.get("edited_rows") or {}
    added = [row for row in changes.get("added_rows") or [] if any(not _is_empty(v) for v in row.values())]
    return bool(any(edited.values()) or added or changes.get("deleted_rows"))


# --- value coercion ----------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _max_length(spec: EntitySpec, field: Field) -> int | None:
    column_type = spec.table.c[field.column].type
    return column_type.length if isinstance(column_type, String) else None


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def _integer(value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError
    return int(number)


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        value = value.strip()
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(UTC).tz_localize(None)
    return stamp.to_pydatetime()


def _coerce(spec: EntitySpec, field: Field, raw: Any) -> Any:
    """The value to store for ``raw`` typed into ``field``; raises ``ValueError(message)``."""
    if isinstance(raw, str) and "\x00" in raw:
        # PostgreSQL cannot store it and SQLite would keep an invisible character: refuse, like any bad value.
        raise ValueError("contains a NUL character (\\x00), which cannot be stored; remove it.")
    if _is_empty(raw):
        return None
    kind = field.kind
    if kind in ("text", "email", "enum", "lookup"):
        text = str(raw).strip()
        limit = _max_length(spec, field)
        if limit is not None and len(text) > limit:
            raise ValueError(f"is {len(text)} characters long; at most {limit} fit.")
        if kind == "email" and (email_problem(text) or not EMAIL_PATTERN.match(text)):
            raise ValueError(f"{text!r} is not an email address. {email_problem(text) or 'It needs a domain.'}")
        if kind == "enum":
            # One vocabulary: "Credit Card" or "credit-card" is the code credit_card.
            code = to_code(text, field.choices)
            if code not in field.choices:
                allowed = ", ".join(code_label(choice).lower() for choice in field.choices)
                raise ValueError(f"{text!r} is not allowed; choose one of {allowed}.")
            return code
        return text
    if kind in ("int", "ref"):
        try:
            number = _integer(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number.") from None
        if (field.non_negative or kind == "ref") and number < 0:
            raise ValueError(f"{number} is negative; it must be 0 or more.")
        return number
    if kind in ("money", "decimal"):
        try:
            number = _decimal(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number.") from None
        scale = getattr(spec.table.c[field.column].type, "scale", None) or 2
        if number != number.quantize(Decimal(1).scaleb(-scale)):
            raise ValueError(f"{number} has more than {scale} decimals.")
        if field.non_negative and number < 0:
            raise ValueError(f"{number} is negative; it must be 0 or more.")
        if abs(number) >= MONEY_LIMIT:
            raise ValueError(f"{number} is too large.")
        return number.quantize(Decimal(1).scaleb(-scale))
    if kind == "date":
        try:
            return _datetime(raw).date() if not isinstance(raw, date) or isinstance(raw, datetime) else raw
        except (ValueError, TypeError):
            raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD).") from None
    if kind == "datetime":
        try:
            return _datetime(raw)
        except (ValueError, TypeError):
            raise ValueError(f"{raw!r} is not a date and time.") from None
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(f"{raw!r} is not true or false.")
    raise ValueError(f"has an unknown kind {kind!r}.")  # pragma: no cover - specs are static


# --- planning ------------------------------------------------------------------------------------


@dataclass
class _Row:
    label: str
    values: dict[str, Any]  # field name -> coerced value (lookups still as labels)
    record_id: int | None = None
    version: int | None = None


def _row_label(position: int, record_id: Any) -> str:
    return f"Row {position + 1} (id {record_id})"


def _shown_row(shown: pd.DataFrame, position: int) -> tuple[int, int | None]:
    row = shown.iloc[position]
    version = row["version"] if "version" in shown.columns else None
    return int(row["id"]), None if _is_empty(version) else int(version)


def _parse(
    spec: EntitySpec, shown: pd.DataFrame, changes: Mapping[str, Any]
) -> tuple[list[_Row], list[_Row], list[_Row], list[str]]:
    problems: list[str] = []
    editable = {field.name: field for field in spec.fields if field.editable}
    updates: list[_Row] = []
    for key, edits in sorted((changes.get("edited_rows") or {}).items(), key=lambda item: int(item[0])):
        position = int(key)
        if not edits:
            continue
        if not 0 <= position < len(shown):
            problems.append(f"Row {position + 1} is not on this page any more: reload and edit again.")
            continue
        record_id, version = _shown_row(shown, position)
        row = _Row(_row_label(position, record_id), {}, record_id, version)
        for name, raw in edits.items():
            field = editable.get(name)
            if field is None:
                problems.append(f"{row.label}, {name}: this column cannot be edited.")
                continue
            try:
                row.values[name] = _coerce(spec, field, raw)
            except ValueError as error:
                problems.append(f"{row.label}, {field.label}: {error}")
                continue
            if field.required and row.values[name] is None:
                problems.append(f"{row.label}, {field.label}: is required.")
        updates.append(row)
    inserts: list[_Row] = []
    added_rows = [row for row in changes.get("added_rows") or [] if any(not _is_empty(v) for v in row.values())]
    for number, added in enumerate(added_rows, start=1):
        row = _Row(f"New row {number}", {})
        for field in spec.fields:
            if not field.editable:
                continue
            raw = added.get(field.name)
            try:
                value = _coerce(spec, field, raw)
            except ValueError as error:
                problems.append(f"{row.label}, {field.label}: {error}")
                continue
            if value is None:
                value = field.default
            if field.required and value is None:
                problems.append(f"{row.label}, {field.label}: is required.")
            row.values[field.name] = value
        unknown = sorted(set(added) - set(editable) - {"id", "version"} - {d.name for d in spec.derived})
        unknown = [name for name in unknown if name in spec.column_names and not _is_empty(added[name])]
        problems.extend(f"{row.label}, {name}: is set automatically and cannot be entered." for name in unknown)
        inserts.append(row)
    deletes: list[_Row] = []
    for key in changes.get("deleted_rows") or []:
        position = int(key)
        if not 0 <= position < len(shown):
            problems.append(f"Row {position + 1} is not on this page any more: reload and delete again.")
            continue
        record_id, version = _shown_row(shown, position)
        deletes.append(_Row(_row_label(position, record_id), {}, record_id, version))
    return updates, inserts, deletes, problems


def _resolve_lookups(connection: Connection, spec: EntitySpec, rows: Sequence[_Row]) -> list[str]:
    """Replace lookup labels (brand names…) by ids, in place; unknown labels are problems."""
    problems: list[str] = []
    for field in spec.fields:
        if field.kind != "lookup" or field.target is None:
            continue
        labels = {row.values[field.name] for row in rows if row.values.get(field.name) is not None}
        if not labels:
            continue
        label_column = field.target.c[field.label_column]
        found: dict[str, list[int]] = defaultdict(list)
        for record_id, label in connection.execute(
            select(field.target.c.id, label_column).where(label_column.in_(labels))
        ):
            found[label].append(record_id)
        for row in rows:
            label = row.values.get(field.name)
            if label is None:
                continue
            ids = found.get(label, [])
            if len(ids) != 1:
                reason = "does not exist" if not ids else "is ambiguous (several rows have that name)"
                problems.append(f"{row.label}, {field.label}: {label!r} {reason}.")
            else:
                row.values[field.name] = ids[0]
    return problems


def _check_references(connection: Connection, spec: EntitySpec, rows: Sequence[_Row]) -> list[str]:
    problems: list[str] = []
    for field in spec.fields:
        if field.kind != "ref" or field.target is None:
            continue
        wanted = {row.values[field.name] for row in rows if row.values.get(field.name) is not None}
        if not wanted:
            continue
        existing = set(connection.execute(select(field.target.c.id).where(field.target.c.id.in_(wanted))).scalars())
        for row in rows:
            value = row.values.get(field.name)
            if value is not None and value not in existing:
                problems.append(f"{row.label}, {field.label}: {field.target.name} {value} does not exist.")
    return problems


def _unique_fields(spec: EntitySpec) -> list[Field]:
    return [field for field in spec.fields if spec.table.c[field.column].unique and field.kind != "lookup"]


def _check_unique(connection: Connection, spec: EntitySpec, rows: Sequence[_Row]) -> list[str]:
    problems: list[str] = []
    for field in _unique_fields(spec):
        column = spec.table.c[field.column]
        seen: dict[Any, str] = {}
        values = {row.values[field.name] for row in rows if row.values.get(field.name) is not None}
        taken = (
            dict(connection.execute(select(column, spec.table.c.id).where(column.in_(values))).all()) if values else {}
        )
        for row in rows:
            value = row.values.get(field.name)
            if value is None:
                continue
            owner = taken.get(value)
            if owner is not None and owner != row.record_id:
                problems.append(f"{row.label}, {field.label}: {value!r} is already used by id {owner}.")
            elif value in seen:
                problems.append(f"{row.label}, {field.label}: {value!r} is also entered in {seen[value]}.")
            seen[value] = row.label
    return problems


def _referencing(spec: EntitySpec) -> list[tuple[Table, Any]]:
    """(table, column) pairs whose foreign keys point at the entity's table, except ignored ones."""
    pairs = []
    for table in metadata.sorted_tables:
        if table.name in spec.delete_ignores:
            continue
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table is spec.table:
                pairs.append((table, foreign_key.parent))
    return pairs


def _reference_problems(connection: Connection, spec: EntitySpec, row: _Row) -> list[str]:
    uses = []
    for table, column in _referencing(spec):
        if table is spec.table and column.name == "id":
            continue
        count = connection.execute(select(func.count()).select_from(table).where(column == row.record_id)).scalar_one()
        if count:
            noun = table.name.replace("_", " ")
            uses.append(f"{count} {noun[:-1] if count == 1 and noun.endswith('s') else noun}")
    if not uses:
        return []
    advice = f" {spec.note}" if spec.note else ""
    return [f"{row.label}: {spec.singular} is still referenced by {', '.join(uses)}; it was not deleted.{advice}"]


def _db_values(spec: EntitySpec, values: Mapping[str, Any]) -> dict[str, Any]:
    return {spec.field(name).column: value for name, value in values.items()}


def _row_values(connection: Connection, table: Table, record_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(table).where(table.c.id == record_id)).mappings().first()
    return None if row is None else dict(row)


def _conflict(spec: EntitySpec, row: _Row, current: dict[str, Any] | None) -> str:
    if current is None:
        return f"{row.label}: this {spec.singular.lower()} was deleted by someone else meanwhile. Reload the page."
    return (
        f"{row.label}: this {spec.singular.lower()} was changed by someone else since you loaded it "
        f"(version {row.version}, now {current['version']}). Reload the page and apply your change again."
    )


# --- the save --------------------------------------------------------------------------------------


def apply_edits(
    engine: Engine,
    entity: str | EntitySpec,
    shown: pd.DataFrame,
    changes: Mapping[str, Any],
    actor: Actor,
) -> EditOutcome:
    """Validate and save one grid's changes in one transaction.

    ``shown``: the page of rows the grid displayed (from ``list_records``; its ``id`` and
    ``version`` columns identify the rows). ``changes``: the data_editor state
    ``{"edited_rows": {position: {column: value}}, "added_rows": [{column: value}],
    "deleted_rows": [position]}``. Raises ``PermissionDeniedError`` if the actor may not
    edit (or delete, or for tickets manage tickets); every other refusal is an ``EditOutcome`` with ``problems``.
    """
    spec = entity_spec(entity)
    updates, inserts, deletes, problems = _parse(spec, shown, changes)
    if updates or inserts:
        require(actor, Permission.EDIT_RECORDS)
    if deletes:
        require(actor, Permission.DELETE_RECORDS)
    if spec.name == "tickets" and (updates or inserts or deletes):
        require(actor, Permission.MANAGE_TICKETS)  # tickets are agents' own work, beyond editing records
    if updates and not spec.can_edit:
        problems.insert(0, f"{spec.title} cannot be edited. {spec.note}".strip())
    if inserts and not spec.can_add:
        problems.insert(0, f"{spec.title} cannot be added here. {spec.note}".strip())
    if deletes and not spec.can_delete:
        problems.insert(0, f"{spec.title} cannot be deleted. {spec.note}".strip())
    if not (updates or inserts or deletes) or (updates and not spec.can_edit) or (inserts and not spec.can_add):
        return EditOutcome(problems=tuple(problems))
    if deletes and not spec.can_delete:
        return EditOutcome(problems=tuple(problems))
    try:
        with engine.begin() as connection:
            # Value problems found so far are reported together with the checks that need the database.
            return _save(connection, spec, hooks_for(spec.name), updates, inserts, deletes, actor, problems)
    except _RejectedError as rejected:
        return EditOutcome(problems=rejected.problems, conflict=rejected.conflict)
    except (OrderError, StockError) as error:
        return EditOutcome(problems=tuple(str(error).splitlines()))
    except IntegrityError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return EditOutcome(problems=(f"The database refused the change: {reason}",))


def _save(
    connection: Connection,
    spec: EntitySpec,
    hooks: EntityHooks,
    updates: list[_Row],
    inserts: list[_Row],
    deletes: list[_Row],
    actor: Actor,
    problems: list[str],
) -> EditOutcome:
    table = spec.table
    writing = [*updates, *inserts]
    problems += _resolve_lookups(connection, spec, writing)
    problems += _check_references(connection, spec, writing)
    problems += _check_unique(connection, spec, writing)
    # Optimistic locking: every updated or deleted row must still have the version the user saw.
    befores: dict[int, dict[str, Any]] = {}
    conflicts = []
    for row in [*updates, *deletes]:
        assert row.record_id is not None
        current = _row_values(connection, table, row.record_id)
        if current is None or (row.version is not None and current.get("version") != row.version):
            conflicts.append(_conflict(spec, row, current))
        else:
            befores[row.record_id] = current
    if conflicts:
        raise _RejectedError(conflicts, conflict=True)
    for row in updates:
        merged = befores[row.record_id] | _db_values(spec, row.values)
        problems += [f"{row.label}: {problem}" for problem in hooks.validate(connection, merged)]
    for row in inserts:
        problems += [f"{row.label}: {problem}" for problem in hooks.validate(connection, _db_values(spec, row.values))]
    for row in deletes:
        problems += _reference_problems(connection, spec, row)
        problems += [f"{row.label}: {problem}" for problem in hooks.before_delete(connection, befores[row.record_id])]
    if problems:
        raise _RejectedError(problems)

    plan = Plan(
        updates=[(row.record_id, _db_values(spec, row.values)) for row in updates if row.record_id is not None],
        inserts=[_db_values(spec, row.values) for row in inserts],
        deletes=[row.record_id for row in deletes if row.record_id is not None],
    )
    context = hooks.prepare(connection, plan)
    has_version = "version" in table.c
    now = utc_now()
    try:
        for row in deletes:
            statement = table.delete().where(table.c.id == row.record_id)
            if has_version and row.version is not None:
                statement = statement.where(table.c.version == row.version)
            if connection.execute(statement).rowcount != 1:
                raise _RejectedError(
                    [_conflict(spec, row, _row_values(connection, table, row.record_id))], conflict=True
                )
            record_audit(connection, actor, "delete", spec.name, row.record_id, before=befores[row.record_id])
        for row in updates:
            before = befores[row.record_id]
            values = _db_values(spec, row.values)
            values |= hooks.normalize(connection, values, before, actor)
            changed = {column: value for column, value in values.items() if before.get(column) != value}
            if not changed:
                continue
            stamped = dict(changed)
            if has_version:
                stamped["version"] = table.c.version + 1
            if "updated_at" in table.c:
                stamped["updated_at"] = now
            statement = table.update().where(table.c.id == row.record_id).values(**stamped)
            if has_version:
                statement = statement.where(table.c.version == before["version"])
            if connection.execute(statement).rowcount != 1:
                raise _RejectedError(
                    [_conflict(spec, row, _row_values(connection, table, row.record_id))], conflict=True
                )
            hooks.after_update(connection, row.record_id, before, changed, actor)
            record_audit(
                connection,
                actor,
                "update",
                spec.name,
                row.record_id,
                before={column: before.get(column) for column in changed},
                after=changed,
            )
        created = []
        for row in inserts:
            values = {column: value for column, value in _db_values(spec, row.values).items() if value is not None}
            values |= hooks.normalize(connection, values, None, actor)
            if "created_at" in table.c:
                values.setdefault("created_at", now)
            if "updated_at" in table.c:
                values.setdefault("updated_at", now)
            new_id = connection.execute(table.insert().values(**values)).inserted_primary_key[0]
            hooks.after_insert(connection, new_id, values, actor)
            record_audit(connection, actor, "create", spec.name, new_id, after=values)
            created.append(new_id)
        hooks.finish(connection, context, actor)
    except ValueError as error:
        if isinstance(error, (OrderError, StockError)):
            raise
        raise _RejectedError([str(error)]) from None
    return EditOutcome(
        created=tuple(created),
        updated=tuple(row.record_id for row in updates if row.record_id is not None),
        deleted=tuple(row.record_id for row in deletes if row.record_id is not None),
    )
