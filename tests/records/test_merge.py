"""Merging customers: suggestions, preview, and a merge that moves everything in one audited transaction."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from crm.db import reset_sequences
from crm.permissions import Actor, PermissionDeniedError
from crm.records.merge import MergeError, merge_customers, merge_preview, suggest_pairs
from crm.schema import (
    audit_log,
    campaign_recipients,
    campaigns,
    customers,
    interactions,
    loyalty_ledger,
    loyalty_tier_changes,
    orders,
    tickets,
    transactions,
    visits,
)
from tests.fixtures.tiny_shop import TinyShop

MANAGER = Actor(user_id=1, username="ada", role="manager")
SAM = Actor(user_id=2, username="sam", role="agent")
NOON = datetime(2025, 3, 1, 12)
STAMPS = {"created_at": NOON, "updated_at": NOON}


def _add_duplicate_of_alice(engine: Engine) -> None:
    """Customer 6: Alice again (same email after normalising, another phone), with one of everything.

    Alice (1) has 1,200 points and no ledger rows (tiny_shop); the duplicate has 50 points and a +50 row.
    Both are in campaign 1 (the duplicate was sent it first and opened it); only the duplicate is in campaign 2.
    """
    with engine.begin() as connection:
        connection.execute(
            customers.insert().values(
                id=6,
                first_name="alice",
                last_name="KIM ",
                email=" Alice@Example.com",
                email_normalized="alice@example.com",
                phone="+82 10 5555 0006",
                phone_normalized="821055550006",
                city="Busan",
                loyalty_points=50,
                created_at=datetime(2024, 12, 1, 9),
                updated_at=NOON,
                last_contact_at=datetime(2025, 3, 20, 9),
            )
        )
        connection.execute(
            orders.insert().values(
                id=9,
                order_number="SO-9",
                customer_id=6,
                status="delivered",
                order_date=NOON,
                total=Decimal("50"),
                **STAMPS,
            )
        )
        connection.execute(
            transactions.insert().values(
                id=20,
                transaction_number="T-20",
                customer_id=6,
                order_id=9,
                transaction_type="sale",
                status="completed",
                method="cash",
                amount=Decimal("50"),
                processed_at=NOON,
                **STAMPS,
            )
        )
        connection.execute(visits.insert().values(id=7, customer_id=6, visited_at=NOON, **STAMPS))
        connection.execute(
            interactions.insert().values(
                id=8,
                customer_id=6,
                user_id=2,
                interaction_type="call",
                subject="Hello",
                occurred_at=NOON,
                **STAMPS,
            )
        )
        connection.execute(
            tickets.insert().values(id=5, ticket_number="CS202503010001", customer_id=6, subject="Help", **STAMPS)
        )
        connection.execute(
            loyalty_ledger.insert().values(id=30, customer_id=6, points=50, reason="earned", created_at=NOON)
        )
        connection.execute(
            campaigns.insert(),
            [
                {"id": 1, "name": "Spring", "channel": "email", "status": "finished", **STAMPS},
                {"id": 2, "name": "Summer", "channel": "sms", "status": "finished", **STAMPS},
            ],
        )
        connection.execute(
            campaign_recipients.insert(),
            [
                {"id": 1, "campaign_id": 1, "customer_id": 1, "sent_at": datetime(2025, 3, 1, 9), "opened_at": None},
                {
                    "id": 2,
                    "campaign_id": 1,
                    "customer_id": 6,
                    "sent_at": datetime(2025, 2, 1, 9),
                    "opened_at": datetime(2025, 2, 2, 9),
                },
                {"id": 3, "campaign_id": 2, "customer_id": 6, "sent_at": datetime(2025, 2, 5, 9), "opened_at": None},
            ],
        )
    reset_sequences(engine)


def test_likely_pairs_are_found_by_normalised_email_phone_and_name(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    _add_duplicate_of_alice(engine)
    with engine.begin() as connection:
        # Customer 7 shares Bob's phone digits (written differently); 8 is "Chloe Park" without contacts.
        connection.execute(
            customers.insert().values(
                id=7, first_name="Robert", phone="01000000002", phone_normalized="01000000002", **STAMPS
            )
        )
        connection.execute(customers.insert().values(id=8, first_name=" Chloe", last_name="park", **STAMPS))
    pairs = suggest_pairs(engine)
    assert list(zip(pairs["survivor_id"], pairs["duplicate_id"], pairs["reason"], strict=True)) == [
        (1, 6, "same email"),
        (2, 7, "same phone"),
        (3, 8, "same name"),
    ]
    assert pairs["survivor"].iloc[0] == "Alice Kim · alice@example.com · 010-0000-0001"


def test_the_preview_shows_both_values_suggests_filling_gaps_and_counts_what_moves(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    _add_duplicate_of_alice(engine)
    preview = merge_preview(engine, 1, 6)
    fields = preview.fields.set_index("field")
    assert (fields.loc["city", "survivor"], fields.loc["city", "duplicate"]) == ("Seoul", "Busan")
    assert fields.loc["city", "suggested"] == "survivor"
    # Alice has no company, neither has the duplicate: nothing to fill.
    assert not fields.loc["company", "differs"]
    moving = {table: count for table, count in preview.moving.items() if count}
    assert moving == {
        "orders": 1,
        "transactions": 1,
        "visits": 1,
        "interactions": 1,
        "tickets": 1,
        "loyalty_ledger": 1,
        "campaign_recipients": 2,
    }
    with pytest.raises(MergeError, match="two different customers"):
        merge_preview(engine, 1, 1)


def test_a_merge_moves_every_row_keeps_one_membership_per_campaign_and_sums_points(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    _add_duplicate_of_alice(engine)
    outcome = merge_customers(engine, MANAGER, 1, 6, take_from_duplicate=("phone", "city"))
    with engine.connect() as connection:
        alice = connection.execute(select(customers).where(customers.c.id == 1)).mappings().one()
        gone = connection.execute(select(func.count()).select_from(customers).where(customers.c.id == 6)).scalar_one()
        owners = {
            table.name: connection.execute(select(table.c.customer_id).where(table.c.id == row_id)).scalar_one()
            for table, row_id in ((orders, 9), (transactions, 20), (visits, 7), (interactions, 8), (tickets, 5))
        }
        memberships = connection.execute(
            select(
                campaign_recipients.c.id,
                campaign_recipients.c.campaign_id,
                campaign_recipients.c.sent_at,
                campaign_recipients.c.opened_at,
            )
            .where(campaign_recipients.c.customer_id == 1)
            .order_by(campaign_recipients.c.campaign_id)
        ).all()
        ledger_sum = connection.execute(
            select(func.sum(loyalty_ledger.c.points)).where(loyalty_ledger.c.customer_id == 1)
        ).scalar_one()
        audits = connection.execute(
            select(audit_log.c.entity_id, audit_log.c.after_json).where(audit_log.c.action == "merge")
        ).all()
    assert gone == 0
    assert set(owners.values()) == {1}
    # Campaign 1: Alice's row stays with the earlier send and the duplicate's open; campaign 2 moved over.
    assert [tuple(row) for row in memberships] == [
        (1, 1, datetime(2025, 2, 1, 9), datetime(2025, 2, 2, 9)),
        (3, 2, datetime(2025, 2, 5, 9), None),
    ]
    assert outcome.dropped_recipients == [2]
    # 1,200 (no ledger rows in tiny_shop) + 50 (one +50 row): one adjustment of 1,200 makes the ledger agree.
    assert alice["loyalty_points"] == 1250 == ledger_sum
    assert (alice["phone"], alice["phone_normalized"], alice["city"], alice["email"]) == (
        "+82 10 5555 0006",
        "+821055550006",  # E.164 (crm.contacts), the key imports and the grid use
        "Busan",
        "alice@example.com",
    )
    assert alice["created_at"] == datetime(2024, 12, 1, 9)
    assert alice["last_contact_at"] == datetime(2025, 3, 20, 9)
    assert sorted(entity_id for entity_id, _after in audits) == ["1", "6"]
    detail = json.loads(audits[0][1])
    assert detail["moved"]["orders"] == [9] and detail["moved"]["campaign_recipients"] == [3]
    assert detail["campaign_recipients_dropped"] == [2]
    assert len(detail["moved"]["loyalty_ledger_added"]) == 1
    assert outcome.summary() == (
        "Merged customer 6 into 1. Rows moved or added: campaign recipients 1, interactions 1, loyalty ledger 1, "
        "loyalty ledger added 1, orders 1, tickets 1, transactions 1, visits 1."
    )


def test_only_managers_merge_and_a_stale_view_or_unknown_field_changes_nothing(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    _add_duplicate_of_alice(engine)
    with pytest.raises(PermissionDeniedError):
        merge_customers(engine, SAM, 1, 6)
    with pytest.raises(MergeError, match="was changed since you opened them"):
        merge_customers(engine, MANAGER, 1, 6, expected_versions=(1, 99))
    with pytest.raises(MergeError, match="Unknown fields: password"):
        merge_customers(engine, MANAGER, 1, 6, take_from_duplicate=("password",))
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 6
        assert connection.execute(select(orders.c.customer_id).where(orders.c.id == 9)).scalar_one() == 6


def test_a_merged_balance_that_crosses_a_threshold_records_the_tier_change(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with engine.begin() as connection:
        # Bob has 300 points (bronze, no ledger rows in tiny_shop); his duplicate 800 with a +800 row.
        connection.execute(customers.insert().values(id=6, first_name="Bob", loyalty_points=800, **STAMPS))
        connection.execute(loyalty_ledger.insert().values(customer_id=6, points=800, reason="earned", created_at=NOON))
    merge_customers(engine, MANAGER, 2, 6)
    with engine.connect() as connection:
        changes = connection.execute(
            select(
                loyalty_tier_changes.c.from_tier, loyalty_tier_changes.c.to_tier, loyalty_tier_changes.c.balance
            ).where(loyalty_tier_changes.c.customer_id == 2)
        ).all()
        balance, ledger = connection.execute(
            select(
                customers.c.loyalty_points,
                select(func.sum(loyalty_ledger.c.points)).where(loyalty_ledger.c.customer_id == 2).scalar_subquery(),
            ).where(customers.c.id == 2)
        ).one()
    # 300 + 800 = 1,100 reaches silver (1,000).
    assert tuple(changes[-1]) == ("bronze", "silver", 1100)
    assert balance == ledger == 1100
