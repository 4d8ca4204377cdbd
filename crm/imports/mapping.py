"""Column mapping: suggestions from header names, validation, and saved mappings.

A mapping is ``{file column: field name or "ignore"}``. Suggestions compare normalised
headers with each field's synonyms (English, Chinese, Korean, Japanese): first exact
matches, then headers that contain a synonym ("Customer E-mail" -> email). Each field
is suggested for one column at most; the user can override any of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Engine, select

from crm.audit import record_audit
from crm.imports.fields import IGNORE, fields_for, normalise_header
from crm.permissions import Actor, Permission, require
from crm.schema import import_mappings, utc_now

__all__ = ["check_mapping", "delete_mapping", "list_mappings", "load_mapping", "save_mapping", "suggest_mapping"]

# Contained synonyms shorter than this are too ambiguous ("id" is inside "paid").
_MIN_CONTAINED_LATIN = 4
_MIN_CONTAINED_OTHER = 2


def _contained_synonym_ok(synonym: str) -> bool:
    return len(synonym) >= (_MIN_CONTAINED_LATIN if synonym.isascii() else _MIN_CONTAINED_OTHER)


def suggest_mapping(columns: Iterable[str], entity: str) -> dict[str, str]:
    """Best-guess field for every column of the file (``"ignore"`` when nothing fits)."""
    specs = list(fields_for(entity).values())
    columns = list(columns)
    headers = {column: normalise_header(column) for column in columns}
    suggestion = dict.fromkeys(columns, IGNORE)
    taken: set[str] = set()
    # Pass 1: exact synonym matches, in field order; pass 2: a synonym inside the header.
    for exact in (True, False):
        for column in columns:
            if suggestion[column] != IGNORE or not headers[column]:
                continue
            for spec in specs:
                if spec.name in taken:
                    continue
                header = headers[column]
                if exact:
                    hit = header == normalise_header(spec.name) or header in spec.synonyms
                else:
                    hit = any(_contained_synonym_ok(synonym) and synonym in header for synonym in spec.synonyms)
                if hit:
                    suggestion[column] = spec.name
                    taken.add(spec.name)
                    break
    # First + last name columns make a full-name column redundant (and vice versa it stays).
    if {"first_name", "last_name"} <= taken and "full_name" in taken:
        for column, field in suggestion.items():
            if field == "full_name":
                suggestion[column] = IGNORE
    # Next to a family-name column, "name" is the given name: 성 + 이름, Surname + Name.
    if "last_name" in taken and "full_name" in taken and "first_name" not in taken:
        for column, field in suggestion.items():
            if field == "full_name":
                suggestion[column] = "first_name"
    return suggestion


def check_mapping(mapping: dict[str, str], entity: str, columns: Iterable[str] | None = None) -> list[str]:
    """Problems that make ``mapping`` unusable (unknown fields, one field twice, missing columns)."""
    known = fields_for(entity)
    problems = []
    used: dict[str, str] = {}
    for column, field in mapping.items():
        if field in (IGNORE, "", None):
            continue
        if field not in known:
            problems.append(f"Column “{column}”: {entity} have no field “{field}”.")
        elif field in used:
            problems.append(f"Columns “{used[field]}” and “{column}” are both mapped to {known[field].label}.")
        else:
            used[field] = column
    if columns is not None:
        present = set(columns)
        for column, field in mapping.items():
            if column not in present and field not in (IGNORE, "", None):
                problems.append(f"The file has no column “{column}” (mapped to {field}).")
    return problems


def save_mapping(engine: Engine, *, name: str, entity: str, mapping: dict[str, str], actor: Actor) -> None:
    """Store ``mapping`` under ``name`` for ``entity`` (replacing a mapping of that name)."""
    require(actor, Permission.IMPORT_DATA)
    fields_for(entity)
    name = name.strip()
    if not name:
        raise ValueError("Give the mapping a name.")
    payload = json.dumps(mapping, ensure_ascii=False, sort_keys=True)
    with engine.begin() as connection:
        existing = connection.execute(
            select(import_mappings.c.id, import_mappings.c.mapping_json).where(
                import_mappings.c.entity == entity, import_mappings.c.name == name
            )
        ).first()
        if existing is None:
            new_id = connection.execute(
                import_mappings.insert().values(
                    name=name, entity=entity, mapping_json=payload, created_at=utc_now(), updated_at=utc_now()
                )
            ).inserted_primary_key[0]
            record_audit(connection, actor, "create", "import_mappings", new_id, after={"name": name, **mapping})
        else:
            connection.execute(
                import_mappings.update()
                .where(import_mappings.c.id == existing.id)
                .values(mapping_json=payload, updated_at=utc_now(), version=import_mappings.c.version + 1)
            )
            record_audit(
                connection,
                actor,
                "update",
                "import_mappings",
                existing.id,
                before=json.loads(existing.mapping_json),
                after=mapping,
            )


def list_mappings(engine: Engine, entity: str) -> list[str]:
    """Names of the saved mappings of ``entity``, alphabetically."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(import_mappings.c.name)
                .where(import_mappings.c.entity == entity)
                .order_by(import_mappings.c.name)
            ).scalars()
        )


def load_mapping(engine: Engine, entity: str, name: str) -> dict[str, str]:
    """The saved mapping ``name`` of ``entity``; ``KeyError`` when there is none."""
    with engine.connect() as connection:
        payload = connection.execute(
            select(import_mappings.c.mapping_json).where(
                import_mappings.c.entity == entity, import_mappings.c.name == name
            )
        ).scalar_one_or_none()
    if payload is None:
        raise KeyError(f"No saved {entity} mapping called “{name}”.")
    return json.loads(payload)


def delete_mapping(engine: Engine, entity: str, name: str, *, actor: Actor) -> None:
    require(actor, Permission.IMPORT_DATA)
    with engine.begin() as connection:
        connection.execute(
            import_mappings.delete().where(import_mappings.c.entity == entity, import_mappings.c.name == name)
        )
        record_audit(connection, actor, "delete", "import_mappings", None, before={"entity": entity, "name": name})
