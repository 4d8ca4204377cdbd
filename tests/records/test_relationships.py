"""Relationship work: owned interactions with an outcome, last contact, follow-ups, tickets, My work, birthdays."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from crm.marketing.segments import save_birthday_segment
from crm.permissions import Actor, PermissionDeniedError
from crm.records import RecordQuery, apply_edits, list_records
from crm.records.birthdays import birthdays_between
from crm.records.relationships import (
    InteractionInput,
    RelationshipError,
    complete_follow_up,
    log_interaction,
    my_work,
    schedule_follow_up,
)
from crm.schema import customers, interactions, segments
from tests.fixtures.tiny_shop import TinyShop

SAM = Actor(user_id=2, username="sam", role="agent")
ADA = Actor(user_id=1, username="ada", role="admin")
ANALYST = Actor(user_id=None, username="ann", role="analyst")
UTC = ZoneInfo("UTC")
SEOUL = ZoneInfo("Asia/Seoul")


def _last_contact(engine: Engine, customer_id: int) -> datetime | None:
    with engine.connect() as connection:
        return connection.execute(select(customers.c.last_contact_at).where(customers.c.id == customer_id)).scalar_one()


def _interaction(engine: Engine, interaction_id: int) -> dict:
    with engine.connect() as connection:
        return dict(
            connection.execute(select(interactions).where(interactions.c.id == interaction_id)).mappings().one()
        )


def test_a_logged_call_is_owned_by_its_author_keeps_its_outcome_and_moves_last_contact(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    called = datetime(2025, 3, 30, 9, 30)
    new_id = log_interaction(
        engine,
        SAM,
        InteractionInput(3, "call", "Asked about sizes", called, outcome="Will order the jacket"),
    )
    row = _interaction(engine, new_id)
    assert (row["user_id"], row["outcome"], row["status"]) == (2, "Will order the jacket", "completed")
    assert _last_contact(engine, 3) == called


def test_an_older_contact_logged_late_never_moves_last_contact_backwards(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    log_interaction(engine, SAM, InteractionInput(3, "call", "Latest", datetime(2025, 3, 30, 9)))
    log_interaction(engine, SAM, InteractionInput(3, "email", "Older", datetime(2025, 3, 1, 9)))
    assert _last_contact(engine, 3) == datetime(2025, 3, 30, 9)


def test_a_planned_interaction_does_not_count_as_a_contact(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    schedule_follow_up(engine, SAM, 3, "Call back about the jacket", datetime(2025, 4, 2, 9))
    assert _last_contact(engine, 3) is None


def test_a_completed_follow_up_clears_the_due_date_and_records_the_contact(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Interaction 2: Dan's meeting (completed) with a follow-up on 1 Apr 2025 09:00.
    contact_id = complete_follow_up(engine, SAM, 2, outcome="Sent the price list")
    assert _interaction(engine, 2)["follow_up_at"] is None
    contact = _interaction(engine, contact_id)
    assert (contact["interaction_type"], contact["status"], contact["outcome"], contact["user_id"]) == (
        "follow_up",
        "completed",
        "Sent the price list",
        2,
    )
    assert _last_contact(engine, 4) == contact["occurred_at"]
    with pytest.raises(RelationshipError, match="has no open follow-up"):
        complete_follow_up(engine, SAM, 2)


def test_wrong_input_is_refused_by_name(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with pytest.raises(RelationshipError, match="Subject is required"):
        log_interaction(engine, SAM, InteractionInput(1, "call", "  ", datetime(2025, 3, 1)))
    with pytest.raises(RelationshipError, match="Type 'fax' is not one of"):
        log_interaction(engine, SAM, InteractionInput(1, "fax", "Hello", datetime(2025, 3, 1)))
    with pytest.raises(RelationshipError, match="cannot be in the future"):
        log_interaction(engine, SAM, InteractionInput(1, "call", "Hello", datetime(2999, 3, 1)))
    with pytest.raises(RelationshipError, match="Customer 77 does not exist"):
        log_interaction(engine, SAM, InteractionInput(77, "call", "Hello", datetime(2025, 3, 1)))
    with pytest.raises(PermissionDeniedError):
        log_interaction(engine, ANALYST, InteractionInput(1, "call", "Hello", datetime(2025, 3, 1)))


def test_a_row_added_in_the_interactions_grid_is_owned_by_the_user_who_saved_it(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = list_records(engine, "interactions", RecordQuery(sort_by="id", descending=False)).rows
    added = {
        "customer_id": 3,
        "interaction_type": "call",
        "subject": "Grid call",
        "priority": "low",
        "status": "completed",
        "occurred_at": "2025-03-30 08:00",
        "outcome": "Booked a visit",
    }
    outcome = apply_edits(
        engine, "interactions", shown, {"edited_rows": {}, "added_rows": [added], "deleted_rows": []}, ADA
    )
    assert outcome.ok, outcome.problems
    row = _interaction(engine, outcome.created[0])
    assert (row["user_id"], row["outcome"]) == (1, "Booked a visit")
    assert _last_contact(engine, 3) == datetime(2025, 3, 30, 8)
    listed = list_records(engine, "interactions", RecordQuery(sort_by="id", descending=False)).rows
    assert list(listed["owner"]) == ["Sam Agent", "Sam Agent", "Ada Admin"]


def test_my_work_lists_follow_ups_by_the_local_day_open_tickets_and_birthdays(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # 31 Mar 16:00 UTC is 1 Apr 01:00 in Seoul: Dan's follow-up (1 Apr 09:00 UTC) is due today there.
    seoul = my_work(engine, 2, SEOUL, now=datetime(2025, 3, 31, 16))
    assert seoul.today == date(2025, 4, 1)
    assert list(seoul.due_today["customer"]) == ["Dan Moss"] and seoul.overdue.empty
    # In UTC it is still 31 Mar: not due yet, neither overdue nor today.
    utc = my_work(engine, 2, UTC, now=datetime(2025, 3, 31, 16))
    assert utc.due_today.empty and utc.overdue.empty
    # A day later it is overdue.
    later = my_work(engine, 2, UTC, now=datetime(2025, 4, 2, 8))
    assert list(later.overdue["customer_id"]) == [4]
    # Sam's open ticket: Bob's "Cancel my order" (the other one is resolved).
    assert list(seoul.open_tickets["ticket_number"]) == ["CS202503040001"]
    assert my_work(engine, 1, UTC, now=datetime(2025, 4, 2, 8)).open_tickets.empty
    # Bob was born on 2 Mar 1985.
    birthday = my_work(engine, 2, UTC, now=datetime(2025, 3, 2, 12)).birthdays
    assert list(birthday["customer"]) == ["Bob Lee"] and list(birthday["turning"]) == [40]


def test_birthdays_in_the_next_days_wrap_into_the_next_month_and_year(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Chloe: 24 Dec 2000. 20 Dec → 26 Dec holds her birthday; Alice (10 May) and Dan (7 Jul) are elsewhere.
    december = birthdays_between(engine, date(2025, 12, 20), date(2025, 12, 26))
    assert list(december["customer"]) == ["Chloe Park"] and list(december["turning"]) == [25]
    assert list(birthdays_between(engine, date(2025, 5, 1), date(2025, 5, 31))["birthday"]) == [date(2025, 5, 10)]
    assert birthdays_between(engine, date(2025, 12, 27), date(2026, 1, 2)).empty


def test_a_birthday_segment_is_saved_in_the_nested_rule_format_and_refreshed_by_name(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    first = save_birthday_segment(engine, ANALYST, "Birthdays in May", 5)
    again = save_birthday_segment(engine, ANALYST, "Birthdays in May", 5)
    with engine.connect() as connection:
        rules = connection.execute(select(segments.c.rules_json).where(segments.c.id == first)).scalar_one()
    assert first == again
    assert json.loads(rules) == {"all": [{"field": "birthday_month", "op": "=", "value": 5}]}
    with pytest.raises(PermissionDeniedError):  # segments are built by analysts and managers, not agents
        save_birthday_segment(engine, SAM, "Birthdays in June", 6)
