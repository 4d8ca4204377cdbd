"""Reading tickets: the service desk queue sorted by urgency, counts per status, one ticket with its
customer, order and conversation, and the pickers of the ticket form (customers, orders, staff).

Nothing here writes; the workflow is crm.service.tickets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, or_, select

from crm.dialect import folded_like
from crm.permissions import Actor
from crm.schema import TICKET_STATUSES, customers, orders, sla_policies, ticket_notes, tickets, users, utc_now
from crm.service.sla import OPEN_STATUSES, SlaState, hours_left_expression, sla_state, sla_targets
from crm.service.tickets import TicketError, _ticket_row, _user_label, word

__all__ = [
    "QUEUE_COLUMNS",
    "QueueQuery",
    "TicketDetail",
    "TicketNote",
    "assignable_users",
    "customer_choices",
    "find_customer",
    "find_order",
    "find_user",
    "order_choices",
    "search_pattern",
    "status_counts",
    "ticket_detail",
    "ticket_queue",
]


@dataclass(frozen=True)
class TicketNote:
    id: int
    note_type: str
    body: str
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class TicketDetail:
    """Everything the ticket view shows (customer card, order, conversation, SLA)."""

    id: int
    number: str
    subject: str
    description: str | None
    status: str
    priority: str
    category: str
    customer_id: int
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    order_id: int | None
    order_number: str | None
    order_status: str | None
    order_total: float | None
    order_date: datetime | None
    assignee_id: int | None
    assignee: str | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    satisfaction: int | None
    version: int
    sla: SlaState
    notes: list[TicketNote] = field(default_factory=list)


def search_pattern(text: str) -> str:
    """The bound pattern for "contains ``text``" (as crm.records.listing: %, _ and \\ match literally)."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _customer_name() -> Any:
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    return func.coalesce(func.nullif(name, ""), customers.c.company, customers.c.email)


def ticket_detail(engine: Engine, ticket: str | int, *, now: datetime | None = None) -> TicketDetail:
    """The ticket with its customer, order, assignee, SLA state at ``now`` and notes (oldest first)."""
    with engine.connect() as connection:
        row = _ticket_row(connection, ticket, lock=False)
        customer = connection.execute(
            select(_customer_name().label("name"), customers.c.email, customers.c.phone).where(
                customers.c.id == row.customer_id
            )
        ).one()
        order = None
        if row.order_id is not None:
            order = connection.execute(
                select(orders.c.order_number, orders.c.status, orders.c.total, orders.c.order_date).where(
                    orders.c.id == row.order_id
                )
            ).first()
        notes = connection.execute(
            select(ticket_notes, users.c.username)
            .select_from(ticket_notes.outerjoin(users, users.c.id == ticket_notes.c.author_id))
            .where(ticket_notes.c.ticket_id == row.id)
            .order_by(ticket_notes.c.created_at, ticket_notes.c.id)
        ).all()
        assignee = None if row.assignee_id is None else _user_label(connection, row.assignee_id)
    targets = sla_targets(engine)
    return TicketDetail(
        id=row.id,
        number=row.ticket_number,
        subject=row.subject,
        description=row.description,
        status=row.status,
        priority=row.priority,
        category=row.category,
        customer_id=row.customer_id,
        customer_name=customer.name or f"Customer #{row.customer_id}",
        customer_email=customer.email,
        customer_phone=customer.phone,
        order_id=row.order_id,
        order_number=None if order is None else order.order_number,
        order_status=None if order is None else order.status,
        order_total=None if order is None or order.total is None else float(order.total),
        order_date=None if order is None else order.order_date,
        assignee_id=row.assignee_id,
        assignee=assignee,
        created_at=row.created_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        satisfaction=row.satisfaction,
        version=row.version,
        sla=sla_state(row._mapping, targets, now),
        notes=[
            TicketNote(
                id=note.id, note_type=note.note_type, body=note.body, author=note.username, created_at=note.created_at
            )
            for note in notes
        ],
    )


