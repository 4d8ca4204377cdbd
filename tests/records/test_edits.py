"""apply_edits: validation with row/field messages, one transaction, optimistic locking, audit."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from crm.permissions import Actor, PermissionDeniedError
from crm.records import RecordQuery, apply_edits, entity_spec, list_records
from crm.records.problems import problem_cells
from crm.schema import (
    audit_log,
    customers,
    loyalty_ledger,
    orders,
    price_history,
    products,
    stock_movements,
    tickets,
    visit_payments,
    visits,
)
from crm.settings import get_settings
from tests.fixtures.tiny_shop import TinyShop

ADA = Actor(user_id=1, username="ada", role="admin")
SAM = Actor(user_id=2, username="sam", role="agent")
ANALYST = Actor(user_id=None, username="ann", role="analyst")


def _page(engine: Engine, entity: str = "customers"):
    return list_records(engine, entity, RecordQuery(sort_by="id", descending=False)).rows


def _changes(edited=None, added=None, deleted=None) -> dict:
    return {"edited_rows": edited or {}, "added_rows": added or [], "deleted_rows": deleted or []}


def _customer(engine: Engine, customer_id: int):
    with engine.connect() as connection:
        return connection.execute(select(customers).where(customers.c.id == customer_id)).mappings().one()


def _audit(engine: Engine, entity: str) -> list:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(audit_log).where(audit_log.c.entity == entity).order_by(audit_log.c.id)
            ).mappings()
        )


def test_valid_edits_additions_are_saved_bump_the_version_and_are_audited(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = _page(engine)
    outcome = apply_edits(
        engine,
        "customers",
        shown,
        _changes(
            edited={0: {"city": "Busan", "email": " Alice.New@Example.com "}},
            added=[{"first_name": "Finn", "email": "finn@example.com", "phone": "+82 10-1234-5678"}],
        ),
        SAM,
    )
    assert outcome.ok, outcome.problems
    assert outcome.updated == (1,)
    alice = _customer(engine, 1)
    assert (alice["city"], alice["email"], alice["email_normalized"]) == (
        "Busan",
        "Alice.New@Example.com",
        "alice.new@example.com",
    )
    assert alice["version"] == 2
    finn = _customer(engine, outcome.created[0])
    # Defaults of required fields fill what the new row left empty.
    finn_values = (finn["status"], finn["customer_type"], finn["phone_normalized"])
    assert finn_values == ("active", "individual", "+821012345678")
    audit = _audit(engine, "customers")
    assert [row["action"] for row in audit] == ["update", "create"]
    assert json.loads(audit[0]["before_json"])["city"] == "Seoul"
    assert json.loads(audit[0]["after_json"])["city"] == "Busan"
    assert audit[0]["username"] == "sam"


def test_invalid_values_are_refused_with_row_and_field_and_nothing_is_saved(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = _page(engine)
    outcome = apply_edits(
        engine,
        "customers",
        shown,
        _changes(
            edited={
                0: {"city": "Busan"},  # valid, but must not be saved alone
                1: {"email": "not-an-email", "gender": "robot"},
                2: {"loyalty_points": -5, "status": None},
                3: {"birth_date": "someday", "brand": "Nope"},
            },
            added=[{"city": "Nowhere"}],
        ),
        SAM,
    )
    assert not outcome.ok
    text = "\n".join(outcome.problems)
    assert "Row 2 (id 2), Email: 'not-an-email' is not an email address." in text
    assert "Row 2 (id 2), Gender: 'robot' is not allowed; choose one of female, male, other." in text
    assert "Row 3 (id 3), Loyalty points: -5 is negative" in text
    assert "Row 3 (id 3), Status: is required." in text
    assert "Row 4 (id 4), Birth date: 'someday' is not a date" in text
    assert "Row 4 (id 4), Brand: 'Nope' does not exist." in text
    assert "New row 1: a customer needs at least a name, company, email or phone." in text
    assert _customer(engine, 1)["city"] == "Seoul"
    assert _audit(engine, "customers") == []


def test_money_must_be_non_negative_with_cents_and_references_must_exist(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    outcome = apply_edits(
        engine,
        "transactions",
        _page(engine, "transactions"),
        _changes(
            edited={0: {"amount": -1}, 1: {"amount": "12.345"}, 2: {"customer_id": 999}},
            added=[
                {
                    "transaction_number": "T1",
                    "customer_id": 1,
                    "method": "cash",
                    "amount": 5,
                    "processed_at": "2025-03-01T10:00:00",
                }
            ],
        ),
        SAM,
    )
    text = "\n".join(outcome.problems)
    assert "Row 1 (id 1), Amount: -1 is negative; it must be 0 or more." in text
    assert "Row 2 (id 2), Amount: 12.345 has more than 2 decimals." in text
    assert "Row 3 (id 3), Customer id: customers 999 does not exist." in text
    assert "New row 1, Number: 'T1' is already used by id 1." in text


def test_an_edit_of_a_row_someone_else_changed_meanwhile_is_refused(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    mine = _page(engine)
    theirs = _page(engine)
    assert apply_edits(engine, "customers", theirs, _changes(edited={1: {"city": "Daegu"}}), ADA).ok
    outcome = apply_edits(
        engine, "customers", mine, _changes(edited={0: {"city": "Busan"}, 1: {"city": "Incheon"}}), SAM
    )
    assert outcome.conflict
    assert outcome.problems == (
        "Row 2 (id 2): this customer was changed by someone else since you loaded it (version 1, now 2). "
        "Reload the page and apply your change again.",
    )
    # The whole save was refused: Alice's valid edit in the same save was not written either.
    assert _customer(engine, 1)["city"] == "Seoul"
    assert _customer(engine, 2)["city"] == "Daegu"


def test_deleting_a_referenced_row_is_refused_and_an_unreferenced_one_is_deleted(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = _page(engine)
    refused = apply_edits(engine, "customers", shown, _changes(deleted=[0]), ADA)
    assert not refused.ok
    # Alice: orders O1, O2, O8; transactions T1, T2, T9; 1 ticket, 1 interaction, 1 visit.
    assert refused.problems == (
        "Row 1 (id 1): Customer is still referenced by 1 interaction, 3 orders, 1 visit, 1 ticket, 3 transactions; "
        "it was not deleted. Customers with orders, transactions, visits, interactions or tickets cannot be deleted: "
        "set them inactive.",
    )
    assert _customer(engine, 1)["id"] == 1
    deleted = apply_edits(engine, "customers", shown, _changes(deleted=[4]), ADA)  # Eve: no activity
    assert deleted.ok, deleted.problems
    assert list_records(engine, "customers").total == 4
    assert [row["action"] for row in _audit(engine, "customers")] == ["delete"]


def test_agents_may_edit_but_not_delete_and_analysts_may_not_edit(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = _page(engine)
    with pytest.raises(PermissionDeniedError):
        apply_edits(engine, "customers", shown, _changes(deleted=[4]), SAM)
    with pytest.raises(PermissionDeniedError):
        apply_edits(engine, "customers", shown, _changes(edited={0: {"city": "Busan"}}), ANALYST)


def test_a_price_change_writes_price_history(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = _page(engine, "products")
    outcome = apply_edits(engine, "products", shown, _changes(edited={1: {"price": 12.5, "name": "Big mug"}}), ADA)
    assert outcome.ok, outcome.problems
    apply_edits(engine, "products", _page(engine, "products"), _changes(edited={1: {"name": "Huge mug"}}), ADA)
    with engine.connect() as connection:
        history = connection.execute(select(price_history)).mappings().all()
        price = connection.execute(select(products.c.price).where(products.c.id == 2)).scalar_one()
    assert price == Decimal("12.50")
    assert len(history) == 1  # the name-only edit wrote none
    assert (history[0]["product_id"], history[0]["old_price"], history[0]["new_price"]) == (
        2,
        Decimal("10.00"),
        Decimal("12.50"),
    )
    assert history[0]["changed_by"] == 1


def test_price_history_and_the_stock_ledger_are_read_only_in_the_grid(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    refused = apply_edits(engine, "price_history", _page(engine, "price_history"), _changes(added=[{"x": 1}]), ADA)
    assert refused.problems == (
        "Price history cannot be added here. Written automatically whenever a product's price changes.",
    )
    added = apply_edits(
        engine,
        "stock_movements",
        _page(engine, "stock_movements"),
        _changes(added=[{"product_id": 2, "warehouse": "W1", "movement_type": "out", "quantity": 5}]),
        SAM,
    )
    assert added.problems == (
        "Stock movements cannot be added here. The stock ledger is insert-only: add movements with the form above; "
        "correct a mistake with a correction.",
    )
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(stock_movements)).scalar_one() == 0


def test_an_on_hand_edit_is_recorded_as_a_stock_count(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    outcome = apply_edits(engine, "inventory", _page(engine, "inventory"), _changes(edited={2: {"on_hand": 7}}), SAM)
    assert outcome.ok, outcome.problems
    with engine.connect() as connection:
        movement = connection.execute(select(stock_movements)).mappings().one()
        count = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert (movement["product_id"], movement["movement_type"], movement["quantity"]) == (3, "count", 7)
    assert count == 1


def test_on_hand_cannot_be_counted_below_what_open_orders_reserved(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Mug (row 2): on hand 8, 5 reserved by O7.
    refused = apply_edits(engine, "inventory", _page(engine, "inventory"), _changes(edited={1: {"on_hand": 4}}), SAM)
    assert refused.problems == (
        "Row 2 (id 2): on hand 4 is below the 5 reserved for open orders; ship or cancel those orders first.",
    )
    counted = apply_edits(engine, "inventory", _page(engine, "inventory"), _changes(edited={1: {"on_hand": 5}}), SAM)
    assert counted.ok, counted.problems


def test_a_second_inventory_row_for_the_same_product_and_warehouse_is_refused(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    outcome = apply_edits(
        engine,
        "inventory",
        _page(engine, "inventory"),
        _changes(added=[{"product_id": 1, "warehouse": "W1", "on_hand": 5}]),
        SAM,
    )
    assert outcome.problems == (
        "New row 1: product 1 already has an inventory row in that warehouse (id 1): edit that row instead.",
    )
    assert list_records(engine, "inventory").total == 3


def test_an_order_item_quantity_below_one_is_refused_with_its_row(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    items = list_records(engine, "order_items", RecordQuery(sort_by="id", descending=False)).rows
    outcome = apply_edits(engine, "order_items", items, _changes(edited={0: {"quantity": 0}}), SAM)
    assert outcome.problems == ("Row 1 (id 1): quantity must be at least 1.",)


def test_a_transaction_must_belong_to_the_customer_of_its_order(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # T1 is Alice's payment of O1; O3 is Bob's order.
    outcome = apply_edits(
        engine, "transactions", _page(engine, "transactions"), _changes(edited={0: {"order_id": 3}}), SAM
    )
    assert outcome.problems == ("Row 1 (id 1): order 3 belongs to customer 2, not to customer 1.",)


def test_a_loyalty_points_edit_is_booked_in_the_ledger(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # An agent may not adjust points; an admin may. Alice (row 1) goes from 1200 to 1500: +300 booked.
    refused = apply_edits(engine, "customers", _page(engine), _changes(edited={0: {"loyalty_points": 1500}}), SAM)
    assert refused.problems and "may not adjust points" in refused.problems[0]
    outcome = apply_edits(engine, "customers", _page(engine), _changes(edited={0: {"loyalty_points": 1500}}), ADA)
    assert outcome.ok, outcome.problems
    with engine.connect() as connection:
        booked = connection.execute(
            select(loyalty_ledger.c.customer_id, loyalty_ledger.c.points, loyalty_ledger.c.reason).where(
                loyalty_ledger.c.customer_id == 1
            )
        ).all()
    assert [tuple(row) for row in booked] == [(1, 300, "Manual adjustment by ada")]


def test_new_tickets_get_the_days_number_and_the_workflow_fields_stay_with_the_service_desk(
    tiny_shop: TinyShop,
) -> None:
    engine = tiny_shop.engine
    added = apply_edits(
        engine,
        "tickets",
        _page(engine, "tickets"),
        _changes(
            added=[
                {"customer_id": 3, "subject": "Mug arrived chipped"},
                {"customer_id": 3, "subject": "And the lid too"},
            ]
        ),
        SAM,
    )
    assert added.ok, added.problems
    today = datetime.now(get_settings().timezone).strftime("%Y%m%d")
    with engine.connect() as connection:
        rows = connection.execute(
            select(tickets.c.ticket_number, tickets.c.status, tickets.c.priority, tickets.c.category)
            .where(tickets.c.id.in_(added.created))
            .order_by(tickets.c.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        (f"CS{today}0001", "open", "medium", "general"),
        (f"CS{today}0002", "open", "medium", "general"),
    ]
    # Status changes go through the Service desk (transitions, resolution note, system note).
    shown = list_records(engine, "tickets", RecordQuery(equals=(("id", added.created[0]),))).rows
    refused = apply_edits(engine, "tickets", shown, _changes(edited={0: {"status": "resolved"}}), SAM)
    assert refused.problems == (f"Row 1 (id {added.created[0]}), status: this column cannot be edited.",)


def test_a_visit_with_payments_is_not_deleted_and_the_message_names_them(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    refused = apply_edits(engine, "visits", _page(engine, "visits"), _changes(deleted=[0]), ADA)
    assert refused.problems == (
        "Row 1 (id 1): the visit has payments (id 1: 100.00 paypal on 2025-02-14); it was not deleted. "
        "Delete those payments in the Visit payments tab first if they really were entered by mistake.",
    )
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(visit_payments)).scalar_one() == 1
    payment_gone = apply_edits(engine, "visit_payments", _page(engine, "visit_payments"), _changes(deleted=[0]), ADA)
    assert payment_gone.ok, payment_gone.problems
    deleted = apply_edits(engine, "visits", _page(engine, "visits"), _changes(deleted=[0]), ADA)
    assert deleted.ok, deleted.problems
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(visits)).scalar_one() == 0


def test_an_order_with_transactions_keeps_its_customer(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = list_records(engine, "orders", RecordQuery(equals=(("id", 7),))).rows
    # O7 belongs to Dan (4) and has the pending payment T8.
    refused = apply_edits(engine, "orders", shown, _changes(edited={0: {"customer_id": 2}}), SAM)
    assert refused.problems == (
        "Row 1 (id 7): the customer cannot change from 4 to 2: the order's transactions (T8) belong to customer 4. "
        "Create the order for the other customer instead, or first clear the order id of those transactions.",
    )
    with engine.connect() as connection:
        assert connection.execute(select(orders.c.customer_id).where(orders.c.id == 7)).scalar_one() == 4
    # Without transactions the customer may change: T8 unlinked first, then O7 moves to Bob.
    payments = list_records(engine, "transactions", RecordQuery(equals=(("id", 8),))).rows
    assert apply_edits(engine, "transactions", payments, _changes(edited={0: {"order_id": None}}), SAM).ok
    moved = apply_edits(engine, "orders", shown, _changes(edited={0: {"customer_id": 2}}), SAM)
    assert moved.ok, moved.problems


def test_a_nul_character_in_a_grid_edit_is_refused_with_row_and_field_and_nothing_is_saved(
    tiny_shop: TinyShop,
) -> None:
    engine = tiny_shop.engine
    outcome = apply_edits(
        engine,
        "customers",
        _page(engine),
        _changes(
            edited={0: {"city": "Busan"}, 1: {"notes": "call\x00back"}},
            added=[{"first_name": "Fi\x00nn", "email": "finn@example.com"}],
        ),
        SAM,
    )
    assert outcome.problems == (
        "Row 2 (id 2), Notes: contains a NUL character (\\x00), which cannot be stored; remove it.",
        "New row 1, First name: contains a NUL character (\\x00), which cannot be stored; remove it.",
    )
    assert _customer(engine, 1)["city"] == "Seoul"
    assert _customer(engine, 2)["notes"] != "call\x00back"
    assert _audit(engine, "customers") == []


def test_a_source_and_a_payment_method_typed_in_any_case_are_stored_as_their_codes(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    outcome = apply_edits(
        engine,
        "customers",
        _page(engine),
        _changes(edited={0: {"source": "Social Media"}}, added=[{"first_name": "Finn", "source": "Pop-up Market"}]),
        SAM,
    )
    assert outcome.ok, outcome.problems
    assert _customer(engine, 1)["source"] == "social_media"
    assert _customer(engine, outcome.created[0])["source"] == "pop_up_market"


def test_a_refused_save_names_the_row_and_column_of_each_bad_cell(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    spec = entity_spec("customers")
    outcome = apply_edits(
        engine,
        "customers",
        _page(engine),
        _changes(edited={1: {"email": "not-an-email"}}, added=[{"first_name": "Finn", "gender": "robot"}]),
        SAM,
    )
    cells = [(cell.position, cell.new_row, cell.column) for cell in problem_cells(spec, outcome.problems)]
    assert cells == [(1, None, "email"), (None, 1, "gender")]
