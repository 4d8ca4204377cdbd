"""Segment rules compiled to ONE SQL statement (SQLAlchemy Core, bound parameters, both engines).

The statement reads ``customers`` and LEFT JOINs only the per-customer aggregates the rule uses
(counted orders, RFM scores, open tickets, last visit, the customer's brand), then filters with
the rule. Every condition compiles to a two-valued SQL expression: a missing value makes a
comparison FALSE (never NULL), so ``NOT`` inverts exactly (DESIGN.md "Segments"):

* comparison on a nullable value → ``value IS NOT NULL AND value <op> :bound``;
* text counts as missing when NULL or blank; ``is_empty`` asks for missing values;
* ``orders_count``, ``total_spent`` and ``open_tickets`` are 0 without rows (never missing).

"Today" (ages, days since …, birthdays' relative fields) is a parameter: the app's local day
(CRM_TIMEZONE) or an explicit ``as_of``; it never hides customers or orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from crm.analytics.segmentation import rfm_scored_subquery
from crm.dialect import correlated_aggregates, epoch_day, folded_like, month_of_year, to_local, unindexed
from crm.filters import Filters
from crm.marketing.rules import FIELDS, AllGroup, AnyGroup, Condition, NotGroup, RuleTree
from crm.schema import REVENUE_ORDER_STATUSES, brands, customers, loyalty_tiers, orders, tickets, visits

__all__ = [
    "OPEN_TICKET_STATUSES",
    "RuleContext",
    "compile_rule",
    "count_statement",
    "members_statement",
    "resolve_today",
    "rule_source",
]

# Tickets still waiting for the shop (not resolved or closed).
OPEN_TICKET_STATUSES = ("open", "in_progress", "waiting")
_EPOCH = date(1970, 1, 1)


def resolve_today(as_of: date | None, timezone_name: str) -> date:
    """The day relative fields are measured on: ``as_of``, else today in the app's time zone."""
    return as_of if as_of is not None else datetime.now(ZoneInfo(timezone_name)).date()


def _epoch(day: date) -> int:
    return (day - _EPOCH).days


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 Feb in a non-leap target year
        return day.replace(year=day.year - years, day=28)


@dataclass
class RuleContext:
    """What one compilation needs: today, the time zone, and the aggregates joined so far."""

    today: date
    timezone_name: str
    # Per-customer order aggregates as correlated subqueries (SQLite) instead of a joined GROUP BY.
    correlated: bool = False
    _joins: dict[str, FromClause] = field(default_factory=dict)

    # --- the per-customer aggregates, each built once and LEFT JOINed on customers.id -----------
    def behaviour(self) -> FromClause:
        if "behaviour" not in self._joins:
            self._joins["behaviour"] = (
                select(
                    orders.c.customer_id,
                    func.count(orders.c.id).label("orders_count"),
                    func.sum(orders.c.total).label("total_spent"),
                    func.min(orders.c.order_date).label("first_order"),
                    func.max(orders.c.order_date).label("last_order"),
                )
                .where(unindexed(orders.c.status).in_(REVENUE_ORDER_STATUSES))
                .group_by(orders.c.customer_id)
                .subquery("behaviour")
            )
        return self._joins["behaviour"]

    def behaviour_value(self, name: str) -> ColumnElement[Any]:
        """One per-customer aggregate of counted orders: orders_count, total_spent, first_order, last_order."""
        if not self.correlated:
            return self.behaviour().c[name]
        aggregate = {
            "orders_count": func.count(orders.c.id),
            "total_spent": func.sum(orders.c.total),
            "first_order": func.min(orders.c.order_date),
            "last_order": func.max(orders.c.order_date),
        }[name]
        return (
            select(aggregate)
            .where(orders.c.customer_id == customers.c.id, orders.c.status.in_(REVENUE_ORDER_STATUSES))
            .scalar_subquery()
        )

    def rfm(self) -> FromClause:
        if "rfm" not in self._joins:
            # All-time RFM with recency measured at the end of "today" (as the Segmentation page does).
            filters = Filters(timezone_name=self.timezone_name, today=self.today)
            self._joins["rfm"] = rfm_scored_subquery(filters).alias("rfm")
        return self._joins["rfm"]

    def open_tickets(self) -> FromClause:
        if "open_tickets" not in self._joins:
            self._joins["open_tickets"] = (
                select(tickets.c.customer_id, func.count(tickets.c.id).label("open_tickets"))
                .where(tickets.c.status.in_(OPEN_TICKET_STATUSES))
                .group_by(tickets.c.customer_id)
                .subquery("open_ticket_counts")
            )
        return self._joins["open_tickets"]

    def visits(self) -> FromClause:
        if "visits" not in self._joins:
            self._joins["visits"] = (
                select(visits.c.customer_id, func.max(visits.c.visited_at).label("last_visit"))
                .group_by(visits.c.customer_id)
                .subquery("last_visits")
            )
        return self._joins["visits"]

    def brand(self) -> FromClause:
        if "brand" not in self._joins:
            self._joins["brand"] = brands.alias("customer_brand")
        return self._joins["brand"]

    def source(self) -> FromClause:
        """``customers`` LEFT JOINed to every aggregate used by the compiled conditions."""
        joined: FromClause = customers
        for name, table in self._joins.items():
            key = table.c.id if name == "brand" else table.c.customer_id
            target = customers.c.brand_id if name == "brand" else customers.c.id
            joined = joined.outerjoin(table, key == target)
        return joined

    # --- helpers ------------------------------------------------------------------------------
    def local_day(self, column: ColumnElement[Any]) -> ColumnElement[int]:
        """Days since 1970-01-01 of the app-local calendar day of a stored UTC datetime."""
        return epoch_day(to_local(column, self.timezone_name))

    def today_number(self) -> ColumnElement[int]:
        return literal(_epoch(self.today))