@dataclass(frozen=True)
class QueueQuery:
    """Filters of the service desk queue; empty tuples and None mean "no restriction"."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    priorities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # User ids; ``unassigned`` adds tickets without one.
    assignee_ids: tuple[int, ...] = ()
    unassigned: bool = False
    # Only tickets whose running SLA target has passed.
    overdue_only: bool = False
    # Customer name, email, company or phone, or the ticket number / subject ("contains").
    search: str = ""

    def clauses(self, now: datetime, *, with_status: bool = True) -> list[Any]:
        clauses: list[Any] = []
        if with_status and self.statuses:
            clauses.append(tickets.c.status.in_(self.statuses))
        if self.priorities:
            clauses.append(tickets.c.priority.in_(self.priorities))
        if self.categories:
            clauses.append(tickets.c.category.in_(self.categories))
        if self.assignee_ids or self.unassigned:
            who = [tickets.c.assignee_id.in_(self.assignee_ids)] if self.assignee_ids else []
            if self.unassigned:
                who.append(tickets.c.assignee_id.is_(None))
            clauses.append(or_(*who))
        if self.overdue_only:
            clauses.append(hours_left_expression(now) < 0)
        if self.search.strip():
            pattern = search_pattern(self.search)
            clauses.append(
                or_(
                    folded_like(_customer_name(), pattern),
                    folded_like(customers.c.email, pattern),
                    folded_like(customers.c.phone, pattern),
                    folded_like(tickets.c.ticket_number, pattern),
                    folded_like(tickets.c.subject, pattern),
                )
            )
        return clauses


def _queue_source() -> Any:
    return tickets.join(customers, customers.c.id == tickets.c.customer_id).outerjoin(
        sla_policies, sla_policies.c.priority == tickets.c.priority
    )


QUEUE_COLUMNS = [
    "ticket_number",
    "subject",
    "customer",
    "status",
    "priority",
    "category",
    "assignee",
    "created_at",
    "hours_left",
    "sla",
    "version",
]


def ticket_queue(
    engine: Engine, query: QueueQuery | None = None, *, now: datetime | None = None, limit: int = 200
) -> pd.DataFrame:
    """The queue, most urgent first: overdue tickets (most overdue first), then least time left, then
    tickets without a running SLA (resolved, closed) newest first.

    Columns: ticket_number, subject, customer (name), status, priority, category (codes), assignee
    (username or None), created_at (UTC), hours_left (against the running target; negative = overdue;
    NaN without one), sla (the sentence, e.g. "first response due in 3 h 20 min"), version.
    """
    query = query or QueueQuery()
    now = now or utc_now()
    hours_left = hours_left_expression(now).label("hours_left")
    statement = (
        select(
            tickets.c.ticket_number,
            tickets.c.subject,
            _customer_name().label("customer"),
            tickets.c.status,
            tickets.c.priority,
            tickets.c.category,
            users.c.username.label("assignee"),
            tickets.c.created_at,
            hours_left,
            tickets.c.first_response_at,
            tickets.c.version,
        )
        .select_from(_queue_source().outerjoin(users, users.c.id == tickets.c.assignee_id))
        .where(*query.clauses(now))
        .order_by(hours_left.is_(None), hours_left, tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=[*QUEUE_COLUMNS[:9], "first_response_at", "version"])
    frame["hours_left"] = pd.to_numeric(frame["hours_left"], errors="coerce").astype(float)
    frame["sla"] = [
        _sla_sentence(hours, first_response_at)
        for hours, first_response_at in zip(frame["hours_left"], frame["first_response_at"], strict=True)
    ]
    return frame[QUEUE_COLUMNS]


def _sla_sentence(hours_left: float, first_response_at: Any) -> str:
    if pd.isna(hours_left):
        return "no SLA clock running"
    target = "first response" if first_response_at is None or pd.isna(first_response_at) else "resolution"
    return SlaState(target=target, due_at=None, hours_left=float(hours_left)).sentence()


def status_counts(engine: Engine, query: QueueQuery | None = None, *, now: datetime | None = None) -> dict[str, int]:
    """Tickets per status under every queue filter but the status one ({status: count}, every status)."""
    query = query or QueueQuery()
    now = now or utc_now()
    statement = (
        select(tickets.c.status, func.count())
        .select_from(_queue_source())
        .where(*query.clauses(now, with_status=False))
        .group_by(tickets.c.status)
    )
    with engine.connect() as connection:
        counted = dict(connection.execute(statement).all())
    return {status: int(counted.get(status, 0)) for status in TICKET_STATUSES}


def assignable_users(engine: Engine) -> pd.DataFrame:
    """Active staff who work tickets (agents, managers, admins): columns id, username, label."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(users.c.id, users.c.username, users.c.full_name)
            .where(users.c.is_active.is_(True), users.c.role.in_(("agent", "manager", "admin")))
            .order_by(users.c.username)
        ).all()
    return pd.DataFrame(
        {
            "id": [row.id for row in rows],
            "username": [row.username for row in rows],
            "label": [f"{row.full_name} ({row.username})" if row.full_name else row.username for row in rows],
        }
    )


