"""Service analytics: how many tickets came in, how fast they were answered and solved, SLA and CSAT.

Every number is about the tickets **created in the period** (``tickets.created_at`` inside the
sidebar's date range, local days) of customers matching the customer filters (source, gender, age,
type, status and the customer's brand, as wherever customers are counted as people). The period's
state is read **as of its end**: the end of the date range, or now when it has no end or ends later.
A ticket resolved after that moment is still open in that period's numbers.

Definitions (``DEFINITIONS``, shown as help text on the Service page):
* opened — tickets created in the period;
* resolved — of those, tickets resolved by the end of the period (``resolved_at`` set and before it);
* backlog — of those, tickets still open at the end of the period (opened − resolved);
* first-response hours — hours from creation to ``first_response_at``, tickets answered by the end
  of the period: median and 90th percentile (continuous, interpolated like ``percentile_cont``);
* resolution hours — hours from creation to ``resolved_at``, resolved tickets: median and 90th percentile;
* SLA attainment — met ÷ (met + missed) against the priority's targets (``sla_policies``): *met* =
  resolved with first response and resolution within target (a ticket resolved without a separate
  first response was first answered by its resolution); *missed* = a late first response or
  resolution, or still open and already past a target at the end of the period. Tickets still open
  within their targets are not decided yet and count in neither;
* CSAT — average satisfaction (1–5) of the rated tickets, and the count per score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import ColumnElement, Engine, FromClause, and_, case, func, literal, or_, select

from crm.analytics.scope import local_time
from crm.dialect import Grain, days_between, percentile, period_start
from crm.filters import Filters
from crm.schema import customers, sla_policies, tickets, users, utc_now

__all__ = [
    "DEFINITIONS",
    "ServiceSummary",
    "agent_performance",
    "csat_distribution",
    "period_as_of",
    "service_summary",
    "ticket_volume",
]

DEFINITIONS: dict[str, str] = {
    "opened": "Tickets created in the period (local days) by customers matching the filters.",
    "resolved": "Of the tickets opened in the period, those resolved by the end of the period.",
    "backlog": "Of the tickets opened in the period, those still open at the end of the period.",
    "first_response_hours": "Hours from creation to the first reply to the customer, for tickets answered by "
    "the end of the period: the median (half were faster) and the 90th percentile (9 in 10 were faster).",
    "resolution_hours": "Hours from creation to resolution, for tickets resolved by the end of the period: "
    "median and 90th percentile.",
    "sla_attainment": "Share of decided tickets that met both targets of their priority (first response and "
    "resolution, Service desk SLA settings). A late answer, a late resolution or a ticket still open past a "
    "target at the end of the period is missed; tickets still open within their targets are not counted yet.",
    "csat_average": "Average customer satisfaction (1–5) of the rated tickets opened in the period.",
}


@dataclass(frozen=True)
class ServiceSummary:
    """The period's service numbers (see the module docstring); hours and rates are None without tickets."""

    opened: int
    resolved: int
    backlog: int
    first_response_hours_median: float | None
    first_response_hours_p90: float | None
    resolution_hours_median: float | None
    resolution_hours_p90: float | None
    sla_met: int
    sla_missed: int
    sla_attainment: float | None
    rated: int
    csat_average: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def period_as_of(filters: Filters, now: datetime | None = None) -> datetime:
    """The moment a period's tickets are looked at: the end of its date range, but never after now (UTC)."""
    now = now or utc_now()
    _start, end = filters.utc_bounds()
    return min(end, now) if end is not None else now


def _source(filters: Filters) -> FromClause:
    if filters.has_customer_filters() or filters.brands:
        return tickets.join(customers, customers.c.id == tickets.c.customer_id)
    return tickets


def _where(filters: Filters) -> list[ColumnElement[bool]]:
    return filters.period_clauses(tickets.c.created_at) + filters.customer_count_clauses(customers)


def _hours(start: ColumnElement[datetime], end: ColumnElement[datetime]) -> ColumnElement[float]:
    return days_between(start, end) * 24.0


class _Clock:
    """Ticket states as of a moment, as SQL conditions and values."""

    def __init__(self, as_of: datetime) -> None:
        self.as_of = as_of
        self.resolved = and_(tickets.c.resolved_at.is_not(None), tickets.c.resolved_at < as_of)
        self.responded = and_(tickets.c.first_response_at.is_not(None), tickets.c.first_response_at < as_of)
        self.response_hours = case(
            (self.responded, _hours(tickets.c.created_at, tickets.c.first_response_at)), else_=None
        )
        self.resolution_hours = case((self.resolved, _hours(tickets.c.created_at, tickets.c.resolved_at)), else_=None)

    def sla_outcome(self) -> ColumnElement[str | None]:
        """'met', 'missed' or NULL (not decided yet, or no target for the priority)."""
        first_target = sla_policies.c.first_response_hours
        resolution_target = sla_policies.c.resolution_hours
        age = _hours(tickets.c.created_at, literal(self.as_of))
        # Resolved without a separate first response: the resolution was the first answer.
        answer_hours = case(
            (self.responded, _hours(tickets.c.created_at, tickets.c.first_response_at)),
            (self.resolved, _hours(tickets.c.created_at, tickets.c.resolved_at)),
            else_=None,
        )
        answered = or_(self.responded, self.resolved)
        late = or_(
            and_(answered, answer_hours > first_target),
            and_(self.resolved, self.resolution_hours > resolution_target),
            and_(~answered, age > first_target),
            and_(~self.resolved, age > resolution_target),
        )
        return case(
            (first_target.is_(None), None),
            (late, literal("missed")),
            (self.resolved, literal("met")),
            else_=None,
        )


