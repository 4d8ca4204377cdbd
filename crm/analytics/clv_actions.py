"""What a shop manager does with a lifetime-value analysis: customer groups, each with an action.

Every customer of a scored ``ClvAnalysis`` falls in exactly one group, decided by their value
tier (top/high = valuable), the churn-risk flag ("slipping away") and whether they bought
once. The groups only re-read the already scored frame (no query, no model), so they always
agree with the page's cards and tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crm.analytics.clv import FALLBACK_CHURN_DAYS, ClvAnalysis

__all__ = ["ACTION_GROUPS", "ActionGroup", "action_groups", "customers_word", "slipping_away_sentence"]

# Value tiers that count as valuable customers (the best 30 % by lifetime value).
VALUABLE_TIERS = ("top", "high")
# Group name → what to do, in the order the page lists them (most urgent first).
ACTION_GROUPS: dict[str, str] = {
    "Valuable, slipping away": (
        "Contact them personally (a call or a personal email) with a thank-you offer and ask why they stopped."
    ),
    "Slipping away": "Send a win-back email with a time-limited offer; stop paid campaigns to those who do not react.",
    "Bought once, still active": (
        "Ask for a second order soon: a follow-up email with products that go with their first purchase."
    ),
    "Best customers": "Keep them close: early access, loyalty rewards and thanks; they need no discount.",
    "Regular customers": "Keep in touch with the newsletter and suggestions from the categories they buy.",
}


@dataclass(frozen=True)
class ActionGroup:
    """One group: its customers, what they spent so far and are expected to spend, and the action."""

    name: str
    customers: int
    spent_so_far: float
    expected_spend: float | None
    action: str


def _group_of(frame: pd.DataFrame) -> pd.Series:
    valuable = frame["tier"].isin(VALUABLE_TIERS)
    slipping = frame["churn_risk"].astype(bool)
    once = frame["frequency"] == 0
    groups = pd.Series("Regular customers", index=frame.index, dtype=object)
    groups[valuable & ~slipping & ~once] = "Best customers"
    groups[once & ~slipping] = "Bought once, still active"
    groups[slipping] = "Slipping away"
    groups[slipping & valuable] = "Valuable, slipping away"
    return groups


def action_groups(analysis: ClvAnalysis) -> list[ActionGroup]:
    """The groups that have customers, most urgent first.

    spent_so_far: sum of historic_value; expected_spend: sum of predicted_value over the
    horizon (None when no model could be fitted).
    """
    frame = analysis.customers
    if frame.empty:
        return []
    grouped = frame.assign(group=_group_of(frame)).groupby("group")
    result = []
    for name, action in ACTION_GROUPS.items():
        if name not in grouped.groups:
            continue
        members = grouped.get_group(name)
        expected = float(members["predicted_value"].sum()) if analysis.fitted else None
        result.append(
            ActionGroup(
                name=name,
                customers=len(members),
                spent_so_far=round(float(members["historic_value"].sum()), 2),
                expected_spend=None if expected is None else round(expected, 2),
                action=action,
            )
        )
    return result


def slipping_away_sentence(analysis: ClvAnalysis) -> str:
    """Churn risk in one short sentence: how many customers are slipping away and what that means."""
    frame = analysis.customers
    customers = len(frame)
    slipping = int(frame["churn_risk"].sum()) if customers else 0
    share = f"{slipping / customers:.0%}" if customers else "0%"
    if not analysis.fitted:
        why = f"they have not bought for more than {FALLBACK_CHURN_DAYS} days"
    else:
        why = "they have gone quiet for longer than their own buying rhythm suggests"
    return f"{slipping:,} of {customers:,} customers ({share}) are likely slipping away: {why}."


def customers_word(count: int) -> str:
    """'1 customer', '12 customers'."""
    return f"{count:,} customer" if count == 1 else f"{count:,} customers"
