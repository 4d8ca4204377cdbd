"""Segment rules: the nested JSON format, its fields and operators, parsing and validation.

The stored format (``segments.rules_json``) is a tree of groups and conditions::

    {"all": [cond_or_group, ...]}     every child holds (an empty "all" holds for everyone)
    {"any": [cond_or_group, ...]}     at least one child holds (an empty "any" holds for no one)
    {"not": cond_or_group}            the child does not hold
    {"field": F, "op": O, "value": V} a condition on one customer field

``parse_rules`` turns JSON (text or decoded) into a ``RuleTree`` or raises ``RuleError`` whose
message names the bad part by its path, e.g. ``all[1].any[0]: unknown field "totl_spent"``.
``to_json_dict`` turns a tree back into the canonical JSON. The demo's old flat format
``{"match": "all"|"any", "rules": [...]}`` is converted by ``convert_flat_rules`` (migration 0004).

Missing values (DESIGN.md "Segments"): a comparison with a missing value is false; ``is_empty``
asks for missing values; ``not`` inverts the whole condition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from crm.analytics.segmentation import SEGMENTS
from crm.schema import CUSTOMER_STATUSES, CUSTOMER_TYPES, GENDERS

__all__ = [
    "FIELDS",
    "NULL_RULE_TEXT",
    "OPERATORS",
    "OPERATORS_BY_KIND",
    "VALUELESS",
    "AllGroup",
    "AnyGroup",
    "Condition",
    "FieldKind",
    "FieldSpec",
    "NotGroup",
    "RuleError",
    "RuleNode",
    "RuleTree",
    "convert_flat_rules",
    "count_conditions",
    "customer_ids_rule",
    "parse_rules",
    "rules_from_filters",
    "rules_from_record_query",
    "rules_json_text",
    "to_json_dict",
]

FieldKind = Literal["text", "number", "date", "boolean"]


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition may test: its kind decides the operators and the value type."""

    name: str
    kind: FieldKind
    label: str
    description: str
    # Fixed allowed values (text fields with a closed list); None: any text.
    choices: tuple[str, ...] | None = None
    # Numbers that must be whole (ages, counts, days, months).
    integer: bool = False
    # Smallest/largest allowed number, when the field has natural bounds.
    minimum: float | None = None
    maximum: float | None = None


def _text(name: str, label: str, description: str, choices: tuple[str, ...] | None = None) -> FieldSpec:
    return FieldSpec(name, "text", label, description, choices)


def _whole(name: str, label: str, description: str, minimum: float | None = None, maximum: float | None = None):
    return FieldSpec(name, "number", label, description, integer=True, minimum=minimum, maximum=maximum)


_FIELD_LIST: tuple[FieldSpec, ...] = (
    _text("source", "Source", "Acquisition source (website, referral, …)."),
    _text("gender", "Gender", "female, male or other.", GENDERS),
    _whole("age", "Age", "Whole years on today (missing without a birth date).", 0, 150),
    _text("city", "City", "City of the address."),
    _text("country", "Country", "Country of the address."),
    _text("customer_type", "Customer type", "individual or business.", CUSTOMER_TYPES),
    _text("status", "Status", "active, inactive or prospect.", CUSTOMER_STATUSES),
    _text("brand", "Brand", "The brand the customer belongs to."),
    _text("tags", "Tags", "The customer's tags (text; use contains)."),
    FieldSpec("created_at", "date", "Customer since", "Local day the customer was created."),
    _whole("birthday_month", "Birthday month", "Month 1–12 of the birth date.", 1, 12),
    _whole("loyalty_points", "Loyalty points", "Points balance now.", 0),
    _text("loyalty_tier", "Loyalty tier", "Tier of the points balance (loyalty_tiers table)."),
    _whole("orders_count", "Orders", "Counted orders (not cancelled/refunded), 0 without any.", 0),
    FieldSpec("total_spent", "number", "Total spent", "Sum of counted order totals, 0 without any.", minimum=0),
    FieldSpec(
        "average_order_value", "number", "Average order value", "Total spent ÷ counted orders (missing without any)."
    ),
    FieldSpec("first_order_date", "date", "First order", "Local day of the first counted order."),
    FieldSpec("last_order_date", "date", "Last order", "Local day of the last counted order."),
    _whole("days_since_last_order", "Days since last order", "Today minus the last counted order's local day."),
    _text("rfm_segment", "RFM segment", "Named RFM segment of the Segmentation page (all time).", SEGMENTS),
    _whole("open_tickets", "Open tickets", "Tickets open, in progress or waiting, 0 without any.", 0),
    _whole("days_since_last_visit", "Days since last visit", "Today minus the last visit's local day."),
    FieldSpec("has_email", "boolean", "Has email", "An email address is on file."),
    FieldSpec("has_phone", "boolean", "Has phone", "A phone number is on file."),
    FieldSpec("marketing_consent", "boolean", "Marketing consent", "The customer agreed to marketing messages."),
    _whole("customer_id", "Customer id", "The customer's id (lists saved from an analysis).", 1),
)
FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _FIELD_LIST}

