"""Message suggestions per kind of segment, written from the segment's own numbers (rule-based, offline).

Kinds: **win-back** (RFM At Risk / Can't Lose Them / Hibernating / About to Sleep, a churn or lapsed
name, or a rule on days since the last order with > / >=), **birthday** (a birthday_month rule or
"birthday" in the name), **tier upgrade** (a loyalty tier / points rule, or "tier"/"loyal" in the
name) and **thank-you** (RFM Champions / Loyal Customers, or "champion"/"vip" in the name). The
segment's kinds come first (``recommended``); the others follow so any segment gets all four ideas.
The numbers (members, buyers, average spend, days since the last order, birthdays this month,
average points) shape the wording and the offer, and are quoted in ``why``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from crm.marketing.segments import get_segment, segment_members
from crm.marketing.templates import Template
from crm.schema import LOYALTY_TIERS, REVENUE_ORDER_STATUSES, customers, orders
from crm.settings import get_settings

__all__ = [
    "SegmentNumbers",
    "Suggestion",
    "segment_numbers",
    "suggest_messages",
    "suggestions_for_rules",
    "suggestions_for_segment",
]

WIN_BACK_SEGMENTS = {"at risk", "can't lose them", "hibernating", "about to sleep", "lost"}
THANK_YOU_SEGMENTS = {"champions", "loyal customers"}
MEMBER_CHUNK = 500


@dataclass(frozen=True)
class SegmentNumbers:
    members: int
    # Members with at least one counted order; the averages below are over them.
    buyers: int
    average_spent: Decimal | None
    average_days_since_last_order: float | None
    birthdays_this_month: int
    average_points: int


@dataclass(frozen=True)
class Suggestion:
    kind: str
    title: str
    # Why this suggestion and which of the segment's numbers shaped it.
    why: str
    template: Template
    recommended: bool


def _chunks(values: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), MEMBER_CHUNK):
        yield list(values[start : start + MEMBER_CHUNK])


def segment_numbers(engine: Engine, member_ids: Sequence[int], *, today: date | None = None) -> SegmentNumbers:
    """Counts and averages of a member list (per-customer totals in SQL, averaged here)."""
    zone = get_settings().timezone
    day = today or datetime.now(UTC).astimezone(zone).date()
    spent: list[Decimal] = []
    days: list[int] = []
    birthdays = points = 0
    with engine.connect() as connection:
        for chunk in _chunks(member_ids):
            totals = connection.execute(
                select(orders.c.customer_id, func.sum(orders.c.total), func.max(orders.c.order_date))
                .where(orders.c.status.in_(REVENUE_ORDER_STATUSES), orders.c.customer_id.in_(chunk))
                .group_by(orders.c.customer_id)
            ).all()
            for _customer, total, last in totals:
                spent.append(Decimal(str(total)))
                moment = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
                days.append((day - moment.replace(tzinfo=UTC).astimezone(zone).date()).days)
            people = connection.execute(
                select(customers.c.birth_date, customers.c.loyalty_points).where(customers.c.id.in_(chunk))
            ).all()
            birthdays += sum(1 for birth, _points in people if birth is not None and birth.month == day.month)
            points += sum(int(value or 0) for _birth, value in people)
    members = len(member_ids)
    return SegmentNumbers(
        members=members,
        buyers=len(spent),
        average_spent=(sum(spent, Decimal(0)) / len(spent)).quantize(Decimal("0.01")) if spent else None,
        average_days_since_last_order=sum(days) / len(days) if days else None,
        birthdays_this_month=birthdays,
        average_points=round(points / members) if members else 0,
    )


def _conditions(rules: Any) -> Iterator[dict[str, Any]]:
    if isinstance(rules, dict):
        if "field" in rules:
            yield rules
        for key in ("all", "any", "rules"):
            for child in rules.get(key, []) or []:
                yield from _conditions(child)
        if "not" in rules:
            yield from _conditions(rules["not"])


def _values(condition: dict[str, Any]) -> set[str]:
    value = condition.get("value")
    items = value if isinstance(value, list) else [value]
    return {str(item).strip().lower() for item in items if item is not None}


def _kinds(name: str, rules: Any) -> list[str]:
    lowered = name.lower()
    kinds: list[str] = []
    conditions = list(_conditions(rules))
    fields = {str(condition.get("field")) for condition in conditions}
    rfm = set().union(*(_values(c) for c in conditions if c.get("field") == "rfm_segment")) if conditions else set()
    lapsed = any(
        condition.get("field") == "days_since_last_order" and condition.get("op") in (">", ">=", "between")
        for condition in conditions
    )
    if rfm & WIN_BACK_SEGMENTS or lapsed or any(word in lowered for word in ("churn", "risk", "lapsed", "win-back")):
        kinds.append("win_back")
    if "birthday_month" in fields or "birthday" in lowered:
        kinds.append("birthday")
    if fields & {"loyalty_tier", "loyalty_points"} or any(word in lowered for word in ("tier", "loyal")):
        kinds.append("tier_upgrade")
    if rfm & THANK_YOU_SEGMENTS or any(word in lowered for word in ("champion", "vip")):
        kinds.append("thank_you")
    return kinds


def _money(value: Decimal | None) -> str:
    return "no purchases yet" if value is None else f"{value:,.2f}"


def _win_back(numbers: SegmentNumbers) -> tuple[str, str, Template]:
    away = numbers.average_days_since_last_order
    # Longer absences and bigger past baskets get a stronger offer.
    discount = 20 if (away or 0) > 180 else 15 if (away or 0) > 90 else 10
    why = (
        f"{numbers.members:,} members; {numbers.buyers:,} bought before, on average {_money(numbers.average_spent)}"
        + (f", last ordered {away:.0f} days ago on average" if away is not None else "")
        + f" → a {discount} % come-back offer."
    )
    body = (
        "Hi {first_name|there},\n\n"
        "We have missed you since your last order on {last_order_date|your last visit}. "
        f"As a thank-you for coming back, here is {discount} % off your next order"
        " — our new {favourite_category|arrivals} are waiting.\n\n"
        "See you soon!\n\n"
        "Unsubscribe: {unsubscribe_url}"
    )
    return why, f"Win-back ({discount} % off)", Template(f"{{first_name|We}}, we miss you: {discount} % off", body)


def _birthday(numbers: SegmentNumbers) -> tuple[str, str, Template]:
    why = (
        f"{numbers.birthdays_this_month:,} of {numbers.members:,} members have their birthday this month; "
        f"average points {numbers.average_points:,}."
    )
    body = (
        "Happy birthday, {first_name|dear customer}!\n\n"
        "To celebrate, your next order ships free this month. You already have {loyalty_points} points "
        "({loyalty_tier} tier) to spend too.\n\n"
        "Unsubscribe: {unsubscribe_url}"
    )
    return why, "Birthday greeting", Template("Happy birthday, {first_name|from all of us}!", body)


def _next_tier(points: int) -> tuple[str, int] | None:
    for name, minimum in LOYALTY_TIERS:
        if minimum > points:
            return name, minimum - points
    return None


def _tier_upgrade(numbers: SegmentNumbers) -> tuple[str, str, Template]:
    target = _next_tier(numbers.average_points)
    if target is None:
        why = f"Members average {numbers.average_points:,} points: already at the top tier, so a keep-it nudge."
    else:
        why = (
            f"Members average {numbers.average_points:,} points, {target[1]:,} short of {target[0]} "
            f"on average; average spend {_money(numbers.average_spent)}."
        )
    body = (
        "Hi {first_name|there},\n\n"
        "You have {loyalty_points} points and you are {loyalty_tier}. A few more orders take you to the next "
        "tier, with better rewards on everything you buy"
        + (f" — most members like you are about {target[1]:,} points away" if target else "")
        + ".\n\nUnsubscribe: {unsubscribe_url}"
    )
    return why, "Tier upgrade nudge", Template("{first_name|You}, you are close to the next tier", body)


def _thank_you(numbers: SegmentNumbers) -> tuple[str, str, Template]:
    why = (
        f"{numbers.members:,} members spent on average {_money(numbers.average_spent)}"
        + (
            f" and ordered {numbers.average_days_since_last_order:.0f} days ago on average"
            if numbers.average_days_since_last_order is not None
            else ""
        )
        + ": a thank-you, no discount needed."
    )
    body = (
        "Dear {first_name|customer},\n\n"
        "Thank you for being one of our best customers: {orders_count} orders so far. "
        "As a small thank-you, you get early access to our next {favourite_category|collection}.\n\n"
        "Unsubscribe: {unsubscribe_url}"
    )
    return why, "Thank-you for top customers", Template("Thank you, {first_name|from the whole team}", body)


WRITERS = {"win_back": _win_back, "birthday": _birthday, "tier_upgrade": _tier_upgrade, "thank_you": _thank_you}


def suggest_messages(segment_name: str, rules: Any, numbers: SegmentNumbers) -> list[Suggestion]:
    """All four suggestions, the segment's own kinds first (recommended)."""
    kinds = _kinds(segment_name, rules)
    ordered = kinds + [kind for kind in WRITERS if kind not in kinds]
    suggestions = []
    for kind in ordered:
        why, title, template = WRITERS[kind](numbers)
        suggestions.append(Suggestion(kind=kind, title=title, why=why, template=template, recommended=kind in kinds))
    return suggestions


def suggestions_for_segment(engine: Engine, segment: int | str) -> list[Suggestion]:
    """Suggestions for a saved segment from its current members."""
    saved = get_segment(engine, segment)
    return suggestions_for_rules(engine, saved.name, json.dumps(saved.rules, sort_keys=True))


def suggestions_for_rules(engine: Engine, segment_name: str, rules_json: str) -> list[Suggestion]:
    """Suggestions for a named rule given as JSON text (hashable, so the UI can cache by the rule itself)."""
    rules = json.loads(rules_json)
    members = segment_members(engine, rules)
    return suggest_messages(segment_name, rules, segment_numbers(engine, members))
