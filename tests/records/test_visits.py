"""record_visit: a visit and its payments in one audited transaction; refusals name the field."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from crm.permissions import Actor, PermissionDeniedError
from crm.records import RecordQuery, apply_edits, list_records
from crm.records.customer360 import customer_360
from crm.records.visits import PaymentInput, VisitError, VisitInput, customer_orders, record_visit
from crm.schema import audit_log, visit_payments, visits
from tests.fixtures.tiny_shop import TinyShop

SAM = Actor(user_id=2, username="sam", role="agent")
ADA = Actor(user_id=1, username="ada", role="admin")
ANALYST = Actor(user_id=None, username="ann", role="analyst")
MORNING = datetime(2025, 3, 29, 10, 15)


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]


def test_a_visit_with_two_payments_is_stored_with_an_audit_row_each(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    visit_id = record_visit(
        engine,
        SAM,
        VisitInput(
            customer_id=3,
            visited_at=MORNING,
            location=" Seoul store ",
            purpose="Haircut",
            payments=(PaymentInput("45.50", "cash"), PaymentInput(Decimal("10"), "credit_card", order_id=5)),
        ),
    )
    with engine.connect() as connection:
        visit = connection.execute(select(visits).where(visits.c.id == visit_id)).mappings().one()
        payments = (
            connection.execute(
                select(visit_payments).where(visit_payments.c.visit_id == visit_id).order_by(visit_payments.c.id)
            )
            .mappings()
            .all()
        )
        audit = connection.execute(
            select(audit_log.c.entity, audit_log.c.username).where(audit_log.c.action == "create")
        ).all()
    assert (visit["customer_id"], visit["location"], visit["purpose"]) == (3, "Seoul store", "Haircut")
    assert [(Decimal(p["amount"]), p["method"], p["order_id"]) for p in payments] == [
        (Decimal("45.50"), "cash", None),
        (Decimal("10.00"), "credit_card", 5),
    ]
    # A payment without its own time was taken at the visit.
    assert payments[0]["paid_at"] == MORNING
    assert sorted(audit) == [("visit_payments", "sam"), ("visit_payments", "sam"), ("visits", "sam")]


@pytest.mark.parametrize(
    ("payment", "message"),
    [
        (PaymentInput("0", "cash"), "Payment 1: amount must be above 0, not 0."),
        (PaymentInput("abc", "cash"), "Payment 1: amount 'abc' is not a number."),
        (PaymentInput("1.234", "cash"), "Payment 1: amount 1.234 needs at most 2 decimals and 10 digits."),
        (PaymentInput("5", "barter"), "Payment 1: method 'barter' is not one of"),
        (PaymentInput("5", "cash", order_id=1), "Payment 1: order 1 belongs to another customer."),
        (PaymentInput("5", "cash", order_id=99), "Payment 1: order 99 does not exist."),
    ],
)
def test_a_wrong_payment_is_refused_by_name_and_nothing_is_written(
    tiny_shop: TinyShop, payment: PaymentInput, message: str
) -> None:
    engine = tiny_shop.engine
    with pytest.raises(VisitError) as refused:
        record_visit(engine, SAM, VisitInput(customer_id=3, visited_at=MORNING, payments=(payment,)))
    assert str(refused.value).startswith(message)
    assert (_count(engine, visits), _count(engine, visit_payments)) == (1, 1)


def test_an_unknown_customer_or_a_future_visit_is_refused(tiny_shop: TinyShop) -> None:
    with pytest.raises(VisitError, match="Customer 42 does not exist"):
        record_visit(tiny_shop.engine, SAM, VisitInput(customer_id=42, visited_at=MORNING))
    with pytest.raises(VisitError, match="is in the future"):
        record_visit(tiny_shop.engine, SAM, VisitInput(customer_id=1, visited_at=datetime(2999, 1, 1)))


def test_an_analyst_may_not_record_a_visit(tiny_shop: TinyShop) -> None:
    with pytest.raises(PermissionDeniedError):
        record_visit(tiny_shop.engine, ANALYST, VisitInput(customer_id=1, visited_at=MORNING))
    assert _count(tiny_shop.engine, visits) == 1


def test_the_order_picker_lists_only_the_customers_orders_newest_first(tiny_shop: TinyShop) -> None:
    # Alice: O8 (28 Mar, processing 27.00), O2 (14 Feb, 100.00), O1 (10 Jan, 49.00).
    choices = customer_orders(tiny_shop.engine, 1)
    assert list(choices["id"]) == [8, 2, 1]
    assert choices["label"].iloc[1].endswith("2025-02-14 · 100.00 · delivered")


def test_the_audit_row_of_a_payment_holds_its_amount_as_exact_text(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    record_visit(engine, SAM, VisitInput(customer_id=2, visited_at=MORNING, payments=(PaymentInput("19.99", "cash"),)))
    with engine.connect() as connection:
        after = connection.execute(
            select(audit_log.c.after_json).where(audit_log.c.entity == "visit_payments")
        ).scalar_one()
    assert json.loads(after)["amount"] == "19.99"


def test_customer_360_shows_which_order_a_visit_payment_settles(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    record_visit(
        engine,
        SAM,
        VisitInput(customer_id=3, visited_at=MORNING, payments=(PaymentInput("38.00", "cash", order_id=5),)),
    )
    payments = customer_360(engine, 3).visit_payments  # type: ignore[union-attr]
    order_number = customer_orders(engine, 3)["label"].iloc[0].split(" · ")[0]
    assert list(payments["order_number"]) == [order_number]
    assert list(payments["amount"]) == [38.0]


def test_a_payment_edited_in_the_grid_may_only_settle_an_order_of_the_visitor(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    shown = list_records(engine, "visit_payments", RecordQuery(sort_by="id", descending=False)).rows
    # Payment 1 belongs to Alice's visit: Bob's order O3 is refused, her own O2 is accepted.
    refused = apply_edits(engine, "visit_payments", shown, _edit({"order_id": 3}), ADA)
    assert refused.problems == ("Row 1 (id 1): order 3 belongs to customer 2, not to the visiting customer 1.",)
    assert apply_edits(engine, "visit_payments", shown, _edit({"order_id": 2}), ADA).ok
    with engine.connect() as connection:
        assert connection.execute(select(visit_payments.c.order_id)).scalar_one() == 2


def _edit(values: dict[str, object]) -> dict[str, object]:
    return {"edited_rows": {0: values}, "added_rows": [], "deleted_rows": []}
