"""Points follow an order's status on every write path: delivered earns, cancelled/refunded reverses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from crm.loyalty import LoyaltyError, read_rule, redeem_points, update_rule
from crm.permissions import PermissionDeniedError
from crm.records import RecordQuery, apply_edits, list_records
from crm.records.orders import NewOrder, OrderLine, create_order, update_order_status
from crm.schema import audit_log, orders
from tests.loyalty.conftest import ADA, MANAGER, SAM, assert_invariant, balance, ledger_rows


def _orders_page(engine: Engine):
    return list_records(engine, "orders", RecordQuery(sort_by="id", descending=False)).rows


def _grid_status(engine: Engine, order_id: int, status: str) -> None:
    page = _orders_page(engine)
    position = int(page.index[page["id"] == order_id][0])
    changes = {"edited_rows": {position: {"status": status}}, "added_rows": [], "deleted_rows": []}
    outcome = apply_edits(engine, "orders", page, changes, SAM)
    assert outcome.ok, outcome.problems


def test_an_order_set_to_delivered_in_the_orders_grid_earns_one_point_per_whole_unit_of_its_total(
    loyal_shop: Engine,
) -> None:
    # O5 (Chloe, shipped, total 38.00) -> delivered: floor(38.00 x 1) = 38 points.
    _grid_status(loyal_shop, 5, "delivered")
    assert ledger_rows(loyal_shop, 3) == [("earn", 38, 5)]
    assert balance(loyal_shop, 3) == 38
    assert_invariant(loyal_shop)


def test_delivering_an_order_twice_never_earns_twice(loyal_shop: Engine) -> None:
    update_order_status(loyal_shop, [5], "delivered", SAM)
    update_order_status(loyal_shop, [5], "shipped", SAM)
    update_order_status(loyal_shop, [5], "delivered", SAM)
    _grid_status(loyal_shop, 5, "delivered")
    assert ledger_rows(loyal_shop, 3) == [("earn", 38, 5)]
    assert balance(loyal_shop, 3) == 38


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_cancelling_or_refunding_a_delivered_order_reverses_its_points(loyal_shop: Engine, status: str) -> None:
    update_order_status(loyal_shop, [5], "delivered", SAM)
    _grid_status(loyal_shop, 5, status)
    assert ledger_rows(loyal_shop, 3) == [("earn", 38, 5), ("reversal", -38, 5)]
    assert balance(loyal_shop, 3) == 0
    assert_invariant(loyal_shop)


def test_an_order_delivered_again_after_a_refund_earns_again_once(loyal_shop: Engine) -> None:
    update_order_status(loyal_shop, [5], "delivered", SAM)
    update_order_status(loyal_shop, [5], "refunded", SAM)
    update_order_status(loyal_shop, [5], "delivered", SAM)
    update_order_status(loyal_shop, [5], "delivered", SAM)
    assert ledger_rows(loyal_shop, 3) == [("earn", 38, 5), ("reversal", -38, 5), ("earn", 38, 5)]


def test_a_refund_after_the_points_were_spent_takes_back_only_what_is_left(loyal_shop: Engine) -> None:
    update_order_status(loyal_shop, [5], "delivered", SAM)
    redeem_points(loyal_shop, SAM, 3, 30, "Free mug")
    update_order_status(loyal_shop, [5], "refunded", SAM)
    # 38 earned, 30 spent: the reversal takes the 8 left; the balance stops at 0.
    assert ledger_rows(loyal_shop, 3) == [("earn", 38, 5), ("redeem", -30, None), ("reversal", -8, 5)]
    assert balance(loyal_shop, 3) == 0
    assert_invariant(loyal_shop)


def test_a_new_order_entered_as_delivered_in_the_order_form_earns_at_once(loyal_shop: Engine) -> None:
    # 2 x T-shirt 20.00 = 40.00 + 10 % tax 4.00 + shipping 5.00 = 49.00 -> 49 points for Eve.
    order_id = create_order(
        loyal_shop,
        NewOrder(
            customer_id=5, lines=(OrderLine(product_id=1, quantity=2),), shipping=Decimal("5"), status="delivered"
        ),
        SAM,
    )
    assert ledger_rows(loyal_shop, 5) == [("earn", 49, order_id)]
    assert balance(loyal_shop, 5) == 49
    assert_invariant(loyal_shop)


def test_a_new_pending_order_earns_nothing_until_it_is_delivered(loyal_shop: Engine) -> None:
    order_id = create_order(loyal_shop, NewOrder(customer_id=5, lines=(OrderLine(product_id=2, quantity=1),)), SAM)
    assert ledger_rows(loyal_shop, 5) == []
    update_order_status(loyal_shop, [order_id], "delivered", SAM)
    # Mug 10.00 + tax 1.00 = 11.00 -> 11 points.
    assert ledger_rows(loyal_shop, 5) == [("earn", 11, order_id)]


def test_the_earning_rule_edited_by_a_manager_applies_to_orders_delivered_afterwards(loyal_shop: Engine) -> None:
    update_order_status(loyal_shop, [5], "delivered", SAM)
    rule = update_rule(loyal_shop, MANAGER, points_per_currency_unit="2.5", points_per_discount_unit=50)
    assert (rule.points_per_currency_unit, rule.points_per_discount_unit) == (Decimal("2.5"), 50)
    # O7 (Dan, pending, 50.00) -> floor(50.00 x 2.5) = 125 points; O5's 38 stay as earned.
    update_order_status(loyal_shop, [7], "delivered", SAM)
    assert ledger_rows(loyal_shop, 4)[-1] == ("earn", 125, 7)
    assert ledger_rows(loyal_shop, 3) == [("earn", 38, 5)]
    with loyal_shop.connect() as connection:
        assert read_rule(connection).version == 1
        entities = list(connection.execute(select(audit_log.c.entity).where(audit_log.c.entity == "loyalty_settings")))
    assert len(entities) == 1


def test_an_agent_cannot_change_the_earning_rule_and_a_negative_rate_is_refused(loyal_shop: Engine) -> None:
    with pytest.raises(PermissionDeniedError):
        update_rule(loyal_shop, SAM, points_per_currency_unit=3, points_per_discount_unit=100)
    with pytest.raises(LoyaltyError, match="0 or more"):
        update_rule(loyal_shop, ADA, points_per_currency_unit=-1, points_per_discount_unit=100)


def test_every_balance_change_of_an_order_is_audited_with_the_ledger_rows(loyal_shop: Engine) -> None:
    update_order_status(loyal_shop, [5], "delivered", SAM)
    with loyal_shop.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.username, audit_log.c.before_json, audit_log.c.after_json).where(
                audit_log.c.entity == "customers", audit_log.c.entity_id == "3"
            )
        ).all()
        status = connection.execute(select(orders.c.status).where(orders.c.id == 5)).scalar_one()
    assert status == "delivered"
    assert [row.username for row in rows] == ["sam"]
    assert '"loyalty_points": 0' in rows[0].before_json and '"loyalty_points": 38' in rows[0].after_json
