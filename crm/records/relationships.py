"""Day-to-day relationship work: interactions with an owner and an outcome, follow-ups, tickets, "My work".

Rules (DESIGN.md "Visits and relationship work"):
* the owner of an interaction is ``interactions.user_id``: the signed-in user who logs it (the
  grid's new rows too, ``InteractionHooks``);
* logging a *completed* interaction moves the customer's ``last_contact_at`` to its time, never
  backwards (an older call logged late does not hide a newer contact);
* a follow-up is an interaction with ``follow_up_at``; it is due from that moment until it is
  done (``complete_follow_up`` clears it and logs the completed contact) or cancelled;
* tickets are opened through the service desk's workflow (crm.service.tickets), also from Customer 360.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, select, update

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.records.birthdays import birthdays_between
from crm.schema import (
    INTERACTION_STATUSES,
    INTERACTION_TYPES,
    PRIORITIES,
    customers,
    interactions,
    tickets,
    utc_now,
)

__all__ = [
    "OPEN_TICKET_STATUSES",
    "InteractionHooksMixin",
    "InteractionInput",
    "MyWork",
    "RelationshipError",
    "complete_follow_up",
    "customer_label",
    "log_interaction",
    "my_work",
    "schedule_follow_up",
    "touch_last_contact",
]

OPEN_TICKET_STATUSES = ("open", "in_progress", "waiting")
SUBJECT_LENGTH = 200
OUTCOME_LENGTH = 200


class RelationshipError(ValueError):
    """Nothing was written; the message names the field that is wrong."""


@dataclass(frozen=True)
class InteractionInput:
    """An interaction as the Customer 360 form gives it; times naive UTC."""

    customer_id: int
    interaction_type: str
    subject: str
    occurred_at: datetime
    status: str = "completed"
    priority: str = "medium"
    outcome: str | None = None
    notes: str | None = None
    duration_minutes: int | None = None
    follow_up_at: datetime | None = None


def _required_text(value: str | None, label: str, limit: int) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise RelationshipError(f"{label} is required.")
    if len(cleaned) > limit:
        raise RelationshipError(f"{label} is longer than {limit} characters.")
    return cleaned


def _optional_text(value: str | None, label: str, limit: int | None = None) -> str | None:
    cleaned = (value or "").strip() or None
    if cleaned is not None and limit is not None and len(cleaned) > limit:
        raise RelationshipError(f"{label} is longer than {limit} characters.")
    return cleaned


def _check_customer(connection: Connection, customer_id: int) -> None:
    if connection.execute(select(customers.c.id).where(customers.c.id == customer_id)).scalar() is None:
        raise RelationshipError(f"Customer {customer_id} does not exist.")


def touch_last_contact(connection: Connection, actor: Actor, customer_id: int, moment: datetime) -> None:
    """Move ``customers.last_contact_at`` forward to ``moment`` (never backwards), audited when it moves."""
    before = connection.execute(select(customers.c.last_contact_at).where(customers.c.id == customer_id)).scalar()
    if before is not None and before >= moment:
        return
    connection.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(last_contact_at=moment, updated_at=utc_now(), version=customers.c.version + 1)
    )
    record_audit(
        connection,
        actor,
        "update",
        "customers",
        customer_id,
        before={"last_contact_at": before},
        after={"last_contact_at": moment},
    )


def _insert_interaction(connection: Connection, actor: Actor, values: dict[str, Any]) -> int:
    now = utc_now()
    row = {**values, "user_id": actor.user_id, "created_at": now, "updated_at": now}
    new_id = int(connection.execute(interactions.insert().values(**row)).inserted_primary_key[0])
    record_audit(connection, actor, "create", "interactions", new_id, after=row)
    if row["status"] == "completed":
        touch_last_contact(connection, actor, row["customer_id"], row["occurred_at"])
    return new_id


def log_interaction(engine: Engine, actor: Actor, interaction: InteractionInput) -> int:
    """Insert an interaction owned by ``actor``; a completed one updates the customer's last contact. Returns its id."""
    require(actor, Permission.EDIT_RECORDS)
    if interaction.interaction_type not in INTERACTION_TYPES:
        raise RelationshipError(f"Type {interaction.interaction_type!r} is not one of {', '.join(INTERACTION_TYPES)}.")
    if interaction.status not in INTERACTION_STATUSES:
        raise RelationshipError(f"Status {interaction.status!r} is not one of {', '.join(INTERACTION_STATUSES)}.")
    if interaction.priority not in PRIORITIES:
        raise RelationshipError(f"Priority {interaction.priority!r} is not one of {', '.join(PRIORITIES)}.")
    if interaction.status == "completed" and interaction.occurred_at > utc_now() + timedelta(minutes=1):
        raise RelationshipError("A completed interaction cannot be in the future; plan it instead.")
    if interaction.duration_minutes is not None and interaction.duration_minutes < 0:
        raise RelationshipError("Minutes cannot be negative.")
    values = {
        "customer_id": interaction.customer_id,
        "interaction_type": interaction.interaction_type,
        "subject": _required_text(interaction.subject, "Subject", SUBJECT_LENGTH),
        "notes": _optional_text(interaction.notes, "Notes"),
        "outcome": _optional_text(interaction.outcome, "Outcome", OUTCOME_LENGTH),
        "priority": interaction.priority,
        "status": interaction.status,
        "duration_minutes": interaction.duration_minutes,
        "occurred_at": interaction.occurred_at,
        "follow_up_at": interaction.follow_up_at,
    }
    with engine.begin() as connection:
        _check_customer(connection, interaction.customer_id)
        return _insert_interaction(connection, actor, values)


