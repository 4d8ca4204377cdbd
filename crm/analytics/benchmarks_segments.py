"""Bench case of segments: a 6-condition rule mixing customer attributes and order behaviour.

The crm function (``crm.analytics.segments.segment_summary``, one compiled statement), a hand-written
query computing the same three numbers, and a pandas baseline that loads customers and orders.
Relative fields use the filters' reference day; the bench runs in UTC.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Connection, Engine, text

from crm.analytics.benchmarks import AnalyticsCase, _Spelling, _years_ago
from crm.analytics.segments import segment_summary
from crm.filters import Filters
from crm.schema import REVENUE_ORDER_STATUSES

__all__ = ["BENCH_RULE", "CASES"]

# Source, age, orders, (spend OR points), NOT recent: six conditions, attributes and behaviour.
BENCH_RULE = {
    "all": [
        {"field": "source", "op": "in", "value": ["website", "referral"]},
        {"field": "age", "op": "between", "value": [25, 54]},
        {"field": "orders_count", "op": ">=", "value": 1},
        {
            "any": [
                {"field": "total_spent", "op": ">=", "value": 100},
                {"field": "loyalty_points", "op": ">=", "value": 1000},
            ]
        },
        {"not": {"field": "days_since_last_order", "op": "<=", "value": 7}},
    ]
}
COLUMNS = ["customers", "with_email_consent", "total_spent"]


def _run(engine: Engine, filters: Filters) -> pd.DataFrame:
    return segment_summary(engine, filters, BENCH_RULE)


def _hand_sql(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    today = filters.reference_day()
    counted = ", ".join(f"'{status}'" for status in REVENUE_ORDER_STATUSES)
    if s.postgres:
        days_since = f"(CAST({s.bind(today)} AS DATE) - CAST(b.last_order AS DATE))"
    else:
        days_since = f"CAST(julianday({s.bind(today)}) - julianday(date(b.last_order)) AS INTEGER)"
    sql = f"""
        WITH b AS (
            SELECT customer_id, COUNT(*) AS orders_count, SUM(total) AS total_spent, MAX(order_date) AS last_order
            FROM orders WHERE status IN ({counted}) GROUP BY customer_id
        )
        SELECT COUNT(c.id),
               SUM(CASE WHEN c.marketing_consent = {s.bind(True)} AND c.email IS NOT NULL
                        AND trim(c.email) <> '' THEN 1 ELSE 0 END),
               COALESCE(SUM(b.total_spent), 0)
        FROM customers c LEFT JOIN b ON b.customer_id = c.id
        WHERE c.source IN ('website', 'referral')
          AND c.birth_date <= {s.bind(_years_ago(today, 25))} AND c.birth_date > {s.bind(_years_ago(today, 55))}
          AND COALESCE(b.orders_count, 0) >= 1
          AND (COALESCE(b.total_spent, 0) >= 100 OR c.loyalty_points >= 1000)
          AND NOT (b.last_order IS NOT NULL AND {days_since} <= 7)
          {s.people()}
    """
    row = connection.execute(text(sql), s.params).one()
    return pd.DataFrame(
        [{"customers": int(row[0]), "with_email_consent": int(row[1] or 0), "total_spent": round(float(row[2]), 2)}]
    )


def _age(birth: pd.Series, today: date) -> pd.Series:
    born = pd.to_datetime(birth)
    had_birthday = (born.dt.month < today.month) | ((born.dt.month == today.month) & (born.dt.day <= today.day))
    return today.year - born.dt.year - (~had_birthday).astype(int)


def _pandas(engine: Engine, filters: Filters) -> pd.DataFrame:
    today = filters.reference_day()
    with engine.connect() as connection:
        people = pd.read_sql(
            text(
                "SELECT c.id, c.source, c.gender, c.customer_type, c.status, c.birth_date, c.email, "
                "c.loyalty_points, c.marketing_consent, b.name AS brand FROM customers c "
                "LEFT JOIN brands b ON b.id = c.brand_id"
            ),
            connection,
        )
        bought = pd.read_sql(text("SELECT customer_id, status, total, order_date FROM orders"), connection)
    bought = bought[bought["status"].isin(REVENUE_ORDER_STATUSES)]
    bought["total"] = bought["total"].astype(float)
    per_customer = bought.groupby("customer_id").agg(
        orders_count=("total", "size"), total_spent=("total", "sum"), last_order=("order_date", "max")
    )
    frame = people.merge(per_customer, left_on="id", right_index=True, how="left")
    frame["orders_count"] = frame["orders_count"].fillna(0)
    frame["total_spent"] = frame["total_spent"].fillna(0.0)
    age = _age(frame["birth_date"], today)
    last_day = pd.to_datetime(frame["last_order"]).dt.normalize()
    days_since = (pd.Timestamp(today) - last_day).dt.days
    recent = days_since.notna() & (days_since <= 7)
    keep = (
        frame["source"].isin(["website", "referral"])
        & age.between(25, 54)
        & (frame["orders_count"] >= 1)
        & ((frame["total_spent"] >= 100) | (frame["loyalty_points"] >= 1000))
        & ~recent
    )
    for column, values in (
        ("source", filters.sources),
        ("gender", filters.genders),
        ("customer_type", filters.customer_types),
        ("status", filters.customer_statuses),
        ("brand", filters.brands),
    ):
        if values:
            keep &= frame[column].isin(values)
    if filters.age_min is not None:
        keep &= age >= filters.age_min
    if filters.age_max is not None:
        keep &= age <= filters.age_max
    members = frame[keep]
    email = members["email"].fillna("").str.strip() != ""
    reachable = members["marketing_consent"].astype(bool) & email
    return pd.DataFrame(
        [
            {
                "customers": len(members),
                "with_email_consent": int(reachable.sum()),
                "total_spent": round(float(members["total_spent"].sum()), 2),
            }
        ]
    )


CASES = [
    AnalyticsCase(
        name="segment (6 conditions)",
        run=_run,
        hand_sql=_hand_sql,
        pandas_baseline=_pandas,
        function=segment_summary,
    )
]
