"""Segments for analytics: how many customers a rule holds, how many can be reached, what they spent.

The rule is a crm.marketing rule tree (nested ``all``/``any``/``not`` of conditions), compiled to one
SQL statement; the sidebar's customer filters (source, gender, ages, type, status and the brand rule)
narrow it further. Relative fields (age, days since …) are measured on the filters' reference day.
Behaviour fields cover all counted orders (not cancelled/refunded), whatever the period: a segment
describes customers now.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, select, true

from crm.dialect import correlated_aggregates
from crm.filters import Filters
from crm.marketing.compiler import RuleContext, compile_rule
from crm.marketing.rules import RuleTree, parse_rules
from crm.schema import customers

__all__ = ["segment_summary"]


def segment_summary(
    engine: Engine, filters: Filters, rules: dict[str, Any] | RuleTree, *, as_of: date | None = None
) -> pd.DataFrame:
    """One row describing the customers who match ``rules`` and the customer filters.

    Columns: customers (how many match), with_email_consent (of them, with marketing consent and an
    email address: reachable by an email campaign), total_spent (sum of their counted order totals,
    all time; 0.00 when none). "Today" is ``as_of``, else the filters' reference day.
    """
    tree = parse_rules(rules) if isinstance(rules, (dict, str)) else rules
    context = RuleContext(
        today=as_of or filters.reference_day(),
        timezone_name=filters.timezone_name,
        correlated=correlated_aggregates(engine.dialect.name),
    )
    total_spent = context.behaviour_value("total_spent")
    condition = compile_rule(tree, context)
    reachable = and_(
        customers.c.marketing_consent == true(),
        customers.c.email.is_not(None),
        func.trim(customers.c.email) != "",
    )
    statement = (
        select(
            func.count(customers.c.id),
            func.count(customers.c.id).filter(reachable),
            func.coalesce(func.sum(total_spent), 0),
        )
        .select_from(context.source())
        .where(condition, *filters.customer_count_clauses(customers))
    )
    with engine.connect() as connection:
        row = connection.execute(statement).one()
    return pd.DataFrame(
        [{"customers": int(row[0]), "with_email_consent": int(row[1]), "total_spent": round(float(row[2]), 2)}]
    )