def schedule_follow_up(
    engine: Engine,
    actor: Actor,
    customer_id: int,
    subject: str,
    due_at: datetime,
    *,
    notes: str | None = None,
    priority: str = "medium",
) -> int:
    """A planned follow-up owned by ``actor``, due at ``due_at`` (naive UTC); returns the interaction id."""
    return log_interaction(
        engine,
        actor,
        InteractionInput(
            customer_id=customer_id,
            interaction_type="follow_up",
            subject=subject,
            occurred_at=due_at,
            status="planned",
            priority=priority,
            notes=notes,
            follow_up_at=due_at,
        ),
    )


def complete_follow_up(engine: Engine, actor: Actor, interaction_id: int, *, outcome: str | None = None) -> int:
    """Mark a follow-up done: clear its ``follow_up_at`` (a planned one becomes completed) and log the contact.

    Returns the id of the completed follow-up interaction that records the contact (and moves
    the customer's last contact to now).
    """
    require(actor, Permission.EDIT_RECORDS)
    now = utc_now()
    with engine.begin() as connection:
        row = connection.execute(select(interactions).where(interactions.c.id == interaction_id)).mappings().first()
        if row is None or row["follow_up_at"] is None:
            raise RelationshipError(f"Interaction {interaction_id} has no open follow-up.")
        changes: dict[str, Any] = {"follow_up_at": None}
        if row["status"] == "planned":
            changes |= {"status": "completed", "occurred_at": min(now, row["occurred_at"])}
        connection.execute(
            update(interactions)
            .where(interactions.c.id == interaction_id)
            .values(**changes, updated_at=now, version=interactions.c.version + 1)
        )
        record_audit(
            connection,
            actor,
            "update",
            "interactions",
            interaction_id,
            before={name: row[name] for name in changes},
            after=changes,
        )
        return _insert_interaction(
            connection,
            actor,
            {
                "customer_id": row["customer_id"],
                "interaction_type": "follow_up",
                "subject": f"Follow-up: {row['subject']}"[:SUBJECT_LENGTH],
                "notes": None,
                "outcome": _optional_text(outcome, "Outcome", OUTCOME_LENGTH),
                "priority": row["priority"],
                "status": "completed",
                "duration_minutes": None,
                "occurred_at": now,
                "follow_up_at": None,
            },
        )