def service_summary(engine: Engine, filters: Filters, *, now: datetime | None = None) -> ServiceSummary:
    """Opened, resolved, backlog, first-response and resolution hours (median, p90), SLA and CSAT.

    One query over the period's tickets; definitions in the module docstring and ``DEFINITIONS``.
    ``now`` (UTC, default the current time) bounds the period's end.
    """
    clock = _Clock(period_as_of(filters, now))
    outcome = clock.sla_outcome()
    query = (
        select(
            func.count(tickets.c.id),
            func.count(tickets.c.id).filter(clock.resolved),
            percentile(clock.response_hours, 0.5),
            percentile(clock.response_hours, 0.9),
            percentile(clock.resolution_hours, 0.5),
            percentile(clock.resolution_hours, 0.9),
            func.count(tickets.c.id).filter(outcome == "met"),
            func.count(tickets.c.id).filter(outcome == "missed"),
            func.count(tickets.c.satisfaction),
            func.avg(tickets.c.satisfaction),
        )
        .select_from(_source(filters).outerjoin(sla_policies, sla_policies.c.priority == tickets.c.priority))
        .where(*_where(filters))
    )
    with engine.connect() as connection:
        row = connection.execute(query).one()
    opened, resolved, fr_median, fr_p90, res_median, res_p90, met, missed, rated, csat = row
    decided = int(met) + int(missed)
    return ServiceSummary(
        opened=int(opened),
        resolved=int(resolved),
        backlog=int(opened) - int(resolved),
        first_response_hours_median=_rounded(fr_median),
        first_response_hours_p90=_rounded(fr_p90),
        resolution_hours_median=_rounded(res_median),
        resolution_hours_p90=_rounded(res_p90),
        sla_met=int(met),
        sla_missed=int(missed),
        sla_attainment=round(int(met) / decided, 4) if decided else None,
        rated=int(rated),
        csat_average=_rounded(csat),
    )


def _rounded(value: object) -> float | None:
    return None if value is None else round(float(value), 2)  # type: ignore[arg-type]


def csat_distribution(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Rated tickets of the period per satisfaction score.

    Columns: score (1–5, every score listed), tickets (rated with that score), share (of rated tickets;
    0 when none are rated).
    """
    score = tickets.c.satisfaction.label("score")
    query = (
        select(score, func.count(tickets.c.id))
        .select_from(_source(filters))
        .where(*_where(filters), tickets.c.satisfaction.is_not(None))
        .group_by(score)
    )
    with engine.connect() as connection:
        counts = dict(connection.execute(query).all())
    frame = pd.DataFrame({"score": range(1, 6)})
    frame["tickets"] = [int(counts.get(value, 0)) for value in frame["score"]]
    total = frame["tickets"].sum()
    frame["share"] = (frame["tickets"] / total).round(4) if total else 0.0
    return frame


def ticket_volume(engine: Engine, filters: Filters, *, grain: Grain = "month") -> pd.DataFrame:
    """Tickets opened per period (local time), category and priority, oldest first.

    Columns: period ('YYYY-MM-DD' first day), category, priority, tickets (opened).
    """
    period = period_start(local_time(tickets.c.created_at, filters), grain).label("period")
    query = (
        select(period, tickets.c.category, tickets.c.priority, func.count(tickets.c.id))
        .select_from(_source(filters))
        .where(*_where(filters))
        .group_by(period, tickets.c.category, tickets.c.priority)
        .order_by(period, tickets.c.category, tickets.c.priority)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=["period", "category", "priority", "tickets"])


def agent_performance(engine: Engine, filters: Filters, *, now: datetime | None = None) -> pd.DataFrame:
    """Per assignee, the period's tickets assigned to them, most assigned first.

    Columns: agent (full name, else username), assigned (tickets of the period assigned to them now),
    resolved (by the end of the period), first_response_hours_median, resolution_hours_median
    (as in ``service_summary``), rated, csat_average (of their rated tickets; NaN when none).
    Unassigned tickets are left out.
    """
    clock = _Clock(period_as_of(filters, now))
    agent = func.coalesce(users.c.full_name, users.c.username).label("agent")
    assigned = func.count(tickets.c.id)
    query = (
        select(
            agent,
            assigned,
            func.count(tickets.c.id).filter(clock.resolved),
            percentile(clock.response_hours, 0.5),
            percentile(clock.resolution_hours, 0.5),
            func.count(tickets.c.satisfaction),
            func.avg(tickets.c.satisfaction),
        )
        .select_from(_source(filters).join(users, users.c.id == tickets.c.assignee_id))
        .where(*_where(filters))
        .group_by(users.c.id, users.c.full_name, users.c.username)
        .order_by(assigned.desc(), agent)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "agent",
            "assigned",
            "resolved",
            "first_response_hours_median",
            "resolution_hours_median",
            "rated",
            "csat_average",
        ],
    )
    for column in ("first_response_hours_median", "resolution_hours_median", "csat_average"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float).round(2)
    return frame
