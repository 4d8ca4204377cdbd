"""Merging two customer records into one: suggestions, the field-by-field preview, the merge.

``suggest_pairs`` finds likely duplicates by the keys the importer uses (crm.contacts: normalised email,
E.164 phone in ``CRM_PHONE_REGION``) and by the same first + last name, ignoring case and outer spaces.
``merge_customers`` keeps the *survivor*: for each profile field the manager picks whose
value to keep, every row that points at the duplicate (orders, transactions, visits,
tickets, interactions, loyalty ledger, campaign memberships, and any later table with a
``customer_id`` key) moves to the survivor, and the duplicate is deleted — all in one
transaction, with one audit row on each of the two ids listing the ids moved per table.

Rules:
* campaign_recipients is unique per (campaign, customer): where both were in one campaign,
  the survivor's membership stays, taking the earliest sent/opened/clicked/converted time of
  the two, and the duplicate's is deleted (its id is in the audit row);
* loyalty points: the survivor's balance becomes the sum of both balances; its ledger then
  holds both ledgers, and if the balances did not equal their ledgers before, one adjustment
  row makes ``customers.loyalty_points`` equal the ledger sum again (so nothing is lost); a
  tier crossed by the new balance is recorded in the tier history;
* created_at becomes the earlier of the two (the customer has been known since then),
  last_contact_at the later; email/phone keys are recomputed from the kept values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, literal, select

from crm.audit import record_audit
from crm.contacts import email_key, phone_key
from crm.loyalty.tiers import read_tiers, record_tier_changes
from crm.permissions import Actor, Permission, require
from crm.schema import campaign_recipients, customers, loyalty_ledger, metadata, utc_now

__all__ = [
    "MERGE_FIELDS",
    "MergeError",
    "MergeOutcome",
    "MergePreview",
    "merge_customers",
    "merge_preview",
    "suggest_pairs",
]

# Profile fields the manager chooses between, in the order the preview lists them.
MERGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("address", "Address"),
    ("city", "City"),
    ("country", "Country"),
    ("birth_date", "Birth date"),
    ("gender", "Gender"),
    ("source", "Source"),
    ("customer_type", "Type"),
    ("status", "Status"),
    ("brand_id", "Brand"),
    ("tags", "Tags"),
    ("preferred_season", "Preferred season"),
    ("preferred_category_id", "Preferred category"),
    ("external_id", "External id"),
    ("notes", "Notes"),
)
RECIPIENT_TIMES = ("sent_at", "opened_at", "clicked_at", "converted_at")


class MergeError(ValueError):
    """The merge was refused; nothing changed."""


@dataclass(frozen=True)
class MergePreview:
    """Both records side by side.

    ``fields``: columns field, label, survivor, duplicate, differs, suggested ("survivor" when
    the survivor has a value, else "duplicate"); ``moving``: rows of the duplicate per table.
    """

    survivor: dict[str, Any]
    duplicate: dict[str, Any]
    fields: pd.DataFrame
    moving: dict[str, int]


@dataclass(frozen=True)
class MergeOutcome:
    survivor_id: int
    duplicate_id: int
    # Ids moved to the survivor, per table.
    moved: dict[str, list[int]]
    # Duplicate's campaign memberships dropped because the survivor was in the same campaign.
    dropped_recipients: list[int]
    loyalty_points: int

    def summary(self) -> str:
        parts = [f"{table.replace('_', ' ')} {len(ids)}" for table, ids in sorted(self.moved.items()) if ids]
        moved = ", ".join(parts) if parts else "nothing"
        return f"Merged customer {self.duplicate_id} into {self.survivor_id}. Rows moved or added: {moved}."


def _referencing_tables() -> list[tuple[Table, str]]:
    """Every (table, column) holding a customer id, from the metadata (new tables are covered too)."""
    found = []
    for table in metadata.sorted_tables:
        if table is customers:
            continue
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table is customers:
                found.append((table, foreign_key.parent.name))
    return found


def _name_key(table: Any) -> Any:
    return func.lower(func.trim(table.c.first_name)) + literal(" ") + func.lower(func.trim(table.c.last_name))


def _label(row: Any) -> str:
    name = " ".join(part for part in (row.first_name, row.last_name) if part) or row.company or ""
    return " · ".join(part for part in (name, row.email, row.phone) if part) or f"customer {row.id}"


def suggest_pairs(engine: Engine, *, limit: int = 50) -> pd.DataFrame:
    """Likely duplicate pairs, oldest record first: same email key, same phone key (crm.contacts), or same name.

    Columns: survivor_id, duplicate_id, survivor, duplicate (labels), reason ("same email",
    "same phone", "same name"; a pair matching several keys is listed once, first reason wins).
    Keys are grouped in SQL (GROUP BY … HAVING count > 1), so this stays fast on large tables.
    """
    keys = (
        ("same email", customers.c.email_normalized),
        ("same phone", customers.c.phone_normalized),
        ("same name", _name_key(customers)),
    )
    pairs: dict[tuple[int, int], str] = {}
    with engine.connect() as connection:
        for reason, key in keys:
            shared = (
                select(key.label("key"))
                .where(key.is_not(None), key != "", key != " ")
                .group_by(key)
                .having(func.count() > 1)
                .order_by(func.min(customers.c.id))
                .limit(limit)
            ).subquery()
            rows = connection.execute(
                select(customers.c.id, key.label("key")).where(key.in_(select(shared.c.key))).order_by(customers.c.id)
            ).all()
            first_of: dict[str, int] = {}
            for row in rows:
                first = first_of.setdefault(row.key, row.id)
                if first != row.id:
                    pairs.setdefault((first, row.id), reason)
        ids = sorted({customer_id for pair in pairs for customer_id in pair})
        labels = {
            row.id: _label(row)
            for row in connection.execute(
                select(
                    customers.c.id,
                    customers.c.first_name,
                    customers.c.last_name,
                    customers.c.company,
                    customers.c.email,
                    customers.c.phone,
                ).where(customers.c.id.in_(ids))
            )
        }
    listed = sorted(pairs.items())[:limit]
    return pd.DataFrame(
        [
            {"survivor_id": a, "duplicate_id": b, "survivor": labels[a], "duplicate": labels[b], "reason": reason}
            for (a, b), reason in listed
        ],
        columns=["survivor_id", "duplicate_id", "survivor", "duplicate", "reason"],
    )


def _customer(connection: Connection, customer_id: int) -> dict[str, Any]:
    row = connection.execute(select(customers).where(customers.c.id == customer_id)).mappings().first()
    if row is None:
        raise MergeError(f"Customer {customer_id} does not exist.")
    return dict(row)


def _moving_counts(connection: Connection, duplicate_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, column in _referencing_tables():
        count = connection.execute(
            select(func.count()).select_from(table).where(table.c[column] == duplicate_id)
        ).scalar_one()
        counts[table.name] = counts.get(table.name, 0) + int(count)
    return counts


def merge_preview(engine: Engine, survivor_id: int, duplicate_id: int) -> MergePreview:
    """The two records field by field, with a suggested choice, and what would move."""
    if survivor_id == duplicate_id:
        raise MergeError("Pick two different customers.")
    with engine.connect() as connection:
        survivor = _customer(connection, survivor_id)
        duplicate = _customer(connection, duplicate_id)
        moving = _moving_counts(connection, duplicate_id)
    rows = []
    for name, label in MERGE_FIELDS:
        kept, other = survivor[name], duplicate[name]
        rows.append(
            {
                "field": name,
                "label": label,
                "survivor": kept,
                "duplicate": other,
                "differs": kept != other,
                "suggested": "duplicate" if kept in (None, "") and other not in (None, "") else "survivor",
            }
        )
    return MergePreview(survivor=survivor, duplicate=duplicate, fields=pd.DataFrame(rows), moving=moving)


def _merge_recipients(connection: Connection, survivor_id: int, duplicate_id: int) -> tuple[list[int], list[int]]:
    """Move the duplicate's campaign memberships; where both were in a campaign keep one. Returns (moved, dropped)."""
    survivor_rows = {
        row.campaign_id: row
        for row in connection.execute(
            select(campaign_recipients).where(campaign_recipients.c.customer_id == survivor_id)
        )
    }
    moved: list[int] = []
    dropped: list[int] = []
    for row in connection.execute(
        select(campaign_recipients).where(campaign_recipients.c.customer_id == duplicate_id)
    ).all():
        kept = survivor_rows.get(row.campaign_id)
        if kept is None:
            connection.execute(
                campaign_recipients.update().where(campaign_recipients.c.id == row.id).values(customer_id=survivor_id)
            )
            moved.append(row.id)
            continue
        earliest = {
            name: min(moment for moment in (getattr(kept, name), getattr(row, name)) if moment is not None)
            for name in RECIPIENT_TIMES
            if getattr(kept, name) is not None or getattr(row, name) is not None
        }
        connection.execute(campaign_recipients.delete().where(campaign_recipients.c.id == row.id))
        if earliest:
            connection.execute(
                campaign_recipients.update().where(campaign_recipients.c.id == kept.id).values(**earliest)
            )
        dropped.append(row.id)
    return moved, dropped


