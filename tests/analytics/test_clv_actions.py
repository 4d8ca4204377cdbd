"""Customer groups with actions on the Lifetime value page, checked by hand on tiny_shop (both engines)."""

from __future__ import annotations

import dataclasses
from datetime import date

from crm.analytics.clv import clv_analysis
from crm.analytics.clv_actions import ACTION_GROUPS, action_groups, slipping_away_sentence
from tests.fixtures.tiny_shop import TinyShop

AS_OF = date(2025, 4, 1)


def test_tiny_shops_customers_fall_in_one_group_each(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF, unit="W")
    groups = {group.name: group for group in action_groups(analysis)}
    # Alice (high tier, three orders) is a best customer; Bob, Chloe and Dan bought once and are not silent
    # for more than 180 days (the fallback rule, no model on four customers).
    assert list(groups) == ["Bought once, still active", "Best customers"]
    assert (groups["Best customers"].customers, groups["Best customers"].spent_so_far) == (1, 176.0)
    once = groups["Bought once, still active"]
    assert (once.customers, once.spent_so_far, once.expected_spend) == (3, 126.0, None)  # 38 + 38 + 50
    assert once.action == ACTION_GROUPS["Bought once, still active"]
    assert slipping_away_sentence(analysis) == (
        "0 of 4 customers (0%) are likely slipping away: they have not bought for more than 180 days."
    )


def test_slipping_customers_are_split_by_value(tiny_shop: TinyShop) -> None:
    analysis = clv_analysis(tiny_shop.engine, as_of=AS_OF, unit="W")
    # Flag Alice (high tier) and Bob (low tier) as slipping away, as a model would.
    flagged = analysis.customers.assign(churn_risk=analysis.customers["customer_id"].isin([1, 2]))
    groups = {group.name: group for group in action_groups(dataclasses.replace(analysis, customers=flagged))}
    assert list(groups) == ["Valuable, slipping away", "Slipping away", "Bought once, still active"]
    assert (groups["Valuable, slipping away"].customers, groups["Valuable, slipping away"].spent_so_far) == (1, 176.0)
    assert (groups["Slipping away"].customers, groups["Slipping away"].spent_so_far) == (1, 38.0)
    assert sum(group.customers for group in groups.values()) == 4
    assert slipping_away_sentence(dataclasses.replace(analysis, customers=flagged)).startswith(
        "2 of 4 customers (50%) are likely slipping away"
    )


def test_an_empty_analysis_has_no_groups(engine) -> None:
    analysis = clv_analysis(engine, as_of=AS_OF, unit="W")
    assert action_groups(analysis) == []
    assert slipping_away_sentence(analysis).startswith("0 of 0 customers")
