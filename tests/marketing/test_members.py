"""Segment members on tiny_shop, every field and operator, hand-computed, on SQLite and PostgreSQL.

tiny_shop on 2025-03-31 (UTC), counted orders only (O4 cancelled and O6 refunded do not count):
  1 Alice  female 34y May  website      1200 pts silver  3 orders 176.00 first 01-10 last 03-28 (3 days)
           visit 02-14 (45 days), ticket resolved                              RFM R4 F4 M4 → Loyal
  2 Bob    male   40y Mar  referral      300 pts bronze  1 order   38.00 on 01-25 (65 days), 1 open ticket → Lost
  3 Chloe  female 24y Dec  social_media    0 pts bronze  1 order   38.00 on 02-20 (39 days)       → Hibernating
  4 Dan    male   54y Jul  website  business 6000 gold   1 order   50.00 on 03-20 (11 days)       → Need Attention
  5 Eve    female no birth date, prospect, created 03-01, no orders, no visit, no ticket
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, update

from crm.marketing.segments import segment_count, segment_members
from crm.schema import customers, orders
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


def members(engine: Engine, field: str, op: str, value: Any = None, *, as_of: date = TODAY) -> list[int]:
    condition: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return segment_members(engine, {"all": [condition]}, as_of=as_of, timezone_name="UTC")


CASES = [
    ("source", "=", "website", [1, 4, 5]),
    ("source", "!=", "website", [2, 3]),
    ("source", "in", ["referral", "social_media"], [2, 3]),
    ("source", "not_in", ["website"], [2, 3]),
    ("gender", "=", "female", [1, 3, 5]),
    ("gender", "!=", "female", [2, 4]),
    ("age", "=", 34, [1]),
    ("age", "!=", 34, [2, 3, 4]),
    ("age", "<", 25, [3]),
    ("age", "<=", 34, [1, 3]),
    ("age", ">", 40, [4]),
    ("age", ">=", 40, [2, 4]),
    ("age", "between", [30, 45], [1, 2]),
    ("age", "in", [24, 54], [3, 4]),
    ("age", "not_in", [24, 54], [1, 2]),
    ("age", "is_empty", None, [5]),
    ("age", "is_not_empty", None, [1, 2, 3, 4]),
    ("city", "contains", "SEO", [1, 2, 3, 4, 5]),
    ("country", "!=", "KR", []),
    ("customer_type", "=", "business", [4]),
    ("status", "=", "prospect", [5]),
    ("tags", "is_empty", None, [1, 2, 3, 4, 5]),
    ("brand", "is_empty", None, [1, 2, 3, 4, 5]),
    ("created_at", "<", "2025-02-01", [1, 2]),
    ("created_at", "between", ["2025-02-10", "2025-02-15"], [3, 4]),
    ("created_at", "=", "2025-03-01", [5]),
    ("birthday_month", "=", 12, [3]),
    ("birthday_month", "in", [3, 5], [1, 2]),
    ("loyalty_points", ">=", 1000, [1, 4]),
    ("loyalty_tier", "=", "bronze", [2, 3, 5]),
    ("loyalty_tier", "in", ["gold", "platinum"], [4]),
    ("orders_count", "=", 0, [5]),
    ("orders_count", ">=", 2, [1]),
    ("total_spent", ">=", 50, [1, 4]),
    ("total_spent", "<", 40, [2, 3, 5]),
    ("average_order_value", ">", 40, [1, 4]),
    ("average_order_value", "is_empty", None, [5]),
    ("first_order_date", "<", "2025-02-01", [1, 2]),
    ("last_order_date", ">=", "2025-03-01", [1, 4]),
    ("last_order_date", "!=", "2025-03-28", [2, 3, 4]),
    ("days_since_last_order", "=", 65, [2]),
    ("days_since_last_order", "!=", 65, [1, 3, 4]),
    ("days_since_last_order", "<=", 30, [1, 4]),
    ("days_since_last_order", ">", 30, [2, 3]),
    ("days_since_last_order", "is_empty", None, [5]),
    ("rfm_segment", "=", "Loyal", [1]),
    ("rfm_segment", "in", ["Lost", "Hibernating"], [2, 3]),
    ("rfm_segment", "!=", "Loyal", [2, 3, 4]),
    ("rfm_segment", "is_empty", None, [5]),
    # Open = open, in progress or waiting: Bob's ticket 2 (open) and Dan's ticket 4 (waiting).
    ("open_tickets", ">=", 1, [2, 4]),
    ("open_tickets", "=", 0, [1, 3, 5]),
    ("days_since_last_visit", "=", 45, [1]),
    ("days_since_last_visit", "is_empty", None, [2, 3, 4, 5]),
    ("has_email", "=", True, [1, 2, 3, 4, 5]),
    ("has_phone", "=", False, []),
    ("marketing_consent", "=", True, []),
    ("marketing_consent", "!=", True, [1, 2, 3, 4, 5]),
    ("customer_id", "in", [2, 4, 99], [2, 4]),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES, ids=[f"{c[0]} {c[1]} {c[2]}" for c in CASES])
def test_each_field_and_operator_selects_the_hand_computed_customers(
    tiny_shop: TinyShop, field: str, op: str, value: Any, expected: list[int]
) -> None:
    assert members(tiny_shop.engine, field, op, value) == expected


def test_text_fields_set_later_are_matched_case_insensitively_and_blank_counts_as_empty(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    with engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == 2).values(tags="VIP, newsletter", brand_id=1))
        connection.execute(update(customers).where(customers.c.id == 3).values(tags="  ", marketing_consent=True))
    assert members(engine, "tags", "contains", "vip") == [2]
    assert members(engine, "tags", "is_empty", None) == [1, 3, 4, 5]
    assert members(engine, "tags", "!=", "VIP, newsletter") == []
    assert members(engine, "brand", "=", "Aurora") == [2]
    assert members(engine, "brand", "!=", "Aurora") == []
    assert members(engine, "marketing_consent", "=", True) == [3]


def test_a_customer_who_never_ordered_is_in_neither_comparison_but_in_its_negation(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    within = {"field": "days_since_last_order", "op": "<=", "value": 90}
    beyond = {"field": "days_since_last_order", "op": ">", "value": 90}
    assert 5 not in segment_members(engine, {"all": [within]}, as_of=TODAY)
    assert 5 not in segment_members(engine, {"all": [beyond]}, as_of=TODAY)
    assert segment_members(engine, {"not": within}, as_of=TODAY) == [5]
    assert segment_members(engine, {"not": {"not": within}}, as_of=TODAY) == [1, 2, 3, 4]


def test_groups_nest_all_any_and_not_at_any_depth(tiny_shop: TinyShop) -> None:
    rules = {
        "all": [
            {"field": "source", "op": "in", "value": ["referral", "website"]},
            {
                "any": [
                    {"field": "total_spent", "op": ">=", "value": 100},
                    {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]},
                    {"not": {"all": [{"field": "age", "op": "is_not_empty"}]}},
                ]
            },
            {"not": {"field": "days_since_last_order", "op": "<=", "value": 5}},
        ]
    }
    # website/referral: 1, 2, 4, 5; big spender or gold or no birth date: 1, 4, 5; not bought in 5 days: drops 1.
    assert segment_members(tiny_shop.engine, rules, as_of=TODAY) == [4, 5]
    assert segment_count(tiny_shop.engine, rules, as_of=TODAY) == 2


def test_empty_groups_mean_everyone_for_all_and_no_one_for_any(tiny_shop: TinyShop) -> None:
    assert segment_members(tiny_shop.engine, {"all": []}) == [1, 2, 3, 4, 5]
    assert segment_members(tiny_shop.engine, {"any": []}) == []
    assert segment_members(tiny_shop.engine, {"not": {"any": []}}) == [1, 2, 3, 4, 5]


def test_as_of_moves_today_for_relative_fields_and_hides_no_order(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    # Alice turns 35 on 2025-05-10.
    assert members(engine, "age", "=", 35, as_of=date(2025, 5, 9)) == []
    assert members(engine, "age", "=", 35, as_of=date(2025, 5, 10)) == [1]
    # On 2025-04-15 Alice's last order (03-28) is 18 days old and Dan's (03-20) 26; on 04-30, 33 and 41.
    assert members(engine, "days_since_last_order", "<=", 30, as_of=date(2025, 4, 15)) == [1, 4]
    assert members(engine, "days_since_last_order", "<=", 30, as_of=date(2025, 4, 30)) == []
    # An as-of day before some orders still sees them all (Alice bought 3 times, the last on 03-28).
    assert members(engine, "orders_count", "=", 3, as_of=date(2025, 1, 1)) == [1]
    assert members(engine, "days_since_last_order", "<", 0, as_of=date(2025, 3, 1)) == [1, 4]


def test_local_days_follow_the_app_time_zone(tiny_shop: TinyShop) -> None:
    # Bob orders at 20:00 UTC on 31 March: already 1 April, 05:00, in Seoul.
    with tiny_shop.engine.begin() as connection:
        connection.execute(
            orders.insert().values(
                id=9, order_number="O9", customer_id=2, order_date=datetime(2025, 3, 31, 20), status="delivered",
                subtotal=10, tax=0, shipping=0, discount=0, total=10, created_at=datetime(2025, 3, 31, 20),
                updated_at=datetime(2025, 3, 31, 20),
            )
        )  # fmt: skip
    april_first = {"all": [{"field": "last_order_date", "op": "=", "value": "2025-04-01"}]}
    today_bought = {"all": [{"field": "days_since_last_order", "op": "=", "value": 0}]}
    engine = tiny_shop.engine
    assert segment_members(engine, april_first, timezone_name="Asia/Seoul") == [2]
    assert segment_members(engine, april_first, timezone_name="UTC") == []
    assert segment_members(engine, today_bought, as_of=date(2025, 4, 1), timezone_name="Asia/Seoul") == [2]
    assert segment_members(engine, today_bought, as_of=date(2025, 4, 1), timezone_name="UTC") == []


def test_joined_and_correlated_order_aggregates_select_the_same_customers(tiny_shop: TinyShop) -> None:
    # SQLite writes order aggregates as correlated subqueries, PostgreSQL joins a GROUP BY
    # (crm.dialect.correlated_aggregates); both forms run on both engines and must agree.
    from crm.marketing.compiler import members_statement
    from crm.marketing.rules import parse_rules

    fields = {"orders_count", "total_spent", "average_order_value", "first_order_date", "last_order_date"}
    behaviour = [case for case in CASES if case[0] in fields | {"days_since_last_order"}]
    for field, op, value, expected in behaviour:
        condition: dict[str, Any] = {"field": field, "op": op}
        if value is not None:
            condition["value"] = value
        tree = parse_rules({"not": {"all": [condition]}})
        for dialect_name in ("sqlite", "postgresql"):
            statement = members_statement(tree, today=TODAY, timezone_name="UTC", dialect_name=dialect_name)
            with tiny_shop.engine.connect() as connection:
                found = list(connection.execute(statement).scalars())
            assert found == [n for n in (1, 2, 3, 4, 5) if n not in expected], (field, op, dialect_name)
