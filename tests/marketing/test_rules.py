"""Parsing and validating segment rules: the nested format, fields, operators, and error paths."""

from __future__ import annotations

from datetime import date

import pytest

from crm.marketing.rules import (
    FIELDS,
    OPERATORS,
    OPERATORS_BY_KIND,
    AllGroup,
    AnyGroup,
    Condition,
    NotGroup,
    RuleError,
    convert_flat_rules,
    count_conditions,
    parse_rules,
    to_json_dict,
)

ISSUE_EXAMPLE = {
    "all": [
        {"field": "source", "op": "in", "value": ["referral", "website"]},
        {
            "any": [
                {"field": "total_spent", "op": ">=", "value": 1000},
                {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]},
            ]
        },
        {"not": {"field": "days_since_last_order", "op": "<=", "value": 90}},
    ]
}

REQUIRED_FIELDS = [
    "source",
    "gender",
    "age",
    "city",
    "country",
    "customer_type",
    "status",
    "brand",
    "tags",
    "created_at",
    "birthday_month",
    "loyalty_points",
    "loyalty_tier",
    "orders_count",
    "total_spent",
    "average_order_value",
    "first_order_date",
    "last_order_date",
    "days_since_last_order",
    "rfm_segment",
    "open_tickets",
    "days_since_last_visit",
    "has_email",
    "has_phone",
    "marketing_consent",
]


def test_the_issue_example_parses_into_nested_groups_and_back_to_the_same_json() -> None:
    tree = parse_rules(ISSUE_EXAMPLE)
    assert isinstance(tree, AllGroup)
    assert isinstance(tree.children[1], AnyGroup)
    assert isinstance(tree.children[2], NotGroup)
    assert tree.children[0] == Condition("source", "in", ("referral", "website"))
    assert to_json_dict(tree) == ISSUE_EXAMPLE
    assert count_conditions(tree) == 4


def test_every_field_the_issue_lists_is_known() -> None:
    assert [name for name in REQUIRED_FIELDS if name not in FIELDS] == []


def test_every_operator_of_the_issue_is_offered_for_some_field_kind() -> None:
    offered = {op for operators in OPERATORS_BY_KIND.values() for op in operators}
    assert offered == set(OPERATORS)
    assert len(OPERATORS) == 12


def test_json_text_is_accepted_and_dates_become_days() -> None:
    tree = parse_rules('{"all": [{"field": "created_at", "op": "between", "value": ["2025-01-01", "2025-01-31"]}]}')
    assert tree == AllGroup((Condition("created_at", "between", (date(2025, 1, 1), date(2025, 1, 31))),))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"all": [{"field": "source", "op": "=", "value": "web"}, {"any": [{"field": "totl_spent", "op": ">"}]}]},
            'all[1].any[0]: unknown field "totl_spent"',
        ),
        ({"all": [{"field": "age", "op": "contains", "value": "3"}]}, 'all[0]: operator "contains" does not apply'),
        ({"any": [{"field": "age", "op": "~", "value": 3}]}, 'any[0]: unknown operator "~"'),
        ({"all": [{"field": "age", "op": "between", "value": [40, 30]}]}, 'all[0]: "between" needs low ≤ high'),
        ({"all": [{"field": "age", "op": "between", "value": [30]}]}, 'all[0]: "between" needs two values'),
        ({"all": [{"field": "age", "op": ">", "value": "thirty"}]}, 'all[0]: "age" needs a number'),
        ({"all": [{"field": "age", "op": ">", "value": 30.5}]}, 'all[0]: "age" needs a whole number'),
        ({"all": [{"field": "birthday_month", "op": "=", "value": 13}]}, '"birthday_month" cannot be above 12'),
        ({"all": [{"field": "created_at", "op": "<", "value": "31/01/2025"}]}, 'needs a date "YYYY-MM-DD"'),
        ({"all": [{"field": "source", "op": "in", "value": []}]}, 'all[0]: "in" needs a non-empty list'),
        ({"all": [{"field": "source", "op": "in", "value": ["web", 3]}]}, 'all[0].value[1]: "source" needs'),
        ({"all": [{"field": "gender", "op": "=", "value": "robot"}]}, '"robot" is not a gender'),
        ({"all": [{"field": "rfm_segment", "op": "=", "value": "Heroes"}]}, '"Heroes" is not a rfm_segment'),
        ({"all": [{"field": "has_email", "op": "=", "value": "yes"}]}, '"has_email" needs true or false'),
        ({"all": [{"field": "city", "op": "is_empty", "value": "x"}]}, '"is_empty" takes no value'),
        ({"all": [{"field": "city", "op": "="}]}, '"=" needs a "value"'),
        ({"not": [{"field": "city", "op": "is_empty"}]}, "not: expected an object"),
        ({"all": {"field": "city", "op": "is_empty"}}, 'all: "all" needs a list'),
        ({"all": [], "any": []}, 'a "all" group holds nothing else'),
        ({"match": "all", "rules": []}, "old flat format"),
        ({"every": []}, 'expected "all", "any", "not" or a condition, found every'),
        ([1, 2], "expected an object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_bad_part(rules: object, message: str) -> None:
    with pytest.raises(RuleError) as error:
        parse_rules(rules)
    assert message in str(error.value)


def test_flat_demo_rules_convert_to_the_nested_format() -> None:
    flat = {"match": "any", "rules": [{"field": "source", "op": "=", "value": "social_media"}]}
    assert convert_flat_rules(flat) == {"any": [{"field": "source", "op": "=", "value": "social_media"}]}
    assert convert_flat_rules(ISSUE_EXAMPLE) is ISSUE_EXAMPLE
