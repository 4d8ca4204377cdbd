"""Ticket workflow on both engines: transitions, system notes written with the change, stamps,
satisfaction, permissions and audit rows."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select

from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log, ticket_notes, tickets
from crm.service import tickets as workflow
from crm.service.queue import ticket_detail
from crm.service.tickets import (
    TicketError,
    add_note,
    allowed_transitions,
    assign_ticket,
    change_category,
    change_priority,
    change_status,
    create_ticket,
    record_satisfaction,
    update_ticket,
)
from tests.fixtures.tiny_shop import TinyShop

SAM = Actor(user_id=2, username="sam", role="agent")
ADA = Actor(user_id=1, username="ada", role="admin")
ANALYST = Actor(user_id=None, username="ann", role="analyst")


def _ticket(engine: Engine, number: str) -> dict[str, object]:
    with engine.connect() as connection:
        return dict(connection.execute(select(tickets).where(tickets.c.ticket_number == number)).one()._mapping)


def _notes(engine: Engine, number: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ticket_notes.c.note_type, ticket_notes.c.body)
            .join(tickets, tickets.c.id == ticket_notes.c.ticket_id)
            .where(tickets.c.ticket_number == number)
            .order_by(ticket_notes.c.id)
        ).all()
    return [tuple(row) for row in rows]


def _audits(engine: Engine, entity: str = "tickets") -> list[dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.username, audit_log.c.action, audit_log.c.before_json, audit_log.c.after_json)
            .where(audit_log.c.entity == entity)
            .order_by(audit_log.c.id)
        ).all()
    return [
        {
            "username": row.username,
            "action": row.action,
            "before": json.loads(row.before_json) if row.before_json else None,
            "after": json.loads(row.after_json) if row.after_json else None,
        }
        for row in rows
    ]


@pytest.fixture
def opened(tiny_shop: TinyShop) -> str:
    """A new ticket of Alice (customer 1) about her order O2, opened by sam."""
    return create_ticket(
        tiny_shop.engine,
        SAM,
        customer_id=1,
        subject="Wrong size",
        priority="high",
        category="returns",
        order_id=2,
        body="The shirt is too small.",
    )


def test_a_new_ticket_is_open_with_its_message_a_system_note_and_an_audit_row(tiny_shop: TinyShop, opened: str) -> None:
    row = _ticket(tiny_shop.engine, opened)
    assert (row["status"], row["priority"], row["category"], row["order_id"]) == ("open", "high", "returns", 2)
    assert row["description"] == "The shirt is too small."
    assert row["first_response_at"] is None and row["resolved_at"] is None
    assert _notes(tiny_shop.engine, opened) == [("system", "sam opened the ticket (high priority, returns).")]
    created = _audits(tiny_shop.engine)[-1]
    assert created["action"] == "create" and created["username"] == "sam"
    assert created["after"]["ticket_number"] == opened


def _ticket_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(tickets)).scalar_one()


def test_an_order_of_another_customer_or_a_missing_customer_is_refused(tiny_shop: TinyShop) -> None:
    before = _ticket_count(tiny_shop.engine)
    with pytest.raises(TicketError, match="belongs to another customer"):
        create_ticket(tiny_shop.engine, SAM, customer_id=1, subject="x", order_id=3)  # order 3 is Bob's
    with pytest.raises(TicketError, match="no customer 99"):
        create_ticket(tiny_shop.engine, SAM, customer_id=99, subject="x")
    with pytest.raises(TicketError, match="Unknown category"):
        create_ticket(tiny_shop.engine, SAM, customer_id=1, subject="x", category="order")
    with pytest.raises(TicketError, match="subject is empty"):
        create_ticket(tiny_shop.engine, SAM, customer_id=1, subject="  ")
    assert _ticket_count(tiny_shop.engine) == before


def test_the_transition_table_allows_working_states_and_reopening_only(tiny_shop: TinyShop) -> None:
    assert allowed_transitions("open") == ("in_progress", "waiting", "resolved")
    assert allowed_transitions("waiting") == ("open", "in_progress", "resolved")
    assert allowed_transitions("resolved") == ("open", "closed")
    assert allowed_transitions("closed") == ("open",)


def test_refused_transitions_name_what_is_allowed_and_change_nothing(tiny_shop: TinyShop, opened: str) -> None:
    with pytest.raises(TicketError, match="cannot go from open to closed; it can become in progress or waiting or"):
        change_status(tiny_shop.engine, SAM, opened, "closed")
    change_status(tiny_shop.engine, SAM, opened, "resolved", note="Exchanged for a larger size.")
    change_status(tiny_shop.engine, SAM, opened, "closed")
    with pytest.raises(TicketError, match=r"closed to in progress \(reopen it first\)"):
        change_status(tiny_shop.engine, SAM, opened, "in_progress")
    with pytest.raises(TicketError, match="already closed"):
        change_status(tiny_shop.engine, SAM, opened, "closed")
    assert _ticket(tiny_shop.engine, opened)["status"] == "closed"


def test_each_change_writes_a_system_note_naming_who_and_from_to(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    change_status(engine, SAM, opened, "in_progress")
    change_priority(engine, SAM, opened, "urgent")
    change_category(engine, SAM, opened, "feature_request")
    assign_ticket(engine, ADA, opened, 2)
    assign_ticket(engine, ADA, opened, None)
    assert _notes(engine, opened)[1:] == [
        ("system", "sam changed the status: open → in progress."),
        ("system", "sam changed the priority: high → urgent."),
        ("system", "sam changed the category: returns → feature request."),
        ("system", "ada changed the assignee: nobody → sam."),
        ("system", "ada changed the assignee: sam → nobody."),
    ]
    updates = [audit for audit in _audits(engine) if audit["action"] == "update"]
    assert [(audit["before"], audit["after"]) for audit in updates] == [
        ({"status": "open"}, {"status": "in_progress"}),
        ({"priority": "high"}, {"priority": "urgent"}),
        ({"category": "returns"}, {"category": "feature_request"}),
        ({"assignee_id": None}, {"assignee_id": 2}),
        ({"assignee_id": 2}, {"assignee_id": None}),
    ]


def test_a_failing_change_leaves_neither_the_system_note_nor_the_audit_row(
    tiny_shop: TinyShop, opened: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = tiny_shop.engine
    notes_before, audits_before = _notes(engine, opened), _audits(engine)

    def broken_audit(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    # The audit row is written last, after the note and the update: failing there must undo both.
    monkeypatch.setattr(workflow, "record_audit", broken_audit)
    with pytest.raises(RuntimeError):
        change_priority(engine, SAM, opened, "low")
    with pytest.raises(RuntimeError):
        change_status(engine, SAM, opened, "resolved", note="done")
    assert _ticket(engine, opened)["priority"] == "high" and _ticket(engine, opened)["status"] == "open"
    assert _notes(engine, opened) == notes_before and _audits(engine) == audits_before


def test_the_first_reply_to_the_customer_stamps_the_first_response_once(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    add_note(engine, SAM, opened, note_type="internal", body="Check stock of size L.")
    add_note(engine, SAM, opened, note_type="customer_message", body="Any news?")
    assert _ticket(engine, opened)["first_response_at"] is None  # neither is an answer to the customer
    add_note(engine, SAM, opened, note_type="customer_reply", body="A larger one is on its way.")
    first = _ticket(engine, opened)["first_response_at"]
    assert isinstance(first, datetime)
    add_note(engine, SAM, opened, note_type="customer_reply", body="It shipped today.")
    assert _ticket(engine, opened)["first_response_at"] == first
    stamped = [audit for audit in _audits(engine) if audit["action"] == "update"]
    assert len(stamped) == 1 and stamped[0]["before"] == {"first_response_at": None}


def test_resolving_needs_a_resolution_note_and_stamps_resolved_at(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    with pytest.raises(TicketError, match="resolution note is empty"):
        change_status(engine, SAM, opened, "resolved")
    with pytest.raises(TicketError, match="resolution note is empty"):
        change_status(engine, SAM, opened, "resolved", note="   ")
    assert _ticket(engine, opened)["resolved_at"] is None
    change_status(engine, SAM, opened, "resolved", note="Exchanged for a larger size.")
    row = _ticket(engine, opened)
    assert row["status"] == "resolved" and isinstance(row["resolved_at"], datetime)
    assert _notes(engine, opened)[-2:] == [
        ("system", "sam changed the status: open → resolved."),
        ("resolution", "Exchanged for a larger size."),
    ]


def test_reopening_clears_resolved_at_and_the_rating_of_the_old_resolution(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    change_status(engine, SAM, opened, "resolved", note="Exchanged.")
    change_status(engine, SAM, opened, "closed")
    record_satisfaction(engine, SAM, opened, 2)
    change_status(engine, SAM, opened, "open", note="The new one is too small as well.")
    row = _ticket(engine, opened)
    assert (row["status"], row["resolved_at"], row["satisfaction"]) == ("open", None, None)
    assert _notes(engine, opened)[-2:] == [
        ("system", "sam reopened the ticket: closed → open."),
        ("internal", "The new one is too small as well."),
    ]


def test_satisfaction_is_recorded_on_closed_tickets_only_and_within_one_to_five(
    tiny_shop: TinyShop, opened: str
) -> None:
    engine = tiny_shop.engine
    with pytest.raises(TicketError, match="is open: satisfaction is recorded once it is closed"):
        record_satisfaction(engine, SAM, opened, 4)
    change_status(engine, SAM, opened, "resolved", note="Exchanged.")
    with pytest.raises(TicketError, match="is resolved"):
        record_satisfaction(engine, SAM, opened, 4)
    change_status(engine, SAM, opened, "closed")
    with pytest.raises(TicketError, match="1 to 5, not 6"):
        record_satisfaction(engine, SAM, opened, 6)
    record_satisfaction(engine, SAM, opened, 4)
    assert _ticket(engine, opened)["satisfaction"] == 4
    assert _notes(engine, opened)[-1] == ("system", "sam recorded satisfaction: none → 4/5.")


def test_a_closed_ticket_is_not_edited_until_it_is_reopened(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    change_status(engine, SAM, opened, "resolved", note="Exchanged.")
    change_status(engine, SAM, opened, "closed")
    for attempt in (
        lambda: add_note(engine, SAM, opened, note_type="internal", body="late"),
        lambda: change_priority(engine, SAM, opened, "low"),
        lambda: change_category(engine, SAM, opened, "other"),
        lambda: assign_ticket(engine, SAM, opened, 1),
    ):
        with pytest.raises(TicketError, match="is closed: reopen it"):
            attempt()
    row = _ticket(engine, opened)
    assert (row["priority"], row["category"], row["assignee_id"]) == ("high", "returns", None)


def test_a_stale_version_is_refused(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    seen = ticket_detail(engine, opened).version
    add_note(engine, SAM, opened, note_type="internal", body="someone else was quicker")
    with pytest.raises(TicketError, match="changed by someone else"):
        change_status(engine, SAM, opened, "waiting", expected_version=seen)
    assert _ticket(engine, opened)["status"] == "open"


def test_roles_without_ticket_rights_are_refused(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    with pytest.raises(PermissionDeniedError, match="manage tickets"):
        create_ticket(engine, ANALYST, customer_id=1, subject="x")
    with pytest.raises(PermissionDeniedError):
        add_note(engine, ANALYST, opened, note_type="internal", body="x")
    with pytest.raises(PermissionDeniedError):
        change_status(engine, ANALYST, opened, "waiting")
    assert _notes(engine, opened) == [("system", "sam opened the ticket (high priority, returns).")]


def test_notes_are_audited_with_their_ticket_and_type(tiny_shop: TinyShop, opened: str) -> None:
    add_note(tiny_shop.engine, SAM, opened, note_type="internal", body="Call the courier.")
    audit = _audits(tiny_shop.engine, "ticket_notes")[-1]
    assert audit["action"] == "create" and audit["username"] == "sam"
    assert audit["after"] == {"ticket": opened, "note_type": "internal", "body": "Call the courier."}


def test_the_detail_lists_the_conversation_oldest_first_with_customer_and_order(
    tiny_shop: TinyShop, opened: str
) -> None:
    add_note(tiny_shop.engine, SAM, opened, note_type="customer_reply", body="On its way.")
    detail = ticket_detail(tiny_shop.engine, opened)
    assert (detail.customer_name, detail.customer_email, detail.order_number) == (
        "Alice Kim",
        "alice@example.com",
        "O2",
    )
    assert [(note.note_type, note.author) for note in detail.notes] == [("system", "sam"), ("customer_reply", "sam")]


def test_several_fields_change_in_one_transaction_with_a_note_each(tiny_shop: TinyShop, opened: str) -> None:
    engine = tiny_shop.engine
    version = ticket_detail(engine, opened).version
    changed = update_ticket(
        engine, SAM, opened, priority="low", category="returns", assignee_id=2, expected_version=version
    )
    assert changed == ["priority", "assignee_id"]  # the category was already returns
    assert _notes(engine, opened)[1:] == [
        ("system", "sam changed the priority: high → low."),
        ("system", "sam changed the assignee: nobody → sam."),
    ]
    assert ticket_detail(engine, opened).version == version + 1
    audit = _audits(engine)[-1]
    assert (audit["before"], audit["after"]) == (
        {"priority": "high", "assignee_id": None},
        {"priority": "low", "assignee_id": 2},
    )
    with pytest.raises(TicketError, match="changed by someone else"):
        update_ticket(engine, SAM, opened, priority="urgent", expected_version=version)