OPERATORS: tuple[str, ...] = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "between",
    "in",
    "not_in",
    "contains",
    "is_empty",
    "is_not_empty",
)
_ORDERED = ("=", "!=", "<", "<=", ">", ">=", "between")
OPERATORS_BY_KIND: dict[FieldKind, tuple[str, ...]] = {
    "text": ("=", "!=", "in", "not_in", "contains", "is_empty", "is_not_empty"),
    "number": (*_ORDERED, "in", "not_in", "is_empty", "is_not_empty"),
    "date": (*_ORDERED, "is_empty", "is_not_empty"),
    "boolean": ("=", "!="),
}
# Operators that take no value.
VALUELESS = frozenset({"is_empty", "is_not_empty"})

NULL_RULE_TEXT = (
    "A customer without a value (no birth date, no order, no visit …) never matches a comparison: "
    "someone who never ordered is neither in “days since last order ≤ 90” nor in “> 90”. "
    "“is empty” finds exactly those customers. NOT turns the whole condition around, so that same "
    "customer IS in NOT(days since last order ≤ 90). Orders, total spent and open tickets count 0 "
    "when there are none."
)


class RuleError(ValueError):
    """A rule that cannot be used; ``path`` locates the bad part (``all[1].any[0]``), '' for the root."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    # Normalised value: str/float/int/bool/date, a tuple for in/not_in/between, None when valueless.
    value: Any = None


@dataclass(frozen=True)
class AllGroup:
    children: tuple[RuleNode, ...]


@dataclass(frozen=True)
class AnyGroup:
    children: tuple[RuleNode, ...]


@dataclass(frozen=True)
class NotGroup:
    child: RuleNode


RuleNode = Condition | AllGroup | AnyGroup | NotGroup
# A parsed rule is its root node.
RuleTree = RuleNode


def _describe(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _scalar(spec: FieldSpec, value: Any, path: str) -> Any:
    """One value of a condition checked against the field's kind (numbers, ISO dates, text, true/false)."""
    if spec.kind == "boolean":
        if not isinstance(value, bool):
            raise RuleError(path, f'"{spec.name}" needs true or false, not {_describe(value)}')
        return value
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleError(path, f'"{spec.name}" needs a number, not {_describe(value)}')
        if value != value or value in (float("inf"), float("-inf")):
            raise RuleError(path, f'"{spec.name}" needs a finite number')
        if spec.integer:
            if float(value) != int(value):
                raise RuleError(path, f'"{spec.name}" needs a whole number, not {_describe(value)}')
            value = int(value)
        if spec.minimum is not None and value < spec.minimum:
            raise RuleError(path, f'"{spec.name}" cannot be below {spec.minimum:g} ({_describe(value)})')
        if spec.maximum is not None and value > spec.maximum:
            raise RuleError(path, f'"{spec.name}" cannot be above {spec.maximum:g} ({_describe(value)})')
        return value
    if spec.kind == "date":
        if not isinstance(value, str):
            raise RuleError(path, f'"{spec.name}" needs a date "YYYY-MM-DD", not {_describe(value)}')
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise RuleError(path, f'"{spec.name}" needs a date "YYYY-MM-DD", not {_describe(value)}') from None
    if not isinstance(value, str) or not value.strip():
        raise RuleError(path, f'"{spec.name}" needs non-empty text, not {_describe(value)}')
    if spec.choices is not None and value not in spec.choices:
        raise RuleError(path, f'"{value}" is not a {spec.name} (one of: {", ".join(spec.choices)})')
    return value


