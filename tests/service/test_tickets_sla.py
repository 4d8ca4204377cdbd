"""SLA targets, time left / overdue, the queue's urgency order and filters, and the SLA editor's rules."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log, customers, tickets, users, utc_now
from crm.service.queue import QueueQuery, status_counts, ticket_detail, ticket_queue
from crm.service.sla import SlaState, sla_policies_list, sla_state, sla_targets, update_sla_policy
from crm.service.tickets import assign_ticket, change_status, create_ticket

SAM = Actor(user_id=1, username="sam", role="agent")
MEG = Actor(user_id=2, username="meg", role="manager")
NOW = datetime(2026, 3, 10, 12)


def _hours(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


@pytest.fixture
def desk(engine: Engine) -> dict[str, str]:
    """Tickets against the default targets (urgent 1/24 h, high 4/48, medium 8/96, low 24/168) at NOW:

    A urgent, opened 2 h ago, unanswered: first response 1 h overdue        → -1
    B low, opened 1 h ago, unanswered: 23 h left                           → 23
    C high, opened 6 h ago, unanswered: 2 h overdue                         → -2
    D medium, opened now: 8 h left                                          → 8
    E high, opened 10 h ago, answered: resolution due at 48 h, 38 h left    → 38
    F medium, resolved: no clock
    """
    stamp = utc_now()
    with engine.begin() as connection:
        connection.execute(
            users.insert(),
            [
                {
                    "id": 1,
                    "username": "sam",
                    "full_name": "Sam",
                    "role": "agent",
                    "password_hash": "x",
                    "created_at": stamp,
                    "updated_at": stamp,
                },
                {
                    "id": 2,
                    "username": "meg",
                    "full_name": "Meg",
                    "role": "manager",
                    "password_hash": "x",
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            ],
        )
        connection.execute(
            customers.insert(),
            [
                {
                    "id": 1,
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "email": "ann@example.com",
                    "customer_type": "individual",
                    "status": "active",
                },
                {
                    "id": 2,
                    "first_name": "Bo",
                    "last_name": "Yu",
                    "email": "bo@example.com",
                    "customer_type": "individual",
                    "status": "active",
                },
            ],
        )
    plan = {
        "A": ("urgent", -2, 1),
        "B": ("low", -1, 2),
        "C": ("high", -6, 1),
        "D": ("medium", 0, 1),
        "E": ("high", -10, 2),
        "F": ("medium", -30, 1),
    }
    numbers = {
        name: create_ticket(
            engine, SAM, customer_id=customer, subject=f"ticket {name}", priority=priority, now=_hours(offset)
        )
        for name, (priority, offset, customer) in plan.items()
    }
    with engine.begin() as connection:
        connection.execute(
            tickets.update().where(tickets.c.ticket_number == numbers["E"]).values(first_response_at=_hours(-9))
        )
    change_status(engine, SAM, numbers["F"], "resolved", note="done")
    assign_ticket(engine, SAM, numbers["A"], 1)
    return numbers


def test_the_default_targets_are_seeded_per_priority(engine: Engine) -> None:
    assert sla_targets(engine) == {"urgent": (1, 24), "high": (4, 48), "medium": (8, 96), "low": (24, 168)}


def test_time_left_runs_against_first_response_then_resolution() -> None:
    targets = {"high": (4, 48)}
    opened = {"created_at": NOW, "priority": "high", "status": "open", "first_response_at": None}
    assert sla_state(opened, targets, _hours(3)) == SlaState("first response", _hours(4), 1.0)
    late = sla_state(opened, targets, _hours(5.5))
    assert late.hours_left == -1.5 and late.overdue and late.sentence() == "first response overdue by 1 h 30 min"
    answered = opened | {"first_response_at": _hours(1), "status": "waiting"}
    assert sla_state(answered, targets, _hours(24)) == SlaState("resolution", _hours(48), 24.0)
    assert sla_state(answered, targets, _hours(24)).sentence() == "resolution due in 1 d 0 h"
    assert sla_state(answered | {"status": "resolved"}, targets, _hours(99)).sentence() == "no SLA clock running"


def test_the_queue_puts_overdue_first_then_least_time_left(engine: Engine, desk: dict[str, str]) -> None:
    frame = ticket_queue(engine, QueueQuery(statuses=()), now=NOW)
    by_number = {number: name for name, number in desk.items()}
    assert [by_number[number] for number in frame["ticket_number"]] == ["C", "A", "D", "B", "E", "F"]
    assert frame["hours_left"].round(6).tolist()[:5] == [-2.0, -1.0, 8.0, 23.0, 38.0]
    assert frame["sla"].tolist()[:2] == ["first response overdue by 2 h 0 min", "first response overdue by 1 h 0 min"]
    assert frame["sla"].iloc[4] == "resolution due in 1 d 14 h"


def test_the_overdue_filter_keeps_tickets_past_their_target(engine: Engine, desk: dict[str, str]) -> None:
    frame = ticket_queue(engine, QueueQuery(overdue_only=True), now=NOW)
    assert frame["ticket_number"].tolist() == [desk["C"], desk["A"]]


def test_filters_narrow_the_queue_and_counts_ignore_only_the_status_filter(
    engine: Engine, desk: dict[str, str]
) -> None:
    def names(query: QueueQuery) -> set[str]:
        numbers = set(ticket_queue(engine, query, now=NOW)["ticket_number"])
        return {name for name, number in desk.items() if number in numbers}

    assert names(QueueQuery(priorities=("high",))) == {"C", "E"}
    assert names(QueueQuery(assignee_ids=(1,))) == {"A"}
    assert names(QueueQuery(unassigned=True)) == {"B", "C", "D", "E"}
    assert names(QueueQuery(search="bo@EXAMPLE")) == {"B", "E"}
    assert names(QueueQuery(search=desk["D"])) == {"D"}
    assert names(QueueQuery(statuses=("resolved",))) == {"F"}
    assert status_counts(engine, QueueQuery(priorities=("medium",)), now=NOW) == {
        "open": 1,
        "in_progress": 0,
        "waiting": 0,
        "resolved": 1,
        "closed": 0,
    }


def test_the_ticket_detail_shows_its_sla_state(engine: Engine, desk: dict[str, str]) -> None:
    assert ticket_detail(engine, desk["C"], now=NOW).sla == SlaState("first response", _hours(-2), -2.0)


def test_managers_edit_targets_and_the_change_is_audited(engine: Engine, desk: dict[str, str]) -> None:
    version = next(policy.version for policy in sla_policies_list(engine) if policy.priority == "high")
    update_sla_policy(engine, MEG, "high", first_response_hours=8, resolution_hours=72, expected_version=version)
    assert sla_targets(engine)["high"] == (8, 72)
    # C (high, opened 6 h ago) now has 2 h left instead of being 2 h overdue.
    assert ticket_detail(engine, desk["C"], now=NOW).sla.hours_left == pytest.approx(2.0)
    with engine.connect() as connection:
        row = connection.execute(select(audit_log).where(audit_log.c.entity == "sla_policies")).one()
    assert (row.username, row.action, row.entity_id) == ("meg", "update", "high")
    assert json.loads(row.before_json) == {"first_response_hours": 4, "resolution_hours": 48}
    assert json.loads(row.after_json) == {"first_response_hours": 8, "resolution_hours": 72}
    with pytest.raises(ValueError, match="changed by someone else"):
        update_sla_policy(engine, MEG, "high", first_response_hours=9, resolution_hours=72, expected_version=version)


def test_agents_may_not_edit_targets_and_bad_targets_are_refused(engine: Engine) -> None:
    with pytest.raises(PermissionDeniedError, match="manage service settings"):
        update_sla_policy(engine, SAM, "low", first_response_hours=2, resolution_hours=3)
    with pytest.raises(ValueError, match="at least the first-response target"):
        update_sla_policy(engine, MEG, "low", first_response_hours=10, resolution_hours=5)
    with pytest.raises(ValueError, match="1 to 8784 hours, not 0"):
        update_sla_policy(engine, MEG, "low", first_response_hours=0, resolution_hours=5)
    assert sla_targets(engine)["low"] == (24, 168)
