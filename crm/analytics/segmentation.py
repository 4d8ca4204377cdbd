"""Segmentation: source effectiveness, loyalty tiers, RFM scores and named segments.

RFM (DESIGN.md): over the customers with ≥1 counted order in the period,
* R = quintile (1–5) of the last counted order date, most recent = 5;
* F = quintile of the number of counted orders, most = 5;
* M = quintile of revenue (sum of counted order totals), most = 5;
each by ``NTILE(5)`` with ties broken by customer id (lower id → lower score). The named
segment comes from R and FM = ⌊(F + M + 1) ÷ 2⌋ (the rounded mean of F and M) through the
grid in ``SEGMENT_RULES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, and_, case, exists, func, literal, select
from sqlalchemy.sql import Subquery

from crm.analytics.scope import counted, order_source, order_where
from crm.dialect import days_between, unindexed
from crm.filters import Filters
from crm.schema import LOYALTY_TIERS, REVENUE_ORDER_STATUSES, customers, loyalty_tiers, orders

__all__ = [
    "SEGMENTS",
    "SEGMENT_RULES",
    "SegmentRule",
    "loyalty_tier_distribution",
    "rfm_as_of",
    "rfm_cells",
    "rfm_scored_subquery",
    "rfm_scores",
    "rfm_segments",
    "rfm_segments_from",
    "segment_customers",
    "segment_for",
    "segment_source_matrix",
    "segment_source_matrix_from",
    "source_effectiveness",
]


@dataclass(frozen=True)
class SegmentRule:
    """A named segment: the R and FM score ranges (inclusive) it covers and what to do."""

    name: str
    recency: tuple[int, int]
    frequency_monetary: tuple[int, int]
    description: str
    action: str


# Every (R, FM) pair from 1–5 × 1–5 falls into exactly one rule (checked by the tests).
SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule(
        "Champions",
        (5, 5),
        (4, 5),
        "Bought recently, buy often and spend the most.",
        "Reward them: early access, loyalty perks; ask for reviews and referrals.",
    ),
    SegmentRule(
        "Loyal",
        (3, 4),
        (4, 5),
        "Spend well and often, bought not long ago.",
        "Upsell higher-value products; invite them to the loyalty programme's next tier.",
    ),
    SegmentRule(
        "Potential Loyalist",
        (4, 5),
        (2, 3),
        "Recent customers with average frequency and spend.",
        "Offer membership or a loyalty programme; recommend related products.",
    ),
    SegmentRule(
        "New",
        (5, 5),
        (1, 1),
        "Bought very recently, but only once and little.",
        "Onboard them: welcome series, first-purchase support, a second-order incentive.",
    ),
    SegmentRule(
        "Promising",
        (4, 4),
        (1, 1),
        "Recent shoppers who have not spent much yet.",
        "Build brand awareness; free trials or small offers to raise frequency.",
    ),
    SegmentRule(
        "Need Attention",
        (3, 3),
        (3, 3),
        "Average recency, frequency and spend.",
        "Limited-time offers and personalised recommendations to re-activate them.",
    ),
    SegmentRule(
        "About to Sleep",
        (3, 3),
        (1, 2),
        "Below-average recency and spend; will be lost if nothing happens.",
        "Share popular products and discounts; reconnect before they lapse.",
    ),
    SegmentRule(
        "At Risk",
        (1, 2),
        (3, 4),
        "Spent well and often, but long ago.",
        "Personalised win-back emails with helpful content and a renewal offer.",
    ),
    SegmentRule(
        "Can't Lose Them",
        (1, 2),
        (5, 5),
        "Used to be among the best customers; have not returned for long.",
        "Win them back with the best offers and a personal call; ask what went wrong.",
    ),
    SegmentRule(
        "Hibernating",
        (2, 2),
        (1, 2),
        "Last bought long ago, few orders, low spend.",
        "Offer relevant products and special discounts; recreate brand value.",
    ),
    SegmentRule(
        "Lost",
        (1, 1),
        (1, 2),
        "Lowest recency, frequency and spend.",
        "Try a low-cost reactivation campaign; otherwise stop spending on them.",
    ),
)
SEGMENTS: tuple[str, ...] = tuple(rule.name for rule in SEGMENT_RULES)
_RULES_BY_NAME = {rule.name: rule for rule in SEGMENT_RULES}


def segment_for(r_score: int, f_score: int, m_score: int) -> str:
    """The named segment of one R, F, M score triple (the same rule the SQL applies)."""
    frequency_monetary = (f_score + m_score + 1) // 2
    for rule in SEGMENT_RULES:
        if (
            rule.recency[0] <= r_score <= rule.recency[1]
            and rule.frequency_monetary[0] <= frequency_monetary <= rule.frequency_monetary[1]
        ):
            return rule.name
    raise ValueError(f"No segment for R={r_score}, F={f_score}, M={m_score}")


def rfm_as_of(filters: Filters) -> datetime:
    """The moment recency is measured from: the end of the period, else the end of the reference day (UTC)."""
    _start, end = filters.utc_bounds()
    if end is not None:
        return end
    local_midnight = datetime.combine(filters.reference_day() + timedelta(days=1), time.min, tzinfo=filters.zone)
    return local_midnight.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _scored(filters: Filters, *, counted_clause: ColumnElement[bool] | None = None) -> Subquery:
    """One row per buying customer: recency/frequency/monetary, R/F/M scores, FM and segment.

    ``counted_clause`` replaces ``counted()`` (same orders, another spelling for the planner).
    """
    per_customer = (
        select(
            orders.c.customer_id,
            func.max(orders.c.order_date).label("last_order"),
            func.count(orders.c.id).label("frequency"),
            func.sum(orders.c.total).label("monetary"),
        )
        .select_from(order_source(filters))
        .where(counted() if counted_clause is None else counted_clause, *order_where(filters))
        .group_by(orders.c.customer_id)
        .subquery("per_customer")
    )
    p = per_customer.c
    quintiles = select(
        p.customer_id,
        p.last_order,
        p.frequency,
        p.monetary,
        func.ntile(5).over(order_by=(p.last_order, p.customer_id)).label("r_score"),
        func.ntile(5).over(order_by=(p.frequency, p.customer_id)).label("f_score"),
        func.ntile(5).over(order_by=(p.monetary, p.customer_id)).label("m_score"),
    ).subquery("quintiles")
    q = quintiles.c
    frequency_monetary = (q.f_score + q.m_score + 1) // 2
    segment = case(
        *(
            (
                and_(
                    q.r_score.between(*rule.recency),
                    frequency_monetary.between(*rule.frequency_monetary),
                ),
                literal(rule.name),
            )
            for rule in SEGMENT_RULES
        ),
        else_=literal("Unscored"),
    )
    return select(
        q.customer_id,
        days_between(q.last_order, literal(rfm_as_of(filters))).label("recency_days"),
        q.frequency,
        q.monetary,
        q.r_score,
        q.f_score,
        q.m_score,
        segment.label("segment"),
    ).subquery("scored")


def rfm_scored_subquery(filters: Filters) -> Subquery:
    """The scored customers as a subquery (customer_id, recency_days, frequency, monetary, r/f/m_score,
    segment), for queries built elsewhere (segment rules on ``rfm_segment``, over all customers).

    Counted orders are read through the covering index ``ix_orders_customer_behaviour`` in customer
    order (``crm.dialect.unindexed``: on SQLite about 2× faster than searching the status index).
    """
    return _scored(filters, counted_clause=unindexed(orders.c.status).in_(REVENUE_ORDER_STATUSES))


def _frame(engine: Engine, query: Select, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=columns)


def rfm_scores(engine: Engine, filters: Filters) -> pd.DataFrame:
    """RFM scores of every customer with ≥1 counted order in the period (one row per customer).

    Columns: customer_id, recency_days (whole days from the last counted order to the end of
    the period), frequency (counted orders), monetary (their revenue), r_score, f_score,
    m_score (quintiles 1–5, ties broken by customer id), rfm ('545'), segment.
    """
    scored = _scored(filters)
    s = scored.c
    query = select(s.customer_id, s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score, s.segment)
    frame = _frame(
        engine,
        query.order_by(s.customer_id),
        ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"],
    )
    frame["recency_days"] = frame["recency_days"].astype(float).apply(int)
    frame["monetary"] = frame["monetary"].astype(float).round(2)
    frame.insert(7, "rfm", frame["r_score"].astype(str) + frame["f_score"].astype(str) + frame["m_score"].astype(str))
    return frame


def rfm_segments(engine: Engine, filters: Filters) -> pd.DataFrame:
    """The standard named RFM segments with counts, value and a suggested action.

    Columns: segment (all 11, in standard order), customers, share (of scored customers),
    revenue (counted order totals in the period), revenue_share, average_recency_days,
    average_frequency, average_monetary (revenue per customer), description, action.
    """
    scored = _scored(filters)
    s = scored.c
    query = select(
        s.segment,
        func.count(),
        func.sum(s.monetary),
        func.avg(s.recency_days),
        func.avg(s.frequency),
    ).group_by(s.segment)
    found = _frame(engine, query, ["segment", "customers", "revenue", "average_recency_days", "average_frequency"])
    return _segments_frame(found)


def _segments_frame(found: pd.DataFrame) -> pd.DataFrame:
    """Per-segment sums → all 11 segments in order with shares, averages, description and action."""
    frame = pd.DataFrame({"segment": list(SEGMENTS)}).merge(found, on="segment", how="left")
    frame["customers"] = frame["customers"].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].fillna(0).astype(float).round(2)
    total_customers = frame["customers"].sum()
    total_revenue = frame["revenue"].sum()
    frame.insert(2, "share", frame["customers"] / total_customers if total_customers else 0.0)
    frame.insert(4, "revenue_share", frame["revenue"] / total_revenue if total_revenue else 0.0)
    frame["average_recency_days"] = frame["average_recency_days"].astype(float).round(1)
    frame["average_frequency"] = frame["average_frequency"].astype(float).round(2)
    frame["average_monetary"] = (frame["revenue"] / frame["customers"].where(frame["customers"] > 0)).round(2)
    frame["description"] = [_RULES_BY_NAME[name].description for name in frame["segment"]]
    frame["action"] = [_RULES_BY_NAME[name].action for name in frame["segment"]]
    return frame


def _rfm_cells_query(filters: Filters) -> Select:
    scored = _scored(filters)
    s = scored.c
    source = func.coalesce(customers.c.source, literal("unknown")).label("source")
    return (
        select(s.segment, source, func.count(), func.sum(s.monetary), func.sum(s.recency_days), func.sum(s.frequency))
        .select_from(scored.join(customers, customers.c.id == s.customer_id))
        .group_by(s.segment, source)
    )


def rfm_cells(engine: Engine, filters: Filters) -> pd.DataFrame:
    """RFM scoring once, grouped by segment × acquisition source (for the ``*_from`` functions).

    Columns: segment, source ('unknown' when empty), customers, revenue (counted order totals
    in the period), recency_days_total, frequency_total (sums over the cell's customers, so
    averages roll up exactly). Only non-empty cells. A page showing both the segments and the
    segment × source matrix scores customers once with this instead of once per result.
    """
    columns = ["segment", "source", "customers", "revenue", "recency_days_total", "frequency_total"]
    frame = _frame(engine, _rfm_cells_query(filters), columns)
    frame["customers"] = frame["customers"].astype(int)
    frame["revenue"] = frame["revenue"].astype(float)
    frame["recency_days_total"] = frame["recency_days_total"].astype(float)
    frame["frequency_total"] = frame["frequency_total"].astype(int)
    return frame


def rfm_segments_from(cells: pd.DataFrame) -> pd.DataFrame:
    """``rfm_segments`` from ``rfm_cells`` (same columns, same numbers)."""
    found = cells.groupby("segment", as_index=False)[
        ["customers", "revenue", "recency_days_total", "frequency_total"]
    ].sum()
    found["average_recency_days"] = found["recency_days_total"] / found["customers"]
    found["average_frequency"] = found["frequency_total"] / found["customers"]
    columns = ["segment", "customers", "revenue", "average_recency_days", "average_frequency"]
    return _segments_frame(found[columns])


def segment_source_matrix_from(cells: pd.DataFrame) -> pd.DataFrame:
    """``segment_source_matrix`` from ``rfm_cells`` (same columns, same numbers)."""
    return _matrix_frame(cells[["segment", "source", "customers", "revenue"]].copy())


def segment_customers(engine: Engine, filters: Filters, *, segment: str) -> pd.DataFrame:
    """The customers of one RFM segment (for export), highest revenue first.

    Columns: customer_id, first_name, last_name, email, phone, company, source, city,
    recency_days, frequency, monetary, r_score, f_score, m_score, segment.
    """
    if segment not in SEGMENTS:
        raise ValueError(f"Unknown segment {segment!r}; choose one of {', '.join(SEGMENTS)}.")
    scored = _scored(filters)
    s = scored.c
    query = (
        select(
            s.customer_id,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.email,
            customers.c.phone,
            customers.c.company,
            customers.c.source,
            customers.c.city,
            s.recency_days,
            s.frequency,
            s.monetary,
            s.r_score,
            s.f_score,
            s.m_score,
            s.segment,
        )
        .select_from(scored.join(customers, customers.c.id == s.customer_id))
        .where(s.segment == segment)
        .order_by(s.monetary.desc(), s.customer_id)
    )
    columns = [
        "customer_id", "first_name", "last_name", "email", "phone", "company", "source", "city",
        "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment",
    ]  # fmt: skip
    frame = _frame(engine, query, columns)
    frame["recency_days"] = frame["recency_days"].astype(float).apply(int)
    frame["monetary"] = frame["monetary"].astype(float).round(2)
    return frame


def segment_source_matrix(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Customers and revenue per RFM segment × acquisition source.

    Columns: segment, source ('unknown' when empty), customers, revenue (counted order
    totals in the period). Only non-empty cells; segments in standard order.
    """
    scored = _scored(filters)
    s = scored.c
    source = func.coalesce(customers.c.source, literal("unknown")).label("source")
    query = (
        select(s.segment, source, func.count(), func.sum(s.monetary))
        .select_from(scored.join(customers, customers.c.id == s.customer_id))
        .group_by(s.segment, source)
    )
    return _matrix_frame(_frame(engine, query, ["segment", "source", "customers", "revenue"]))