def _condition(obj: dict[str, Any], path: str) -> Condition:
    unknown_keys = set(obj) - {"field", "op", "value"}
    if unknown_keys:
        raise RuleError(path, f"unknown key {_describe(sorted(unknown_keys)[0])} in a condition")
    field_name = obj.get("field")
    if not isinstance(field_name, str):
        raise RuleError(path, 'a condition needs "field" (text)')
    spec = FIELDS.get(field_name)
    if spec is None:
        raise RuleError(path, f"unknown field {_describe(field_name)}")
    op = obj.get("op")
    if op not in OPERATORS:
        raise RuleError(path, f"unknown operator {_describe(op)} (one of: {', '.join(OPERATORS)})")
    allowed = OPERATORS_BY_KIND[spec.kind]
    if op not in allowed:
        raise RuleError(path, f'operator "{op}" does not apply to {spec.kind} field "{field_name}"')
    value = obj.get("value")
    if op in VALUELESS:
        if value not in (None, [], ""):
            raise RuleError(path, f'"{op}" takes no value')
        return Condition(field_name, op, None)
    if "value" not in obj:
        raise RuleError(path, f'"{op}" needs a "value"')
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleError(path, f'"between" needs two values [low, high], not {_describe(value)}')
        low, high = (_scalar(spec, item, path) for item in value)
        if low > high:
            raise RuleError(path, f'"between" needs low ≤ high, not {_describe(value)}')
        return Condition(field_name, op, (low, high))
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleError(path, f'"{op}" needs a non-empty list, not {_describe(value)}')
        items = tuple(dict.fromkeys(_scalar(spec, item, f"{path}.value[{i}]") for i, item in enumerate(value)))
        return Condition(field_name, op, items)
    if op == "contains" and isinstance(value, str) and not value.strip():
        raise RuleError(path, '"contains" needs non-empty text')
    return Condition(field_name, op, _scalar(spec, value, path))


def _node(obj: Any, path: str) -> RuleNode:
    if not isinstance(obj, dict):
        raise RuleError(path, f"expected an object (a group or a condition), not {_describe(obj)}")
    if "match" in obj and "rules" in obj:
        raise RuleError(path, 'old flat format {"match", "rules"}: use {"all": [...]} or {"any": [...]}')
    groups = [key for key in ("all", "any", "not") if key in obj]
    if groups:
        if len(obj) != 1:
            extra = sorted(set(obj) - {groups[0]})[0] if len(groups) == 1 else groups[1]
            raise RuleError(path, f'a "{groups[0]}" group holds nothing else (found "{extra}")')
        key = groups[0]
        here = f"{path}.{key}" if path else key
        if key == "not":
            return NotGroup(_node(obj["not"], here))
        children = obj[key]
        if not isinstance(children, list):
            raise RuleError(here, f'"{key}" needs a list of conditions or groups')
        parsed = tuple(_node(child, f"{here}[{index}]") for index, child in enumerate(children))
        return AllGroup(parsed) if key == "all" else AnyGroup(parsed)
    if "field" in obj or "op" in obj:
        return _condition(obj, path)
    keys = ", ".join(sorted(obj)) or "nothing"
    raise RuleError(path, f'expected "all", "any", "not" or a condition, found {keys}')


