"""Bench cases of the visit analytics (``crm.analytics.visits``) and the Overview's takings.

Same shape as ``crm.analytics.benchmarks``: the crm function, hand-written SQL (aliases v =
visits, vp = visit_payments, c = customers, o = orders) and a pandas baseline loading whole
tables; ``tests/analytics/test_benchmarks.py`` checks that all three agree on tiny_shop.
The hand SQL always joins customers (every visit has one), the crm functions only when a
customer filter needs it.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from crm.analytics import overview, visits
from crm.analytics.benchmarks import (
    COUNTED_O,
    AnalyticsCase,
    _counted,
    _hand,
    _in_period,
    _load,
    _orders_in_scope,
    _people,
    _Spelling,
)
from crm.filters import Filters
from crm.schema import visit_payments
from crm.schema import visits as visits_table

__all__ = ["CASES"]

VISITS_FROM = "visits v JOIN customers c ON c.id = v.customer_id"
PAYMENTS_FROM = "visit_payments vp JOIN visits v ON v.id = vp.visit_id JOIN customers c ON c.id = v.customer_id"


# --- pandas: the visiting customers' rows, filtered like the crm functions ---------------------------
def _visits_of_people(engine: Engine, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(visits of customers passing the filters, every visit payment)."""
    visit_frame, payment_frame = _load(engine, visits_table, visit_payments)
    people = _people(engine, filters)
    visit_frame = visit_frame[visit_frame["customer_id"].isin(people["id"])].copy()
    payment_frame["amount"] = payment_frame["amount"].astype(float)
    return visit_frame, payment_frame


def _month(moments: pd.Series) -> pd.Series:
    return pd.to_datetime(moments).dt.strftime("%Y-%m-01")


# --- visits by month -------------------------------------------------------------------------------
BY_MONTH = ["period", "visits", "visitors", "paid", "average_payment"]


def _hand_by_month_sql(s: _Spelling) -> str:
    return f"""
        SELECT {s.month("v.visited_at")} AS period, COUNT(v.id), COUNT(DISTINCT v.customer_id),
               COALESCE(SUM(p.paid), 0), ROUND(COALESCE(SUM(p.paid), 0) * 1.0 / COUNT(v.id), 2)
        FROM {VISITS_FROM}
        LEFT JOIN (SELECT visit_id, SUM(amount) AS paid FROM visit_payments GROUP BY visit_id) p ON p.visit_id = v.id
        WHERE 1 = 1{s.period("v.visited_at")}{s.people()}
        GROUP BY 1 ORDER BY 1"""


def _pandas_by_month(engine: Engine, filters: Filters) -> pd.DataFrame:
    visit_frame, payment_frame = _visits_of_people(engine, filters)
    visit_frame = visit_frame[_in_period(visit_frame["visited_at"], filters)]
    paid = payment_frame.groupby("visit_id")["amount"].sum()
    visit_frame = visit_frame.assign(
        paid=visit_frame["id"].map(paid).fillna(0.0), period=_month(visit_frame["visited_at"])
    )
    frame = (
        visit_frame.groupby("period")
        .agg(visits=("id", "count"), visitors=("customer_id", "nunique"), paid=("paid", "sum"))
        .reset_index()
    )
    frame["average_payment"] = (frame["paid"] / frame["visits"]).round(2)
    return frame[BY_MONTH]


# --- visit payments by month -----------------------------------------------------------------------
PAYMENTS_BY_MONTH = ["period", "payments", "amount", "for_orders"]


def _hand_payments_sql(s: _Spelling) -> str:
    return f"""
        SELECT {s.month("vp.paid_at")}, COUNT(vp.id), COALESCE(SUM(vp.amount), 0),
               COALESCE(SUM(vp.amount) FILTER (WHERE vp.order_id IS NOT NULL), 0)
        FROM {PAYMENTS_FROM}
        WHERE 1 = 1{s.period("vp.paid_at")}{s.people()}
        GROUP BY 1 ORDER BY 1"""


def _pandas_payments(engine: Engine, filters: Filters) -> pd.DataFrame:
    visit_frame, payment_frame = _visits_of_people(engine, filters)
    payments = payment_frame[payment_frame["visit_id"].isin(visit_frame["id"])]
    payments = payments[_in_period(payments["paid_at"], filters)]
    payments = payments.assign(
        period=_month(payments["paid_at"]), for_orders=payments["amount"].where(payments["order_id"].notna(), 0.0)
    )
    frame = (
        payments.groupby("period")
        .agg(payments=("id", "count"), amount=("amount", "sum"), for_orders=("for_orders", "sum"))
        .reset_index()
    )
    return frame[PAYMENTS_BY_MONTH]


# --- summary ----------------------------------------------------------------------------------------
SUMMARY = ["visits", "visitors", "returning_visitors", "paid"]


def _hand_summary_sql(s: _Spelling) -> str:
    in_period = "1 = 1" + s.period("v.visited_at")
    per_customer = f"""
        SELECT v.customer_id, SUM(CASE WHEN {in_period} THEN 1 ELSE 0 END) AS in_period, COUNT(*) AS up_to_end
        FROM {VISITS_FROM} WHERE 1 = 1{s.before_end("v.visited_at")}{s.people()} GROUP BY v.customer_id"""
    paid = f"""
        SELECT COALESCE(SUM(vp.amount), 0) FROM {PAYMENTS_FROM}
        WHERE 1 = 1{s.period("v.visited_at")}{s.people()}"""
    return f"""
        SELECT COALESCE(SUM(pc.in_period), 0), COUNT(CASE WHEN pc.in_period > 0 THEN 1 END),
               COUNT(CASE WHEN pc.in_period > 0 AND pc.up_to_end > 1 THEN 1 END), ({paid})
        FROM ({per_customer}) pc"""


