"""Loyalty: points earned by delivered orders, redeemed, adjusted; tiers and their history.

``crm.loyalty.rules`` holds the earning rule, ``crm.loyalty.ledger`` every write of points
(the only place that changes ``customers.loyalty_points``), ``crm.loyalty.tiers`` the tier
thresholds and history. Analytics are in ``crm.analytics.loyalty``.
"""

from crm.loyalty.ledger import (
    BalanceProblem,
    Entry,
    OrderStatusChange,
    adjust_points,
    apply_order_status_changes,
    balance_problems,
    book,
    customer_ledger,
    find_customer,
    rebuild_balances,
    redeem_for_order,
    redeem_points,
    redeemable_orders,
)
from crm.loyalty.rules import DEFAULT_RULE, EarningRule, LoyaltyError, points_for_total, read_rule, update_rule
from crm.loyalty.tiers import read_tiers, tier_for, tier_history, update_tiers

__all__ = [
    "DEFAULT_RULE",
    "BalanceProblem",
    "EarningRule",
    "Entry",
    "LoyaltyError",
    "OrderStatusChange",
    "adjust_points",
    "apply_order_status_changes",
    "balance_problems",
    "book",
    "customer_ledger",
    "find_customer",
    "points_for_total",
    "read_rule",
    "read_tiers",
    "rebuild_balances",
    "redeem_for_order",
    "redeem_points",
    "redeemable_orders",
    "tier_for",
    "tier_history",
    "update_rule",
    "update_tiers",
]