def customer_choices(engine: Engine, search: str = "", *, limit: int = 20) -> pd.DataFrame:
    """Customers for the ticket form, by name, email, company, phone or one of their order numbers.

    Columns: id, label ("Alice Kim · alice@example.com").
    """
    name = _customer_name()
    statement = (
        select(customers.c.id, name.label("name"), customers.c.email).order_by(customers.c.id.desc()).limit(limit)
    )
    if search.strip():
        pattern = search_pattern(search)
        by_order = select(orders.c.customer_id).where(orders.c.order_number == search.strip())
        statement = statement.where(
            or_(
                folded_like(name, pattern),
                folded_like(customers.c.email, pattern),
                folded_like(customers.c.phone, pattern),
                customers.c.id.in_(by_order),
            )
        )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    labels = [" · ".join(part for part in (row.name or f"Customer #{row.id}", row.email) if part) for row in rows]
    return pd.DataFrame({"id": [row.id for row in rows], "label": labels})


def order_choices(engine: Engine, customer_id: int, search: str = "", *, limit: int = 50) -> pd.DataFrame:
    """The customer's orders, newest first, optionally by order number: columns id, label."""
    statement = (
        select(orders.c.id, orders.c.order_number, orders.c.order_date, orders.c.status, orders.c.total)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.order_date.desc(), orders.c.id.desc())
        .limit(limit)
    )
    if search.strip():
        statement = statement.where(folded_like(orders.c.order_number, search_pattern(search)))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    labels = [
        f"{row.order_number} · {row.order_date:%Y-%m-%d} · {word(row.status)} · {float(row.total or 0):,.2f}"
        for row in rows
    ]
    return pd.DataFrame({"id": [row.id for row in rows], "label": labels})


def find_customer(engine: Engine, key: str) -> int:
    """A customer id from an email (case-insensitive) or an id, for the CLI."""
    key = key.strip()
    with engine.connect() as connection:
        if key.isdigit():
            found = connection.execute(select(customers.c.id).where(customers.c.id == int(key))).scalar()
        else:
            found_rows = connection.execute(
                select(customers.c.id).where(func.lower(customers.c.email) == key.lower()).limit(2)
            ).all()
            if len(found_rows) > 1:
                raise TicketError(f"Several customers have the email {key}; give the customer id instead.")
            found = found_rows[0].id if found_rows else None
    if found is None:
        raise TicketError(f"There is no customer {key}.")
    return int(found)


def find_order(engine: Engine, number: str, customer_id: int) -> int:
    """The id of order ``number``, which must belong to ``customer_id`` (for the CLI)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(orders.c.id, orders.c.customer_id).where(orders.c.order_number == number.strip())
        ).first()
    if row is None:
        raise TicketError(f"There is no order {number}.")
    if row.customer_id != customer_id:
        raise TicketError(f"Order {number} belongs to another customer.")
    return int(row.id)


def find_user(engine: Engine, username: str) -> Actor:
    """The active user ``username`` as an Actor (the CLI's ``--as``)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(users.c.id, users.c.username, users.c.role, users.c.is_active).where(
                users.c.username == username.strip().lower()
            )
        ).first()
    if row is None or not row.is_active:
        raise TicketError(f"There is no active user {username}.")
    return Actor(user_id=row.id, username=row.username, role=row.role)
