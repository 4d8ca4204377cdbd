"""Ticket workflow: create, converse (notes), change status/priority/assignee/category, rate.

Every write takes an ``Actor``, needs ``Permission.MANAGE_TICKETS``, and writes its change, the system
note that tells the conversation about it ("ada changed the status: open → in progress") and its audit
rows in one transaction. Refusals are ``TicketError`` with one sentence.

Status machine (``TRANSITIONS``): open, in progress and waiting move freely among themselves and to
resolved; resolved goes to closed, or back to open (reopen); closed only reopens. Resolving needs a
resolution note and stamps ``resolved_at``; reopening clears ``resolved_at`` and the satisfaction score
(it rated a resolution that no longer stands). A closed ticket is not edited: no notes, no priority,
assignee or category changes until it is reopened; only its satisfaction (1–5) is recorded, and only
then. The first customer-facing reply by staff stamps ``first_response_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import (
    PRIORITIES,
    TICKET_CATEGORIES,
    TICKET_STATUSES,
    customers,
    orders,
    ticket_notes,
    tickets,
    users,
    utc_now,
)
from crm.service.numbering import next_ticket_number
from crm.service.sla import CLOSED_STATUSES

__all__ = [
    "KEEP",
    "NOTE_LABELS",
    "TRANSITIONS",
    "USER_NOTE_TYPES",
    "TicketError",
    "add_note",
    "allowed_transitions",
    "assign_ticket",
    "change_category",
    "change_priority",
    "change_status",
    "create_ticket",
    "record_satisfaction",
    "update_ticket",
    "word",
]

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "waiting", "resolved"}),
    "in_progress": frozenset({"open", "waiting", "resolved"}),
    "waiting": frozenset({"open", "in_progress", "resolved"}),
    "resolved": frozenset({"closed", "open"}),
    "closed": frozenset({"open"}),
}
# Note types a person writes; "system" is the app's, "resolution" comes with resolving.
USER_NOTE_TYPES = ("customer_reply", "customer_message", "internal")
NOTE_LABELS = {
    "customer_reply": "Reply to the customer",
    "customer_message": "Message from the customer",
    "internal": "Internal note (staff only)",
    "system": "System",
    "resolution": "Resolution",
}
SUBJECT_MAX = 200
BODY_MAX = 20_000
SATISFACTION_RANGE = range(1, 6)


class TicketError(ValueError):
    """A refused ticket change; the message is one sentence for the user."""


def word(code: str | None) -> str:
    """A code as words: "feature_request" → "feature request", "in_progress" → "in progress"."""
    return "—" if code is None else str(code).replace("_", " ")


def allowed_transitions(status: str) -> tuple[str, ...]:
    """The statuses a ticket in ``status`` may move to, in the order of TICKET_STATUSES."""
    targets = TRANSITIONS.get(status, frozenset())
    return tuple(candidate for candidate in TICKET_STATUSES if candidate in targets)


# ---------------------------------------------------------------------------------------------
# Helpers inside a transaction


def _ticket_row(connection: Connection, ticket: str | int, *, lock: bool = True) -> Any:
    """The ticket by number (CS…) or id; with ``lock``, write-locked before it is read.

    The lock is a write that changes nothing, issued first in the transaction: a row lock on PostgreSQL (a
    concurrent change waits for this one), the write lock on SQLite, where a transaction that read first and
    writes after another connection's commit is refused at once ("database is locked") instead of waiting.
    """
    condition = tickets.c.ticket_number == ticket if isinstance(ticket, str) else tickets.c.id == int(ticket)
    if lock:
        connection.execute(
            tickets.update().where(condition).values(version=tickets.c.version, updated_at=tickets.c.updated_at)
        )
    row = connection.execute(select(tickets).where(condition)).first()
    if row is None:
        raise TicketError(f"There is no ticket {ticket}.")
    return row


def _check_version(row: Any, expected_version: int | None) -> None:
    if expected_version is not None and int(row.version) != int(expected_version):
        raise TicketError(f"Ticket {row.ticket_number} was changed by someone else meanwhile; reload it and try again.")


def _note(connection: Connection, ticket_id: int, actor: Actor, note_type: str, body: str, at: datetime) -> int:
    return int(
        connection.execute(
            ticket_notes.insert()
            .values(ticket_id=ticket_id, author_id=actor.user_id, note_type=note_type, body=body, created_at=at)
            .returning(ticket_notes.c.id)
        ).scalar_one()
    )


def _touch(connection: Connection, row: Any, values: dict[str, Any], now: datetime) -> None:
    """Update the ticket (optimistic: the version read under the lock must still be there)."""
    updated = connection.execute(
        tickets.update()
        .where(tickets.c.id == row.id, tickets.c.version == row.version)
        .values(updated_at=now, version=tickets.c.version + 1, **values)
    ).rowcount
    if updated != 1:
        raise TicketError(f"Ticket {row.ticket_number} was changed by someone else meanwhile; reload it and try again.")


def _clean_body(body: str | None, what: str) -> str:
    text = (body or "").strip()
    if not text:
        raise TicketError(f"The {what} is empty; write what it should say.")
    if len(text) > BODY_MAX:
        raise TicketError(f"The {what} is {len(text):,} characters long; at most {BODY_MAX:,} fit.")
    return text


def _refuse_closed(row: Any, action: str) -> None:
    if row.status == "closed":
        raise TicketError(f"Ticket {row.ticket_number} is closed: reopen it before you {action}.")


def _user_label(connection: Connection, user_id: int | None) -> str:
    if user_id is None:
        return "nobody"
    name = connection.execute(select(users.c.username).where(users.c.id == user_id)).scalar()
    return name or f"user #{user_id}"


# ---------------------------------------------------------------------------------------------
# Writes


def create_ticket(
    engine: Engine,
    actor: Actor,
    *,
    customer_id: int,
    subject: str,
    priority: str = "medium",
    category: str = "general",
    order_id: int | None = None,
    body: str | None = None,
    assignee_id: int | None = None,
    now: datetime | None = None,
) -> str:
    """Open a ticket for a customer (optionally about one of their orders); returns its number.

    ``body`` is what the customer wrote (the ticket's description). ``now`` (naive UTC) is for tests
    and imports; the number's day is its local day in ``CRM_TIMEZONE``.
    """
    require(actor, Permission.MANAGE_TICKETS)
    subject = (subject or "").strip()
    if not subject:
        raise TicketError("The subject is empty; say in a few words what the customer needs.")
    if len(subject) > SUBJECT_MAX:
        raise TicketError(f"The subject is {len(subject)} characters long; at most {SUBJECT_MAX} fit.")
    if priority not in PRIORITIES:
        raise TicketError(f"Unknown priority “{priority}” (one of {', '.join(PRIORITIES)}).")
    if category not in TICKET_CATEGORIES:
        raise TicketError(f"Unknown category “{category}” (one of {', '.join(TICKET_CATEGORIES)}).")
    description = (body or "").strip() or None
    if description is not None and len(description) > BODY_MAX:
        raise TicketError(f"The message is {len(description):,} characters long; at most {BODY_MAX:,} fit.")
    now = now or utc_now()
    with engine.begin() as connection:
        # First statement of the transaction: takes the day's numbering lock (crm.service.numbering).
        number = next_ticket_number(connection, now)
        if connection.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() is None:
            raise TicketError(f"There is no customer {customer_id}.")
        if order_id is not None:
            owner = connection.execute(select(orders.c.customer_id).where(orders.c.id == order_id)).first()
            if owner is None:
                raise TicketError(f"There is no order {order_id}.")
            if owner.customer_id != customer_id:
                raise TicketError("That order belongs to another customer; pick one of this customer's orders.")
        if assignee_id is not None and _user_label(connection, assignee_id) == f"user #{assignee_id}":
            raise TicketError(f"There is no user {assignee_id} to assign the ticket to.")
        values = {
            "ticket_number": number,
            "customer_id": customer_id,
            "order_id": order_id,
            "subject": subject,
            "description": description,
            "category": category,
            "priority": priority,
            "status": "open",
            "assignee_id": assignee_id,
        }
        ticket_id = connection.execute(
            tickets.insert().values(created_at=now, updated_at=now, **values).returning(tickets.c.id)
        ).scalar_one()
        _note(
            connection,
            ticket_id,
            actor,
            "system",
            f"{actor.username} opened the ticket ({word(priority)} priority, {word(category)}).",
            now,
        )
        record_audit(connection, actor, "create", "tickets", ticket_id, after=values)
    return number


def add_note(
    engine: Engine,
    actor: Actor,
    ticket: str | int,
    *,
    note_type: str,
    body: str,
    expected_version: int | None = None,
) -> int:
    """Add a reply to the customer, a message from the customer or an internal note; returns the note id.

    The first ``customer_reply`` stamps the ticket's ``first_response_at``.
    """
    require(actor, Permission.MANAGE_TICKETS)
    if note_type not in USER_NOTE_TYPES:
        raise TicketError(f"Unknown note type “{note_type}” (one of {', '.join(USER_NOTE_TYPES)}).")
    text = _clean_body(body, "note")
    now = utc_now()
    with engine.begin() as connection:
        row = _ticket_row(connection, ticket)
        _refuse_closed(row, "add to its conversation")
        _check_version(row, expected_version)
        note_id = _note(connection, row.id, actor, note_type, text, now)
        record_audit(
            connection,
            actor,
            "create",
            "ticket_notes",
            note_id,
            after={"ticket": row.ticket_number, "note_type": note_type, "body": text},
        )
        if note_type == "customer_reply" and row.first_response_at is None:
            _touch(connection, row, {"first_response_at": now}, now)
            record_audit(
                connection,
                actor,
                "update",
                "tickets",
                row.id,
                before={"first_response_at": None},
                after={"first_response_at": now},
            )
        else:
            _touch(connection, row, {}, now)  # the ticket's version moves: others' forms see the new note
    return note_id


def change_status(
    engine: Engine,
    actor: Actor,
    ticket: str | int,
    status: str,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Move a ticket along ``TRANSITIONS``; resolving needs ``note`` (the resolution).

    Any other ``note`` is kept as an internal note next to the system note (the reason for the change).
    """
    require(actor, Permission.MANAGE_TICKETS)
    if status not in TICKET_STATUSES:
        raise TicketError(f"Unknown status “{status}” (one of {', '.join(TICKET_STATUSES)}).")
    now = utc_now()
    with engine.begin() as connection:
        row = _ticket_row(connection, ticket)
        _check_version(row, expected_version)
        if status == row.status:
            raise TicketError(f"Ticket {row.ticket_number} is already {word(status)}.")
        if status not in TRANSITIONS[row.status]:
            choices = " or ".join(word(candidate) for candidate in allowed_transitions(row.status))
            hint = " (reopen it first)" if row.status == "closed" else ""
            raise TicketError(
                f"Ticket {row.ticket_number} cannot go from {word(row.status)} to {word(status)}{hint}; "
                f"it can become {choices}."
            )
        values: dict[str, Any] = {"status": status}
        reopening = row.status in CLOSED_STATUSES and status == "open"
        if status == "resolved":
            resolution = _clean_body(note, "resolution note")
            values["resolved_at"] = now
        elif reopening:
            values["resolved_at"] = None
            values["satisfaction"] = None
        verb = "reopened the ticket" if reopening else "changed the status"
        _note(
            connection, row.id, actor, "system", f"{actor.username} {verb}: {word(row.status)} → {word(status)}.", now
        )
        if status == "resolved":
            _note(connection, row.id, actor, "resolution", resolution, now)
        elif note and note.strip():
            _note(connection, row.id, actor, "internal", _clean_body(note, "note"), now)
        _touch(connection, row, values, now)
        before = {name: getattr(row, name) for name in values}
        after = dict(values) | ({"resolution": resolution} if status == "resolved" else {})
        record_audit(connection, actor, "update", "tickets", row.id, before=before, after=after)


class _Keep:
    """ "Leave as it is" for ``update_ticket``'s assignee (None there means "unassign")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def update_ticket(
    engine: Engine,
    actor: Actor,
    ticket: str | int,
    *,
    priority: str | None = None,
    category: str | None = None,
    assignee_id: int | None = KEEP,
    expected_version: int | None = None,
) -> list[str]:
    """Change priority, category and/or assignee (None / KEEP: unchanged; assignee None: unassign) in one
    transaction: a system note per changed field, one audit row. Returns the changed columns."""
    require(actor, Permission.MANAGE_TICKETS)
    if priority is not None and priority not in PRIORITIES:
        raise TicketError(f"Unknown priority “{priority}” (one of {', '.join(PRIORITIES)}).")
    if category is not None and category not in TICKET_CATEGORIES:
        raise TicketError(f"Unknown category “{category}” (one of {', '.join(TICKET_CATEGORIES)}).")
    wanted: list[tuple[str, Any, str]] = []
    if priority is not None:
        wanted.append(("priority", priority, "priority"))
    if category is not None:
        wanted.append(("category", category, "category"))
    if assignee_id is not KEEP:
        wanted.append(("assignee_id", None if assignee_id is None else int(assignee_id), "assignee"))
    now = utc_now()
    with engine.begin() as connection:
        row = _ticket_row(connection, ticket)
        _refuse_closed(row, "change its " + (" or ".join(label for _column, _value, label in wanted) or "details"))
        _check_version(row, expected_version)
        changed = {column: value for column, value, _label in wanted if getattr(row, column) != value}
        if not changed:
            return []
        if changed.get("assignee_id") is not None:
            active = connection.execute(select(users.c.is_active).where(users.c.id == changed["assignee_id"])).scalar()
            if active is None:
                raise TicketError(f"There is no user {changed['assignee_id']} to assign the ticket to.")
            if not active:
                raise TicketError("That user is deactivated; assign the ticket to an active colleague.")
        for column, value, label in wanted:
            if column not in changed:
                continue
            if column == "assignee_id":
                old_text, new_text = _user_label(connection, getattr(row, column)), _user_label(connection, value)
            else:
                old_text, new_text = word(getattr(row, column)), word(value)
            _note(
                connection,
                row.id,
                actor,
                "system",
                f"{actor.username} changed the {label}: {old_text} → {new_text}.",
                now,
            )
        _touch(connection, row, changed, now)
        before = {column: getattr(row, column) for column in changed}
        record_audit(connection, actor, "update", "tickets", row.id, before=before, after=changed)
    return list(changed)


def change_priority(
    engine: Engine, actor: Actor, ticket: str | int, priority: str, *, expected_version: int | None = None
) -> None:
    """Set the priority (the SLA targets follow it); a system note records who changed it from what."""
    update_ticket(engine, actor, ticket, priority=priority, expected_version=expected_version)


def change_category(
    engine: Engine, actor: Actor, ticket: str | int, category: str, *, expected_version: int | None = None
) -> None:
    """Set the category; a system note records who changed it from what."""
    update_ticket(engine, actor, ticket, category=category, expected_version=expected_version)


def assign_ticket(
    engine: Engine, actor: Actor, ticket: str | int, assignee_id: int | None, *, expected_version: int | None = None
) -> None:
    """Give the ticket to a user (None: back to the shared queue); a system note names both."""
    update_ticket(engine, actor, ticket, assignee_id=assignee_id, expected_version=expected_version)


def record_satisfaction(engine: Engine, actor: Actor, ticket: str | int, score: int) -> None:
    """Record the customer's satisfaction (1–5) on a closed ticket."""
    require(actor, Permission.MANAGE_TICKETS)
    if int(score) not in SATISFACTION_RANGE:
        raise TicketError(f"Satisfaction is 1 to 5, not {score}.")
    now = utc_now()
    with engine.begin() as connection:
        row = _ticket_row(connection, ticket)
        if row.status != "closed":
            raise TicketError(
                f"Ticket {row.ticket_number} is {word(row.status)}: satisfaction is recorded once it is closed."
            )
        if row.satisfaction == int(score):
            return
        old = "none" if row.satisfaction is None else f"{row.satisfaction}/5"
        _note(
            connection, row.id, actor, "system", f"{actor.username} recorded satisfaction: {old} → {int(score)}/5.", now
        )
        _touch(connection, row, {"satisfaction": int(score)}, now)
        record_audit(
            connection,
            actor,
            "update",
            "tickets",
            row.id,
            before={"satisfaction": row.satisfaction},
            after={"satisfaction": int(score)},
        )
