"""Customer 360: profile, activity and the value metrics, computed by hand from the tiny shop."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from crm.records.customer360 import customer_360
from tests.fixtures.tiny_shop import TinyShop


def test_alice_360_shows_her_value_activity_and_tier(tiny_shop: TinyShop) -> None:
    view = customer_360(tiny_shop.engine, 1, now=datetime(2025, 3, 31, 12))
    assert view is not None
    summary = view.summary
    # Counted orders O1 49.00 + O2 100.00 + O8 27.00 = 176.00 over 3 orders; AOV 176 / 3 = 58.67.
    assert summary.total_spent == Decimal("176.00")
    assert (summary.order_count, summary.all_orders) == (3, 3)
    assert summary.average_order_value == Decimal("58.67")
    assert (summary.first_purchase, summary.last_purchase) == (datetime(2025, 1, 10, 12), datetime(2025, 3, 28, 12))
    assert (summary.loyalty_points, summary.loyalty_tier) == (1200, "silver")
    assert summary.open_tickets == 0  # her only ticket is resolved
    assert list(view.orders["order_number"]) == ["O8", "O2", "O1"]
    assert list(view.transactions["transaction_number"]) == ["T9", "T2", "T1"]
    assert list(view.visits["paid"]) == [100.0]
    assert list(view.visit_payments["method"]) == ["paypal"]
    assert list(view.interactions["subject"]) == ["Welcome call"]
    assert view.follow_ups.empty
    assert list(view.tickets["ticket_number"]) == ["CS202501110001"]
    assert view.profile["brand"] is None and view.profile["email"] == "alice@example.com"


def test_dan_has_a_follow_up_due_and_refunded_orders_do_not_count(tiny_shop: TinyShop) -> None:
    view = customer_360(tiny_shop.engine, 4, now=datetime(2025, 4, 2))
    assert view is not None
    # O6 (110.00) was refunded; only O7 50.00 counts.
    assert (view.summary.total_spent, view.summary.order_count, view.summary.all_orders) == (Decimal("50.00"), 1, 2)
    assert (view.summary.loyalty_tier, view.summary.follow_ups_due) == ("gold", 1)
    assert list(view.follow_ups["subject"]) == ["Bulk pricing"]


def test_a_customer_without_orders_has_no_aov_and_unknown_customers_give_none(tiny_shop: TinyShop) -> None:
    view = customer_360(tiny_shop.engine, 5)
    assert view is not None
    assert (view.summary.total_spent, view.summary.order_count, view.summary.average_order_value) == (
        Decimal("0.00"),
        0,
        None,
    )
    assert view.summary.loyalty_tier == "bronze"
    assert customer_360(tiny_shop.engine, 999) is None