class InteractionHooksMixin:
    """Grid rules for interactions (``crm.records.hooks``): new rows are owned by the user saving them,
    and a row saved as completed moves the customer's last contact."""

    def normalize(
        self, connection: Connection, values: dict[str, Any], before: dict[str, Any] | None, actor: Actor
    ) -> dict[str, Any]:
        if before is None and values.get("user_id") is None:
            return {"user_id": actor.user_id}
        return {}

    def _touch(self, connection: Connection, actor: Actor, row: dict[str, Any]) -> None:
        if row.get("status") == "completed" and row.get("occurred_at") is not None:
            touch_last_contact(connection, actor, int(row["customer_id"]), row["occurred_at"])

    def after_insert(self, connection: Connection, new_id: int, values: dict[str, Any], actor: Actor) -> None:
        self._touch(connection, actor, values)

    def after_update(
        self, connection: Connection, record_id: int, before: dict[str, Any], values: dict[str, Any], actor: Actor
    ) -> None:
        self._touch(connection, actor, {**before, **values})


# --- tickets -------------------------------------------------------------------------------------


# --- My work -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyWork:
    """One user's work list on their local day.

    * overdue: their follow-ups due before today (local), oldest first;
    * due_today: their follow-ups due today (local);
    * open_tickets: tickets assigned to them with status open, in progress or waiting, oldest first;
    * birthdays: customers whose birthday is today (29 Feb birthdays on 28 Feb in other years).
    Each frame has customer_id and customer (the name) so every item opens the customer.
    """

    overdue: pd.DataFrame
    due_today: pd.DataFrame
    open_tickets: pd.DataFrame
    birthdays: pd.DataFrame
    today: date


def _customer_name() -> Any:
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    return func.coalesce(func.nullif(name, ""), customers.c.company, customers.c.email, customers.c.phone)


def _frame(connection: Connection, statement: Any) -> pd.DataFrame:
    result = connection.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def my_work(engine: Engine, user_id: int | None, zone: ZoneInfo, *, now: datetime | None = None) -> MyWork:
    """Follow-ups (overdue, due today) and open tickets of ``user_id``, and today's birthdays."""
    now = now or utc_now()
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()

    def utc_midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    start, end = utc_midnight(today), utc_midnight(today + timedelta(days=1))
    follow_ups = (
        select(
            interactions.c.id,
            interactions.c.customer_id,
            _customer_name().label("customer"),
            interactions.c.subject,
            interactions.c.interaction_type,
            interactions.c.priority,
            interactions.c.follow_up_at,
        )
        .select_from(interactions.join(customers, customers.c.id == interactions.c.customer_id))
        .where(
            interactions.c.user_id == user_id,
            interactions.c.follow_up_at.is_not(None),
            interactions.c.status != "cancelled",
        )
        .order_by(interactions.c.follow_up_at, interactions.c.id)
    )
    ticket_query = (
        select(
            tickets.c.id,
            tickets.c.ticket_number,
            tickets.c.customer_id,
            _customer_name().label("customer"),
            tickets.c.subject,
            tickets.c.priority,
            tickets.c.status,
            tickets.c.created_at,
        )
        .select_from(tickets.join(customers, customers.c.id == tickets.c.customer_id))
        .where(tickets.c.assignee_id == user_id, tickets.c.status.in_(OPEN_TICKET_STATUSES))
        .order_by(tickets.c.created_at, tickets.c.id)
    )
    with engine.connect() as connection:
        overdue = _frame(connection, follow_ups.where(interactions.c.follow_up_at < start))
        due_today = _frame(
            connection,
            follow_ups.where(and_(interactions.c.follow_up_at >= start, interactions.c.follow_up_at < end)),
        )
        open_list = _frame(connection, ticket_query)
    return MyWork(
        overdue=overdue,
        due_today=due_today,
        open_tickets=open_list,
        birthdays=birthdays_between(engine, today, today),
        today=today,
    )


def customer_label(engine: Engine, customer_id: int) -> str | None:
    """A customer's label for pickers ("Alice Kim · alice@example.com · 010-…"), None when there is none."""
    with engine.connect() as connection:
        row = connection.execute(
            select(
                customers.c.id,
                customers.c.first_name,
                customers.c.last_name,
                customers.c.company,
                customers.c.email,
                customers.c.phone,
            ).where(customers.c.id == customer_id)
        ).first()
    if row is None:
        return None
    name = " ".join(part for part in (row.first_name, row.last_name) if part) or row.company or ""
    return " · ".join(part for part in (name, row.email, row.phone) if part) or f"customer {row.id}"