@dataclass(frozen=True)
class FieldValue:
    """A field's SQL value; ``nullable`` False when it is never missing (counts, flags)."""

    expression: ColumnElement[Any]
    nullable: bool = True


def _loyalty_tier() -> ColumnElement[str]:
    # The highest tier whose threshold the balance reaches (tiers live in loyalty_tiers).
    return (
        select(loyalty_tiers.c.name)
        .where(loyalty_tiers.c.min_points <= customers.c.loyalty_points)
        .order_by(loyalty_tiers.c.min_points.desc())
        .limit(1)
        .scalar_subquery()
    )


def _present_text(column: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(column.is_not(None), func.trim(column) != "")


_VALUES: dict[str, Callable[[RuleContext], FieldValue]] = {
    "source": lambda context: FieldValue(customers.c.source),
    "gender": lambda context: FieldValue(customers.c.gender),
    "city": lambda context: FieldValue(customers.c.city),
    "country": lambda context: FieldValue(customers.c.country),
    "customer_type": lambda context: FieldValue(customers.c.customer_type),
    "status": lambda context: FieldValue(customers.c.status),
    "tags": lambda context: FieldValue(customers.c.tags),
    "brand": lambda context: FieldValue(context.brand().c.name),
    "loyalty_tier": lambda context: FieldValue(_loyalty_tier()),
    "loyalty_points": lambda context: FieldValue(customers.c.loyalty_points, nullable=False),
    "customer_id": lambda context: FieldValue(customers.c.id, nullable=False),
    "birthday_month": lambda context: FieldValue(month_of_year(customers.c.birth_date)),
    "created_at": lambda context: FieldValue(context.local_day(customers.c.created_at), nullable=False),
    "orders_count": lambda context: FieldValue(
        func.coalesce(context.behaviour_value("orders_count"), 0), nullable=False
    ),
    "total_spent": lambda context: FieldValue(func.coalesce(context.behaviour_value("total_spent"), 0), nullable=False),
    "average_order_value": lambda context: FieldValue(
        context.behaviour_value("total_spent") / func.nullif(context.behaviour_value("orders_count"), 0)
    ),
    "first_order_date": lambda context: FieldValue(context.local_day(context.behaviour_value("first_order"))),
    "last_order_date": lambda context: FieldValue(context.local_day(context.behaviour_value("last_order"))),
    "days_since_last_order": lambda context: FieldValue(
        context.today_number() - context.local_day(context.behaviour_value("last_order"))
    ),
    "rfm_segment": lambda context: FieldValue(context.rfm().c.segment),
    "open_tickets": lambda context: FieldValue(func.coalesce(context.open_tickets().c.open_tickets, 0), nullable=False),
    "days_since_last_visit": lambda context: FieldValue(
        context.today_number() - context.local_day(context.visits().c.last_visit)
    ),
}

_FLAGS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "has_email": lambda: _present_text(customers.c.email),
    "has_phone": lambda: _present_text(customers.c.phone),
    "marketing_consent": lambda: customers.c.marketing_consent == true(),
}


def _bound(condition: Condition, value: Any) -> Any:
    # Date fields compile to day numbers, so both engines compare integers.
    if FIELDS[condition.field].kind == "date":
        return _epoch(value)
    return value