def _keys(values: dict[str, Any]) -> dict[str, Any]:
    """The duplicate-detection keys of the kept email and phone (crm.contacts: the grid's and the importer's)."""
    return {"email_normalized": email_key(values.get("email")), "phone_normalized": phone_key(values.get("phone"))}


def _ledger_sum(connection: Connection, customer_id: int) -> int:
    return int(
        connection.execute(
            select(func.coalesce(func.sum(loyalty_ledger.c.points), 0)).where(
                loyalty_ledger.c.customer_id == customer_id
            )
        ).scalar_one()
    )


def merge_customers(
    engine: Engine,
    actor: Actor,
    survivor_id: int,
    duplicate_id: int,
    *,
    take_from_duplicate: Iterable[str] = (),
    expected_versions: tuple[int, int] | None = None,
) -> MergeOutcome:
    """Merge ``duplicate_id`` into ``survivor_id`` (see the module's rules); one transaction, audited.

    ``take_from_duplicate``: the fields of ``MERGE_FIELDS`` whose value comes from the duplicate.
    ``expected_versions``: the (survivor, duplicate) versions the manager saw; if either record
    changed since, the merge is refused (``MergeError``) and nothing changes.
    """
    require(actor, Permission.MERGE_CUSTOMERS)
    if survivor_id == duplicate_id:
        raise MergeError("Pick two different customers.")
    chosen = set(take_from_duplicate)
    unknown = chosen - {name for name, _label in MERGE_FIELDS}
    if unknown:
        raise MergeError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    now = utc_now()
    with engine.begin() as connection:
        survivor = _customer(connection, survivor_id)
        duplicate = _customer(connection, duplicate_id)
        if expected_versions is not None and (survivor["version"], duplicate["version"]) != expected_versions:
            raise MergeError("One of the two customers was changed since you opened them: look again before merging.")
        moved: dict[str, list[int]] = {}
        dropped: list[int] = []
        for table, column in _referencing_tables():
            if table is campaign_recipients:
                moved_ids, dropped = _merge_recipients(connection, survivor_id, duplicate_id)
            else:
                moved_ids = list(
                    connection.execute(
                        select(table.c.id).where(table.c[column] == duplicate_id).order_by(table.c.id)
                    ).scalars()
                )
                if moved_ids:
                    connection.execute(
                        table.update().where(table.c[column] == duplicate_id).values({column: survivor_id})
                    )
            moved[table.name] = moved.get(table.name, []) + moved_ids
        points = int(survivor["loyalty_points"] or 0) + int(duplicate["loyalty_points"] or 0)
        difference = points - _ledger_sum(connection, survivor_id)
        if difference:
            # The balances did not equal their ledgers: book the difference so neither is lost.
            adjustment = connection.execute(
                loyalty_ledger.insert().values(
                    customer_id=survivor_id,
                    points=difference,
                    kind="adjustment",
                    reason=f"Merge of customer {duplicate_id}: balance not in the ledger",
                    created_by=actor.user_id,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            moved.setdefault("loyalty_ledger_added", []).append(int(adjustment))
        # The survivor's tier follows its new balance (a change is recorded like any ledger write's).
        before_points = int(survivor["loyalty_points"] or 0)
        record_tier_changes(connection, [(survivor_id, before_points, points)], read_tiers(connection), at=now)
        values: dict[str, Any] = {name: duplicate[name] for name in chosen}
        values |= _keys({**survivor, **values})
        values["loyalty_points"] = points
        values["created_at"] = min(survivor["created_at"], duplicate["created_at"])
        contacts = [moment for moment in (survivor["last_contact_at"], duplicate["last_contact_at"]) if moment]
        values["last_contact_at"] = max(contacts) if contacts else None
        # The duplicate goes first: its external id (unique) may be the one the survivor keeps.
        connection.execute(customers.delete().where(customers.c.id == duplicate_id))
        changed = {name: value for name, value in values.items() if survivor.get(name) != value}
        if changed:
            connection.execute(
                customers.update()
                .where(customers.c.id == survivor_id)
                .values(**changed, updated_at=now, version=customers.c.version + 1)
            )
        detail = {
            "survivor_id": survivor_id,
            "duplicate_id": duplicate_id,
            "fields_from_duplicate": sorted(chosen),
            "changed": changed,
            "moved": moved,
            "campaign_recipients_dropped": dropped,
        }
        before = {"survivor": survivor, "duplicate": duplicate}
        record_audit(connection, actor, "merge", "customers", survivor_id, before=before, after=detail)
        record_audit(connection, actor, "merge", "customers", duplicate_id, before=before, after=detail)
    return MergeOutcome(
        survivor_id=survivor_id,
        duplicate_id=duplicate_id,
        moved=moved,
        dropped_recipients=dropped,
        loyalty_points=points,
    )
