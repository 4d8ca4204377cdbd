"""Redemption (manual or as an order discount) and adjustments: ledger rows, never below zero, tiers recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from crm.loyalty import LoyaltyError, adjust_points, redeem_for_order, redeem_points, tier_history, update_tiers
from crm.permissions import PermissionDeniedError
from crm.records import RecordQuery, apply_edits, list_records
from crm.records.orders import update_order_status
from crm.schema import orders
from tests.loyalty.conftest import ANALYST, MANAGER, SAM, assert_invariant, balance, ledger_rows


def test_a_manual_redemption_with_a_reason_takes_the_points(loyal_shop: Engine) -> None:
    entry = redeem_points(loyal_shop, SAM, 2, 120, "Gift card")
    assert (entry.kind, entry.points, entry.reason) == ("redeem", -120, "Gift card")
    assert balance(loyal_shop, 2) == 300 - 120
    assert_invariant(loyal_shop)


def test_redeeming_more_than_the_balance_is_refused_and_writes_nothing(loyal_shop: Engine) -> None:
    with pytest.raises(LoyaltyError, match="has 300 points; 301 cannot be redeemed"):
        redeem_points(loyal_shop, SAM, 2, 301, "Too much")
    with pytest.raises(LoyaltyError, match="reason"):
        redeem_points(loyal_shop, SAM, 2, 10, "  ")
    with pytest.raises(LoyaltyError, match="at least 1"):
        redeem_points(loyal_shop, SAM, 2, 0, "Nothing")
    with pytest.raises(PermissionDeniedError):
        redeem_points(loyal_shop, ANALYST, 2, 10, "Analysts only read")
    assert ledger_rows(loyal_shop, 2) == []
    assert balance(loyal_shop, 2) == 300


def test_points_become_a_discount_on_an_open_order_and_it_then_earns_on_the_lower_total(loyal_shop: Engine) -> None:
    # O7: Dan, pending, 50 + 5 tax - 5 discount = 50.00. 500 points at 100 per 1.00 = 5.00 off.
    assert redeem_for_order(loyal_shop, SAM, 7, 500) == Decimal("5.00")
    with loyal_shop.connect() as connection:
        order = connection.execute(select(orders.c.discount, orders.c.total).where(orders.c.id == 7)).one()
    assert (order.discount, order.total) == (Decimal("10.00"), Decimal("45.00"))
    update_order_status(loyal_shop, [7], "delivered", SAM)
    assert ledger_rows(loyal_shop, 4) == [("redeem", -500, 7), ("earn", 45, 7)]
    assert balance(loyal_shop, 4) == 6000 - 500 + 45
    assert_invariant(loyal_shop)


def test_a_discount_is_refused_on_a_delivered_order_and_above_the_order_total(loyal_shop: Engine) -> None:
    with pytest.raises(LoyaltyError, match="delivered"):
        redeem_for_order(loyal_shop, SAM, 1, 100)
    with pytest.raises(LoyaltyError, match="more than the order's total"):
        redeem_for_order(loyal_shop, SAM, 7, 5100)  # 51.00 > 50.00
    assert ledger_rows(loyal_shop, 4) == []


def test_a_manager_adjusts_points_with_a_reason_but_never_below_zero(loyal_shop: Engine) -> None:
    adjust_points(loyal_shop, MANAGER, 2, 50, "Apology for a late parcel")
    adjust_points(loyal_shop, MANAGER, 2, -30, "Double-booked goodwill")
    assert ledger_rows(loyal_shop, 2) == [("adjustment", 50, None), ("adjustment", -30, None)]
    with pytest.raises(LoyaltyError, match="never goes below zero"):
        adjust_points(loyal_shop, MANAGER, 2, -321, "Too much")
    with pytest.raises(PermissionDeniedError):
        adjust_points(loyal_shop, SAM, 2, 10, "Agents redeem, managers adjust")
    assert balance(loyal_shop, 2) == 320
    assert_invariant(loyal_shop)


def test_crossing_a_threshold_records_the_tier_change_both_ways(loyal_shop: Engine) -> None:
    # Alice: 1200 (silver) + 3800 = 5000 (gold), then - 4100 = 900 (bronze).
    adjust_points(loyal_shop, MANAGER, 1, 3800, "Anniversary bonus")
    adjust_points(loyal_shop, MANAGER, 1, 50, "Still gold")
    redeem_points(loyal_shop, SAM, 1, 4150, "Weekend trip")
    history = tier_history(loyal_shop, 1)
    assert list(zip(history["from_tier"], history["to_tier"], history["balance"], strict=True)) == [
        ("gold", "bronze", 900),
        ("silver", "gold", 5000),
    ]


def test_a_balance_typed_into_the_customers_grid_is_a_ledger_adjustment_with_its_tier_change(
    loyal_shop: Engine,
) -> None:
    page = list_records(loyal_shop, "customers", RecordQuery(sort_by="id", descending=False)).rows
    changes = {"edited_rows": {1: {"loyalty_points": 1000}}, "added_rows": [], "deleted_rows": []}
    assert apply_edits(loyal_shop, "customers", page, changes, MANAGER).ok
    assert ledger_rows(loyal_shop, 2) == [("adjustment", 700, None)]
    latest = tier_history(loyal_shop, 2).iloc[0]
    assert (latest["from_tier"], latest["to_tier"], latest["balance"]) == ("bronze", "silver", 1000)
    assert_invariant(loyal_shop)


def test_tier_thresholds_are_edited_by_managers_and_must_rise(loyal_shop: Engine) -> None:
    tiers = update_tiers(loyal_shop, MANAGER, {"silver": 500, "gold": 2000})
    assert tiers == (("bronze", 0), ("silver", 500), ("gold", 2000), ("platinum", 10000))
    with pytest.raises(LoyaltyError, match="must need more points"):
        update_tiers(loyal_shop, MANAGER, {"gold": 400})
    with pytest.raises(LoyaltyError, match="starts at 0"):
        update_tiers(loyal_shop, MANAGER, {"bronze": 10})
    with pytest.raises(PermissionDeniedError):
        update_tiers(loyal_shop, SAM, {"silver": 900})
    # Bob's 300 + 250 = 550 now crosses silver (500).
    adjust_points(loyal_shop, MANAGER, 2, 250, "Welcome bonus")
    assert tier_history(loyal_shop, 2).iloc[0][["to_tier", "balance"]].tolist() == ["silver", 550]