def _age_condition(condition: Condition, today: date) -> ColumnElement[bool]:
    """Age conditions as birth-date ranges (whole years on today; index-friendly, no per-row age)."""
    birth = customers.c.birth_date
    known = birth.is_not(None)

    def at_least(years: int) -> ColumnElement[bool]:
        return birth <= _years_before(today, years)

    def at_most(years: int) -> ColumnElement[bool]:
        return birth > _years_before(today, years + 1)

    def exactly(years: int) -> ColumnElement[bool]:
        return and_(at_least(years), at_most(years))

    op, value = condition.op, condition.value
    if op == "is_empty":
        return birth.is_(None)
    if op == "is_not_empty":
        return known
    comparisons: dict[str, Callable[[], ColumnElement[bool]]] = {
        "=": lambda: exactly(value),
        "!=": lambda: not_(exactly(value)),
        ">=": lambda: at_least(value),
        ">": lambda: at_least(value + 1),
        "<=": lambda: at_most(value),
        "<": lambda: at_most(value - 1),
        "between": lambda: and_(at_least(value[0]), at_most(value[1])),
        "in": lambda: or_(*(exactly(item) for item in value)),
        "not_in": lambda: not_(or_(*(exactly(item) for item in value))),
    }
    return and_(known, comparisons[op]())


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _condition(condition: Condition, context: RuleContext) -> ColumnElement[bool]:
    spec = FIELDS[condition.field]
    op, value = condition.op, condition.value
    if condition.field == "age":
        return _age_condition(condition, context.today)
    if spec.kind == "boolean":
        flag = _FLAGS[condition.field]()
        wanted = value if op == "=" else not value
        return flag if wanted else not_(flag)
    field_value = _VALUES[condition.field](context)
    expression = field_value.expression
    if spec.kind == "text":
        present = _present_text(expression)
    else:
        present = expression.is_not(None) if field_value.nullable else true()
    if op == "is_empty":
        return not_(present)
    if op == "is_not_empty":
        return present
    if op == "contains":
        return and_(present, folded_like(expression, _like_pattern(value)))
    if op == "between":
        low, high = (_bound(condition, item) for item in value)
        return and_(present, expression >= low, expression <= high)
    if op in ("in", "not_in"):
        items = [_bound(condition, item) for item in value]
        test = expression.in_(items) if op == "in" else expression.not_in(items)
        return and_(present, test)
    bound = _bound(condition, value)
    comparisons: dict[str, Callable[[], ColumnElement[bool]]] = {
        "=": lambda: expression == bound,
        "!=": lambda: expression != bound,
        "<": lambda: expression < bound,
        "<=": lambda: expression <= bound,
        ">": lambda: expression > bound,
        ">=": lambda: expression >= bound,
    }
    return and_(present, comparisons[op]())


def compile_rule(node: RuleTree, context: RuleContext) -> ColumnElement[bool]:
    """The two-valued WHERE condition of ``node``; the aggregates it needs are added to ``context``."""
    if isinstance(node, Condition):
        return _condition(node, context)
    if isinstance(node, NotGroup):
        return not_(compile_rule(node.child, context))
    if isinstance(node, AllGroup):
        return and_(true(), *(compile_rule(child, context) for child in node.children))
    assert isinstance(node, AnyGroup)
    return or_(false(), *(compile_rule(child, context) for child in node.children))


def rule_source(
    tree: RuleTree, *, today: date, timezone_name: str, dialect_name: str = "postgresql"
) -> tuple[FromClause, ColumnElement[bool]]:
    """The FROM clause (customers + the aggregates the rule needs) and the WHERE condition of ``tree``.

    ``dialect_name`` picks how order aggregates are written (``crm.dialect.correlated_aggregates``).
    """
    context = RuleContext(today=today, timezone_name=timezone_name, correlated=correlated_aggregates(dialect_name))
    condition = compile_rule(tree, context)
    return context.source(), condition


def members_statement(
    tree: RuleTree, *, today: date, timezone_name: str, dialect_name: str = "postgresql"
) -> Select[Any]:
    """SELECT the ids of the customers matching ``tree``, in id order."""
    source, condition = rule_source(tree, today=today, timezone_name=timezone_name, dialect_name=dialect_name)
    return select(customers.c.id).select_from(source).where(condition).order_by(customers.c.id)


def count_statement(
    tree: RuleTree, *, today: date, timezone_name: str, dialect_name: str = "postgresql"
) -> Select[Any]:
    """SELECT how many customers match ``tree``."""
    source, condition = rule_source(tree, today=today, timezone_name=timezone_name, dialect_name=dialect_name)
    return select(func.count(customers.c.id)).select_from(source).where(condition)