def _pandas_summary(engine: Engine, filters: Filters) -> pd.DataFrame:
    visit_frame, payment_frame = _visits_of_people(engine, filters)
    _start, end = filters.utc_bounds()
    up_to_end = visit_frame if end is None else visit_frame[pd.to_datetime(visit_frame["visited_at"]) < end]
    in_period = visit_frame[_in_period(visit_frame["visited_at"], filters)]
    counts = up_to_end.groupby("customer_id")["id"].count()
    visitors = in_period["customer_id"].unique()
    returning = int((counts.reindex(visitors).fillna(0) > 1).sum())
    paid = payment_frame[payment_frame["visit_id"].isin(in_period["id"])]["amount"].sum()
    return pd.DataFrame(
        [{"visits": len(in_period), "visitors": len(visitors), "returning_visitors": returning, "paid": float(paid)}]
    )


def _summary_numbers(result: object) -> pd.DataFrame:
    summary: visits.VisitSummary = result  # type: ignore[assignment]
    return pd.DataFrame(
        [
            {
                "visits": summary.visits,
                "visitors": summary.visitors,
                "returning_visitors": summary.returning_visitors,
                "paid": float(summary.paid),
            }
        ]
    )


# --- busiest times ------------------------------------------------------------------------------------
BUSIEST = ["day_of_week", "hour", "visits"]


def _hand_busiest_sql(s: _Spelling) -> str:
    return f"""
        SELECT {s.day_of_week("v.visited_at")}, {s.hour("v.visited_at")}, COUNT(v.id)
        FROM {VISITS_FROM} WHERE 1 = 1{s.period("v.visited_at")}{s.people()}
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _pandas_busiest(engine: Engine, filters: Filters) -> pd.DataFrame:
    visit_frame, _payments = _visits_of_people(engine, filters)
    visit_frame = visit_frame[_in_period(visit_frame["visited_at"], filters)]
    moments = pd.to_datetime(visit_frame["visited_at"])
    frame = (
        visit_frame.assign(day_of_week=moments.dt.dayofweek, hour=moments.dt.hour)
        .groupby(["day_of_week", "hour"])["id"]
        .count()
        .reset_index(name="visits")
    )
    return frame[BUSIEST]


# --- Overview: takings ------------------------------------------------------------------------------
TAKINGS = ["order_revenue", "visit_takings", "visit_takings_for_orders", "total"]


def _hand_takings_sql(s: _Spelling) -> str:
    revenue = f"SELECT COALESCE(SUM(o.total), 0) AS revenue FROM orders o{s.join()} WHERE {COUNTED_O}{s.orders()}"
    visit_where = f"WHERE 1 = 1{s.period('vp.paid_at')}{s.people()}"
    taken = f"SELECT COALESCE(SUM(vp.amount), 0) AS taken FROM {PAYMENTS_FROM} {visit_where}"
    for_orders = (
        f"SELECT COALESCE(SUM(vp.amount), 0) AS for_orders FROM {PAYMENTS_FROM} {visit_where} "
        "AND vp.order_id IS NOT NULL"
    )
    return (
        "SELECT r.revenue, t.taken, f.for_orders, r.revenue + t.taken - f.for_orders "
        f"FROM ({revenue}) r CROSS JOIN ({taken}) t CROSS JOIN ({for_orders}) f"
    )


def _pandas_takings(engine: Engine, filters: Filters) -> pd.DataFrame:
    revenue = float(_counted(_orders_in_scope(engine, filters))["total"].sum())
    visit_frame, payment_frame = _visits_of_people(engine, filters)
    payments = payment_frame[payment_frame["visit_id"].isin(visit_frame["id"])]
    payments = payments[_in_period(payments["paid_at"], filters)]
    taken = float(payments["amount"].sum())
    for_orders = float(payments[payments["order_id"].notna()]["amount"].sum())
    return pd.DataFrame(
        [
            {
                "order_revenue": revenue,
                "visit_takings": taken,
                "visit_takings_for_orders": for_orders,
                "total": revenue + taken - for_orders,
            }
        ]
    )


def _takings_numbers(result: object) -> pd.DataFrame:
    money: overview.Takings = result  # type: ignore[assignment]
    return pd.DataFrame(
        [
            {
                "order_revenue": float(money.order_revenue),
                "visit_takings": float(money.visit_takings),
                "visit_takings_for_orders": float(money.visit_takings_for_orders),
                "total": float(money.total),
            }
        ]
    )


CASES: list[AnalyticsCase] = [
    AnalyticsCase("visits: by month", visits.visits_by_month, _hand(BY_MONTH, _hand_by_month_sql), _pandas_by_month),
    AnalyticsCase(
        "visits: payments by month",
        visits.visit_payments_by_month,
        _hand(PAYMENTS_BY_MONTH, _hand_payments_sql),
        _pandas_payments,
    ),
    AnalyticsCase(
        "visits: summary", visits.visit_summary, _hand(SUMMARY, _hand_summary_sql), _pandas_summary, _summary_numbers
    ),
    AnalyticsCase(
        "visits: busiest days and hours",
        visits.busiest_visit_times,
        _hand(BUSIEST, _hand_busiest_sql),
        _pandas_busiest,
    ),
    AnalyticsCase(
        "overview: takings (orders and visits)",
        overview.takings,
        _hand(TAKINGS, _hand_takings_sql),
        _pandas_takings,
        _takings_numbers,
    ),
]