def parse_rules(obj: Any) -> RuleTree:
    """The rule tree of ``obj`` (decoded JSON or JSON text); ``RuleError`` names the bad part."""
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as error:
            raise RuleError("", f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    return _node(obj, "")


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_json_dict(tree: RuleTree) -> dict[str, Any]:
    """The canonical JSON (as Python objects) of a parsed tree: what ``segments.rules_json`` stores."""
    if isinstance(tree, Condition):
        result: dict[str, Any] = {"field": tree.field, "op": tree.op}
        if tree.op not in VALUELESS:
            result["value"] = _json_value(tree.value)
        return result
    if isinstance(tree, NotGroup):
        return {"not": to_json_dict(tree.child)}
    key = "all" if isinstance(tree, AllGroup) else "any"
    return {key: [to_json_dict(child) for child in tree.children]}


def rules_json_text(rules: Any) -> str:
    """Validated, canonical JSON text of ``rules`` (a dict, JSON text or a parsed tree)."""
    tree = rules if isinstance(rules, (Condition, AllGroup, AnyGroup, NotGroup)) else parse_rules(rules)
    return json.dumps(to_json_dict(tree), ensure_ascii=False, sort_keys=True)


def count_conditions(tree: RuleTree) -> int:
    """How many conditions (leaves) a tree holds."""
    if isinstance(tree, Condition):
        return 1
    if isinstance(tree, NotGroup):
        return count_conditions(tree.child)
    return sum(count_conditions(child) for child in tree.children)


def convert_flat_rules(obj: Any) -> dict[str, Any]:
    """The demo's flat ``{"match": "all"|"any", "rules": [...]}`` as the nested format (others unchanged)."""
    if isinstance(obj, dict) and set(obj) == {"match", "rules"} and obj["match"] in ("all", "any"):
        return {obj["match"]: list(obj["rules"])}
    return obj


def rules_from_filters(filters: Any, *extra: dict[str, Any]) -> dict[str, Any]:
    """An ``all`` rule of the sidebar's customer filters (source, gender, age, brand, type, status) plus ``extra``.

    The date range is not a customer attribute and is left out: a segment is about customers now.
    ``filters`` is a ``crm.filters.Filters``.
    """
    conditions: list[dict[str, Any]] = []
    for field_name, values in (
        ("source", filters.sources),
        ("gender", filters.genders),
        ("brand", filters.brands),
        ("customer_type", filters.customer_types),
        ("status", filters.customer_statuses),
    ):
        if values:
            conditions.append({"field": field_name, "op": "in", "value": list(values)})
    if filters.age_min is not None:
        conditions.append({"field": "age", "op": ">=", "value": int(filters.age_min)})
    if filters.age_max is not None:
        conditions.append({"field": "age", "op": "<=", "value": int(filters.age_max)})
    return {"all": [*extra, *conditions]}


def customer_ids_rule(customer_ids: Any) -> dict[str, Any]:
    """A rule holding exactly these customers (lists an analysis computed, e.g. CLV tiers or churn)."""
    ids = sorted({int(customer_id) for customer_id in customer_ids})
    if not ids:
        return {"any": []}
    return {"all": [{"field": "customer_id", "op": "in", "value": ids}]}


def rules_from_record_query(query: Any) -> dict[str, Any]:
    """An ``all`` rule of the Customers grid's filters (status, type, source, created between, birthday month).

    ``query`` is a ``crm.records.RecordQuery`` of the customers grid. Its free-text search has no
    field and is left out (the caller says so).
    """
    conditions: list[dict[str, Any]] = []
    for field_name, values in (
        ("status", query.statuses),
        ("customer_type", query.types),
        ("source", query.sources),
    ):
        if values:
            conditions.append({"field": field_name, "op": "in", "value": list(values)})
    if query.date_from is not None:
        conditions.append({"field": "created_at", "op": ">=", "value": query.date_from.isoformat()})
    if query.date_to is not None:
        conditions.append({"field": "created_at", "op": "<=", "value": query.date_to.isoformat()})
    if query.birthday_month is not None:
        conditions.append({"field": "birthday_month", "op": "=", "value": int(query.birthday_month)})
    return {"all": conditions}
