"""SLA targets per priority and the time a ticket has left against them.

Targets are whole hours counted from the ticket's creation (``sla_policies``, seeded with
``crm.schema.DEFAULT_SLA_HOURS``): while a ticket has no first response its deadline is the first-response
target, afterwards the resolution target; resolved and closed tickets have none. The clock does not stop
while a ticket waits on the customer (the replaced system did not pause it either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Float, case, cast, literal, select

from crm.audit import record_audit
from crm.dialect import days_between
from crm.permissions import Actor, Permission, require
from crm.schema import PRIORITIES, TICKET_STATUSES, sla_policies, tickets, utc_now

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "SLA_TABLE",
    "SlaPolicy",
    "SlaState",
    "hours_left_expression",
    "sla_policies_list",
    "sla_state",
    "sla_targets",
    "update_sla_policy",
]

# The table F's service analytics and others read targets from (columns priority, first_response_hours,
# resolution_hours).
SLA_TABLE = sla_policies.name
# Tickets that still run against a target, and those that no longer do.
OPEN_STATUSES = tuple(status for status in TICKET_STATUSES if status not in ("resolved", "closed"))
CLOSED_STATUSES = ("resolved", "closed")
# Upper bound of a target: a year of hours (a typo of an extra zero is caught, real targets fit).
MAX_TARGET_HOURS = 24 * 366


@dataclass(frozen=True)
class SlaPolicy:
    priority: str
    first_response_hours: int
    resolution_hours: int
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class SlaState:
    """Where a ticket stands against its SLA at ``now``.

    ``target`` is "first response", "resolution" or None (resolved/closed, or no target for the priority);
    ``due_at`` the UTC deadline; ``hours_left`` is negative once overdue.
    """

    target: str | None
    due_at: datetime | None
    hours_left: float | None

    @property
    def overdue(self) -> bool:
        return self.hours_left is not None and self.hours_left < 0

    def sentence(self) -> str:
        """ "first response due in 3 h 20 min", "resolution overdue by 2 d 4 h", or "no SLA clock running"."""
        if self.target is None or self.hours_left is None:
            return "no SLA clock running"
        span = _duration(abs(self.hours_left))
        if self.overdue:
            return f"{self.target} overdue by {span}"
        return f"{self.target} due in {span}"


def _duration(hours: float) -> str:
    minutes = round(hours * 60)
    days, minutes = divmod(minutes, 24 * 60)
    whole_hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {whole_hours} h"
    if whole_hours:
        return f"{whole_hours} h {minutes} min"
    return f"{minutes} min"


def sla_targets(engine: Engine) -> dict[str, tuple[int, int]]:
    """{priority: (first_response_hours, resolution_hours)} as configured now."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(sla_policies.c.priority, sla_policies.c.first_response_hours, sla_policies.c.resolution_hours)
        ).all()
    return {row.priority: (int(row.first_response_hours), int(row.resolution_hours)) for row in rows}


def sla_policies_list(engine: Engine) -> list[SlaPolicy]:
    """Every policy, most urgent priority first (the SLA editor's rows)."""
    with engine.connect() as connection:
        rows = connection.execute(select(sla_policies)).all()
    order = {priority: index for index, priority in enumerate(reversed(PRIORITIES))}
    policies = [
        SlaPolicy(
            priority=row.priority,
            first_response_hours=int(row.first_response_hours),
            resolution_hours=int(row.resolution_hours),
            version=int(row.version),
            updated_at=row.updated_at,
        )
        for row in rows
    ]
    return sorted(policies, key=lambda policy: order.get(policy.priority, len(order)))


def update_sla_policy(
    engine: Engine,
    actor: Actor,
    priority: str,
    *,
    first_response_hours: int,
    resolution_hours: int,
    expected_version: int | None = None,
) -> SlaPolicy:
    """Change one priority's targets (managers); audited. ``ValueError`` names a bad value or a stale edit."""
    require(actor, Permission.MANAGE_SERVICE_SETTINGS)
    if priority not in PRIORITIES:
        raise ValueError(f"Unknown priority “{priority}” (one of {', '.join(PRIORITIES)}).")
    first_response_hours, resolution_hours = int(first_response_hours), int(resolution_hours)
    if not 1 <= first_response_hours <= MAX_TARGET_HOURS:
        raise ValueError(
            f"The first-response target must be 1 to {MAX_TARGET_HOURS} hours, not {first_response_hours}."
        )
    if not first_response_hours <= resolution_hours <= MAX_TARGET_HOURS:
        raise ValueError(
            f"The resolution target must be at least the first-response target ({first_response_hours} h) "
            f"and at most {MAX_TARGET_HOURS} hours, not {resolution_hours}."
        )
    now = utc_now()
    with engine.begin() as connection:
        # Write first (changing nothing), as crm.service.tickets does: concurrent editors queue on both engines.
        connection.execute(
            sla_policies.update()
            .where(sla_policies.c.priority == priority)
            .values(version=sla_policies.c.version, updated_at=sla_policies.c.updated_at)
        )
        before = connection.execute(select(sla_policies).where(sla_policies.c.priority == priority)).first()
        values = {"first_response_hours": first_response_hours, "resolution_hours": resolution_hours}
        if before is None:
            stamps = {"created_at": now, "updated_at": now}
            connection.execute(sla_policies.insert().values(priority=priority, **stamps, **values))
            record_audit(connection, actor, "create", SLA_TABLE, priority, after=values)
        else:
            if expected_version is not None and int(before.version) != int(expected_version):
                raise ValueError(
                    f"The {priority} SLA was changed by someone else meanwhile; reload to see the current targets."
                )
            connection.execute(
                sla_policies.update()
                .where(sla_policies.c.priority == priority)
                .values(updated_at=now, version=sla_policies.c.version + 1, **values)
            )
            old = {"first_response_hours": before.first_response_hours, "resolution_hours": before.resolution_hours}
            record_audit(connection, actor, "update", SLA_TABLE, priority, before=old, after=values)
    return next(policy for policy in sla_policies_list(engine) if policy.priority == priority)


def sla_state(
    ticket: Mapping[str, Any], targets: Mapping[str, tuple[int, int]], now: datetime | None = None
) -> SlaState:
    """The ticket's deadline and hours left at ``now`` (UTC); ``ticket`` needs created_at, priority, status,
    first_response_at."""
    now = now or utc_now()
    if ticket["status"] in CLOSED_STATUSES or ticket["priority"] not in targets:
        return SlaState(target=None, due_at=None, hours_left=None)
    first_response_hours, resolution_hours = targets[ticket["priority"]]
    if ticket.get("first_response_at") is None:
        target, hours = "first response", first_response_hours
    else:
        target, hours = "resolution", resolution_hours
    due_at = ticket["created_at"] + timedelta(hours=hours)
    return SlaState(target=target, due_at=due_at, hours_left=(due_at - now).total_seconds() / 3600)


def hours_left_expression(now: datetime) -> Any:
    """SQL: hours left against the running target at ``now`` (negative when overdue; NULL for resolved or
    closed tickets). Needs ``sla_policies`` joined on the ticket's priority (outer join: NULL without one)."""
    target_hours = case(
        (tickets.c.first_response_at.is_(None), sla_policies.c.first_response_hours),
        else_=sla_policies.c.resolution_hours,
    )
    elapsed_hours = days_between(tickets.c.created_at, literal(now)) * 24
    return case(
        (tickets.c.status.in_(CLOSED_STATUSES), None),
        else_=cast(target_hours, Float) - elapsed_hours,
    )