def _matrix_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Segment × source rows → money rounded, segments in standard order."""
    frame["revenue"] = frame["revenue"].astype(float).round(2)
    frame["segment"] = pd.Categorical(frame["segment"], categories=SEGMENTS, ordered=True)
    frame = frame.sort_values(["segment", "source"], ignore_index=True)
    frame["segment"] = frame["segment"].astype(str)
    return frame


def source_effectiveness(engine: Engine, filters: Filters) -> pd.DataFrame:
    """How well each acquisition source turns into customers and revenue.

    Columns: source, new_customers (created in the period; with a brand filter, customers of the
    brand), converted_customers (of those, with ≥1 counted order of the brand in the period),
    conversion_rate (converted ÷ new, never > 100 %), buying_customers (any customer of the
    source with a counted order in the period),
    orders (counted), revenue (totals of orders not cancelled/refunded, by order date),
    average_order_value (revenue ÷ counted orders), revenue_per_buyer. Largest revenue first.
    """
    source = func.coalesce(customers.c.source, literal("unknown")).label("source")
    bought = exists().where(
        orders.c.customer_id == customers.c.id,
        counted(),
        *filters.period_clauses(orders.c.order_date),
        *filters.brand_clauses(orders.c.brand_id),
    )
    acquisition = (
        select(source, func.count(customers.c.id), func.count(customers.c.id).filter(bought))
        .where(*filters.customer_count_clauses(customers), *filters.period_clauses(customers.c.created_at))
        .group_by(source)
    )
    spending = (
        select(
            source, func.count(func.distinct(orders.c.customer_id)), func.count(orders.c.id), func.sum(orders.c.total)
        )
        .select_from(order_source(filters, always_join=True))
        .where(counted(), *order_where(filters))
        .group_by(source)
    )
    new = _frame(engine, acquisition, ["source", "new_customers", "converted_customers"])
    spent = _frame(engine, spending, ["source", "buying_customers", "orders", "revenue"])
    frame = new.merge(spent, on="source", how="outer")
    for column in ("new_customers", "converted_customers", "buying_customers", "orders"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].fillna(0).astype(float).round(2)
    frame.insert(
        3,
        "conversion_rate",
        frame["converted_customers"] / frame["new_customers"].where(frame["new_customers"] > 0),
    )
    frame["average_order_value"] = (frame["revenue"] / frame["orders"].where(frame["orders"] > 0)).round(2)
    frame["revenue_per_buyer"] = (
        frame["revenue"] / frame["buying_customers"].where(frame["buying_customers"] > 0)
    ).round(2)
    return frame.sort_values(["revenue", "source"], ascending=[False, True], ignore_index=True)


def _tier_case(engine: Engine) -> tuple[ColumnElement[str], list[tuple[str, int]]]:
    """SQL CASE naming the loyalty tier of customers.loyalty_points, from the loyalty_tiers table."""
    with engine.connect() as connection:
        rows = [(row.name, int(row.min_points)) for row in connection.execute(select(loyalty_tiers))]
    tiers = sorted(rows or list(LOYALTY_TIERS), key=lambda tier: tier[1])
    points = customers.c.loyalty_points
    whens = [(points >= minimum, literal(name)) for name, minimum in reversed(tiers[1:])]
    return case(*whens, else_=literal(tiers[0][0])) if whens else literal(tiers[0][0]), tiers


def loyalty_tier_distribution(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Customers per loyalty tier (points balance now; tiers from the loyalty_tiers table).

    Columns: tier (bronze < 1000 ≤ silver < 5000 ≤ gold < 10000 ≤ platinum by default),
    min_points, customers (matching the customer filters; with a brand filter, customers of the
    brand), share, average_points, buying_customers and revenue (their counted orders of the brand
    in the period).
    """
    tier_expression, tiers = _tier_case(engine)
    tier = tier_expression.label("tier")
    spend = (
        select(orders.c.customer_id, func.sum(orders.c.total).label("revenue"))
        .where(counted(), *filters.period_clauses(orders.c.order_date), *filters.brand_clauses(orders.c.brand_id))
        .group_by(orders.c.customer_id)
        .subquery("spend")
    )
    query = (
        select(
            tier,
            func.count(customers.c.id),
            func.avg(customers.c.loyalty_points),
            func.count(spend.c.customer_id),
            func.sum(spend.c.revenue),
        )
        .select_from(customers.outerjoin(spend, spend.c.customer_id == customers.c.id))
        .where(*filters.customer_count_clauses(customers))
        .group_by(tier)
    )
    found = _frame(engine, query, ["tier", "customers", "average_points", "buying_customers", "revenue"])
    frame = pd.DataFrame(tiers, columns=["tier", "min_points"]).merge(found, on="tier", how="left")
    frame["customers"] = frame["customers"].fillna(0).astype(int)
    frame["buying_customers"] = frame["buying_customers"].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].fillna(0).astype(float).round(2)
    frame["average_points"] = frame["average_points"].astype(float).round(0)
    total = frame["customers"].sum()
    frame.insert(3, "share", frame["customers"] / total if total else 0.0)
    return frame
