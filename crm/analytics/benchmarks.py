"""Benchmark cases for ``python -m crm bench``: every analytics function next to two references.

Each ``AnalyticsCase`` pairs the crm function (SQLAlchemy Core, filters applied) with
* ``hand_sql``: ONE hand-written SQL query computing the same numbers (no filters: the
  bench uses ``Filters()``), spelled per dialect where date functions differ, and
* ``pandas_baseline``: the naive approach, loading the needed tables whole with
  ``pd.read_sql`` and aggregating in pandas.

``numbers`` turns the crm result into the DataFrame the two references return, so
``tests/analytics/test_benchmarks.py`` can check that all three agree on tiny_shop — that
keeps the bench honest (the timings compare equal work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Connection, Engine, Table, select, text

from crm.analytics import behavior, cohorts, demographics, overview, revenue, segmentation
from crm.analytics.scope import AGE_BUCKETS, UNKNOWN_AGE
from crm.filters import Filters
from crm.schema import (
    LOYALTY_TIERS,
    REVENUE_ORDER_STATUSES,
    brands,
    categories,
    customers,
    order_items,
    orders,
    products,
    transactions,
)

__all__ = ["CASES", "AnalyticsCase"]


def _identity(result: object) -> pd.DataFrame:
    return result  # type: ignore[return-value]


@dataclass(frozen=True)
class AnalyticsCase:
    name: str
    run: Callable[[Engine, Filters], object]  # the crm analytics function call
    hand_sql: Callable[[Connection], object]  # ONE hand-written SQL query computing the same numbers
    pandas_baseline: Callable[[Engine, Filters], object]  # load tables into pandas, compute the same numbers
    # The crm result as the DataFrame the hand SQL and the pandas baseline return (for the agreement test).
    numbers: Callable[[object], pd.DataFrame] = field(default=_identity)


# --- hand-written SQL ---------------------------------------------------------------------
COUNTED = "status IN ('pending', 'processing', 'shipped', 'delivered')"
COUNTED_O = "o.status IN ('pending', 'processing', 'shipped', 'delivered')"


class _Spelling:
    """The few fragments whose spelling differs between SQLite and PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"

    def month(self, column: str) -> str:
        if self.postgres:
            return f"to_char(date_trunc('month', {column}), 'YYYY-MM-DD')"
        return f"strftime('%Y-%m-01', {column})"

    def month_of_year(self, column: str) -> str:
        if self.postgres:
            return f"CAST(EXTRACT(MONTH FROM {column}) AS INTEGER)"
        return f"CAST(strftime('%m', {column}) AS INTEGER)"

    def day_of_week(self, column: str) -> str:
        if self.postgres:
            return f"(CAST(EXTRACT(ISODOW FROM {column}) AS INTEGER) - 1)"
        return f"((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7)"

    def hour(self, column: str) -> str:
        if self.postgres:
            return f"CAST(EXTRACT(HOUR FROM {column}) AS INTEGER)"
        return f"CAST(strftime('%H', {column}) AS INTEGER)"

    def month_number(self, column: str) -> str:
        if self.postgres:
            return (
                f"(CAST(EXTRACT(YEAR FROM {column}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM {column}) AS INTEGER))"
            )
        return f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12 + CAST(substr({column}, 6, 2) AS INTEGER))"

    def days(self, start: str, end: str) -> str:
        if self.postgres:
            return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"
        return f"(julianday({end}) - julianday({start}))"

    def years_ago(self, years: int) -> str:
        if self.postgres:
            return f"CAST(CAST(now() AT TIME ZONE 'UTC' AS DATE) - INTERVAL '{years} years' AS DATE)"
        return f"date('now', '-{years} years')"

    def tomorrow(self) -> str:
        if self.postgres:
            return "CAST(CAST(now() AT TIME ZONE 'UTC' AS DATE) + 1 AS TIMESTAMP)"
        return "datetime(date('now', '+1 day'))"

    def age_group(self, birth: str = "c.birth_date") -> str:
        return (
            f"CASE WHEN {birth} IS NULL THEN 'unknown' "
            f"WHEN {birth} <= {self.years_ago(65)} THEN '65+' "
            f"WHEN {birth} <= {self.years_ago(55)} THEN '55–64' "
            f"WHEN {birth} <= {self.years_ago(45)} THEN '45–54' "
            f"WHEN {birth} <= {self.years_ago(35)} THEN '35–44' "
            f"WHEN {birth} <= {self.years_ago(25)} THEN '25–34' "
            f"WHEN {birth} <= {self.years_ago(18)} THEN '18–24' "
            "ELSE 'under 18' END"
        )


def _hand(columns: list[str], build: Callable[[_Spelling], str]) -> Callable[[Connection], pd.DataFrame]:
    def run(connection: Connection) -> pd.DataFrame:
        rows = connection.execute(text(build(_Spelling(connection)))).all()
        return pd.DataFrame(rows, columns=columns)

    return run


MAIN_CATEGORY_JOIN = (
    "JOIN products p ON p.id = oi.product_id "
    "LEFT JOIN categories cat ON cat.id = p.category_id "
    "LEFT JOIN categories parent ON parent.id = cat.parent_id"
)
MAIN_CATEGORY = "COALESCE(parent.name, cat.name, 'uncategorised')"

# --- pandas baselines ---------------------------------------------------------------------


def _load(engine: Engine, *tables: Table) -> list[pd.DataFrame]:
    with engine.connect() as connection:
        return [pd.read_sql(select(table), connection) for table in tables]


def _floats(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        frame[name] = frame[name].astype(float)
    return frame


def _month_label(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.strftime("%Y-%m-01")


def _counted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"].isin(REVENUE_ORDER_STATUSES)]


def _age_groups(birth_dates: pd.Series, today: date) -> pd.Series:
    def years_ago(years: int) -> date:
        try:
            return today.replace(year=today.year - years)
        except ValueError:
            return today.replace(year=today.year - years, day=28)

    groups = pd.Series(UNKNOWN_AGE, index=birth_dates.index, dtype=object)
    births = pd.to_datetime(birth_dates).dt.date
    known = births.notna()
    for label, low, _high in AGE_BUCKETS:  # youngest first, later (older) groups overwrite
        if low is None:
            groups[known] = label
        else:
            groups[known & (births <= years_ago(low))] = label
    return groups


def _main_categories(product_frame: pd.DataFrame, category_frame: pd.DataFrame) -> pd.DataFrame:
    names = category_frame.set_index("id")["name"]
    parents = category_frame.set_index("id")["parent_id"]
    frame = product_frame[["id", "name", "sku", "category_id"]].rename(columns={"id": "product_id", "name": "product"})
    parent_names = frame["category_id"].map(parents).map(names)
    frame["category"] = parent_names.fillna(frame["category_id"].map(names)).fillna("uncategorised")
    return frame


def _items(engine: Engine, filters: Filters, *, with_customers: bool = False) -> pd.DataFrame:
    tables = [orders, order_items, products, categories] + ([customers] if with_customers else [])
    loaded = _load(engine, *tables)
    order_frame, item_frame, product_frame, category_frame = loaded[:4]
    counted_orders = _counted(order_frame)[["id", "customer_id", "order_date"]].rename(columns={"id": "order_id"})
    frame = item_frame.merge(counted_orders, on="order_id").merge(
        _main_categories(product_frame, category_frame), on="product_id"
    )
    frame["item_revenue"] = frame["quantity"] * frame["unit_price"].astype(float)
    if with_customers:
        people = loaded[4][["id", "birth_date"]].rename(columns={"id": "customer_id"})
        frame = frame.merge(people, on="customer_id")
        frame["age_group"] = _age_groups(frame["birth_date"], filters.reference_day())
    return frame


def _pandas_period_totals(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame, customer_frame, transaction_frame = _load(engine, orders, customers, transactions)
    counted_orders = _floats(_counted(order_frame).copy(), "total")
    completed = _floats(transaction_frame[transaction_frame["status"] == "completed"].copy(), "amount")
    cash_in = completed[completed["transaction_type"].isin(overview.CASH_IN_TYPES)]["amount"].sum()
    cash_out = completed[completed["transaction_type"].isin(overview.CASH_OUT_TYPES)]["amount"].sum()
    return pd.DataFrame(
        [
            {
                "new_customers": len(customer_frame),
                "converted_customers": customer_frame["id"].isin(counted_orders["customer_id"]).sum(),
                "orders": len(order_frame),
                "revenue": counted_orders["total"].sum(),
                "revenue_orders": len(counted_orders),
                "buying_customers": counted_orders["customer_id"].nunique(),
                "completed_transactions": len(completed),
                "net_cash": cash_in - cash_out,
            }
        ]
    )


def _period_totals_numbers(result: object) -> pd.DataFrame:
    totals: overview.PeriodTotals = result  # type: ignore[assignment]
    return pd.DataFrame(
        [
            {
                "new_customers": totals.new_customers,
                "converted_customers": totals.converted_customers,
                "orders": totals.orders,
                "revenue": float(totals.revenue),
                "revenue_orders": totals.revenue_orders,
                "buying_customers": totals.buying_customers,
                "completed_transactions": totals.completed_transactions,
                "net_cash": float(totals.net_cash),
            }
        ]
    )


def _pandas_growth(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame, customer_frame = _load(engine, orders, customers)
    order_frame = _floats(order_frame, "total")
    order_frame["period"] = _month_label(order_frame["order_date"])
    order_frame["counted_total"] = order_frame["total"].where(order_frame["status"].isin(REVENUE_ORDER_STATUSES), 0.0)
    by_order = order_frame.groupby("period").agg(revenue=("counted_total", "sum"), orders=("id", "count"))
    customer_frame["period"] = _month_label(customer_frame["created_at"])
    by_customer = customer_frame.groupby("period").agg(new_customers=("id", "count"))
    return by_order.join(by_customer, how="outer").fillna(0).reset_index()


def _pandas_pending(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    pending = order_frame[order_frame["status"] == "pending"]
    return pd.DataFrame([{"count": len(pending), "value": pending["total"].astype(float).sum()}])


def _pandas_revenue_over_time(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    order_frame = _floats(order_frame, "total")
    order_frame["period"] = _month_label(order_frame["order_date"])
    is_counted = order_frame["status"].isin(REVENUE_ORDER_STATUSES)
    order_frame["counted_total"] = order_frame["total"].where(is_counted, 0.0)
    order_frame["counted_id"] = order_frame["id"].where(is_counted)
    order_frame["counted_customer"] = order_frame["customer_id"].where(is_counted)
    return (
        order_frame.groupby("period")
        .agg(
            revenue=("counted_total", "sum"),
            counted_orders=("counted_id", "count"),
            orders=("id", "count"),
            buying_customers=("counted_customer", "nunique"),
        )
        .reset_index()
    )


def _pandas_payment_methods(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    frame = _floats(_counted(order_frame).copy(), "total")
    frame["payment_method"] = frame["payment_method"].fillna("unknown")
    return frame.groupby("payment_method").agg(orders=("id", "count"), revenue=("total", "sum")).reset_index()


def _pandas_transactions(engine: Engine, filters: Filters) -> pd.DataFrame:
    (frame,) = _load(engine, transactions)
    frame = _floats(frame, "amount")
    return (
        frame.groupby(["transaction_type", "status"])
        .agg(transactions=("id", "count"), amount=("amount", "sum"))
        .reset_index()
    )


def _counted_with_customers(engine: Engine) -> pd.DataFrame:
    order_frame, customer_frame = _load(engine, orders, customers)
    people = customer_frame.drop(columns=["created_at", "updated_at", "version", "brand_id"]).rename(
        columns={"id": "customer_id"}
    )
    return _floats(_counted(order_frame).copy(), "total").merge(people, on="customer_id")


def _pandas_by_source(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted_with_customers(engine)
    frame["source"] = frame["source"].fillna("unknown")
    return (
        frame.groupby("source")
        .agg(revenue=("total", "sum"), orders=("id", "count"), buying_customers=("customer_id", "nunique"))
        .reset_index()
    )


def _pandas_by_brand(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame, brand_frame = _load(engine, orders, brands)
    frame = _floats(_counted(order_frame).copy(), "total")
    frame["brand"] = frame["brand_id"].map(brand_frame.set_index("id")["name"]).fillna("no brand")
    return frame.groupby("brand").agg(revenue=("total", "sum"), orders=("id", "count")).reset_index()


def _pandas_refunds(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame, transaction_frame = _load(engine, orders, transactions)
    order_frame = _floats(order_frame, "total")
    order_frame["period"] = _month_label(order_frame["order_date"])
    rows = []
    for status in ("refunded", "cancelled"):
        picked = order_frame[order_frame["status"] == status]
        rows.append(
            picked.groupby("period").agg(**{f"{status}_orders": ("id", "count"), f"{status}_value": ("total", "sum")})
        )
    cash = _floats(transaction_frame, "amount")
    cash = cash[(cash["status"] == "completed") & cash["transaction_type"].isin(("refund", "chargeback"))].copy()
    cash["period"] = _month_label(cash["processed_at"])
    rows.append(cash.groupby("period").agg(refund_transactions=("id", "count"), refunded_cash=("amount", "sum")))
    return rows[0].join(rows[1:], how="outer").fillna(0).reset_index()


def _refund_numbers(result: object) -> pd.DataFrame:
    return result  # type: ignore[return-value]


def _pandas_age_gender(engine: Engine, filters: Filters) -> pd.DataFrame:
    (customer_frame,) = _load(engine, customers)
    customer_frame["age_group"] = _age_groups(customer_frame["birth_date"], filters.reference_day())
    customer_frame["gender"] = customer_frame["gender"].fillna("unknown")
    people = customer_frame.groupby(["age_group", "gender"]).agg(customers=("id", "count"))
    frame = _counted_with_customers(engine)
    frame["age_group"] = _age_groups(frame["birth_date"], filters.reference_day())
    frame["gender"] = frame["gender"].fillna("unknown")
    spending = frame.groupby(["age_group", "gender"]).agg(
        buying_customers=("customer_id", "nunique"), orders=("id", "count"), revenue=("total", "sum")
    )
    return people.join(spending, how="outer").fillna(0).reset_index()


def _pandas_locations(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted_with_customers(engine)
    frame["country"] = frame["country"].fillna("unknown")
    frame["city"] = frame["city"].fillna("unknown")
    grouped = (
        frame.groupby(["country", "city"])
        .agg(buying_customers=("customer_id", "nunique"), orders=("id", "count"), revenue=("total", "sum"))
        .reset_index()
    )
    return grouped.sort_values(["revenue", "country", "city"], ascending=[False, True, True]).head(10)


def _pandas_categories(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _items(engine, filters)
    return (
        frame.groupby("category")
        .agg(quantity=("quantity", "sum"), item_revenue=("item_revenue", "sum"), order_lines=("id", "count"))
        .reset_index()
    )


def _pandas_products(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _items(engine, filters)
    grouped = (
        frame.groupby(["product", "sku"])
        .agg(quantity=("quantity", "sum"), item_revenue=("item_revenue", "sum"), order_lines=("id", "count"))
        .reset_index()
    )
    return grouped.sort_values(["item_revenue", "sku"], ascending=[False, True]).head(10)


def _pandas_seasonal(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _items(engine, filters)
    frame["month"] = pd.to_datetime(frame["order_date"]).dt.month
    return (
        frame.groupby(["month", "category"])
        .agg(quantity=("quantity", "sum"), item_revenue=("item_revenue", "sum"))
        .reset_index()
    )


def _pandas_weekly(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    frame = _floats(_counted(order_frame).copy(), "total")
    moments = pd.to_datetime(frame["order_date"])
    frame["day_of_week"] = moments.dt.day_of_week
    frame["hour"] = moments.dt.hour
    return frame.groupby(["day_of_week", "hour"]).agg(orders=("id", "count"), revenue=("total", "sum")).reset_index()


def _pandas_age_category(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _items(engine, filters, with_customers=True)
    return (
        frame.groupby(["age_group", "category"])
        .agg(quantity=("quantity", "sum"), item_revenue=("item_revenue", "sum"))
        .reset_index()
    )


def _repeat_numbers(result: object) -> pd.DataFrame:
    repeat: behavior.RepeatPurchases = result  # type: ignore[assignment]
    rows = [(row.interval, float(row.customers)) for row in repeat.intervals.itertuples() if row.customers]
    rows += [
        ("buying_customers", float(repeat.buying_customers)),
        ("repeat_customers", float(repeat.repeat_customers)),
        ("average_days", float(repeat.average_days or 0.0)),
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


def _repeat_bucket(average_gap: float) -> str:
    for label, upper in behavior.INTERVAL_BUCKETS:
        if upper is None or average_gap <= upper:
            return label
    return behavior.INTERVAL_BUCKETS[-1][0]


def _pandas_repeat(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    frame = _counted(order_frame).copy()
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame = frame.sort_values(["customer_id", "order_date", "id"])
    frame["gap"] = frame.groupby("customer_id")["order_date"].diff().dt.total_seconds() / 86400.0
    per_customer = frame.groupby("customer_id").agg(orders=("id", "count"), gap=("gap", "mean"))
    repeaters = per_customer[per_customer["orders"] >= 2]
    counts = repeaters["gap"].map(_repeat_bucket).value_counts()
    rows = [(label, float(counts[label])) for label, _upper in behavior.INTERVAL_BUCKETS if label in counts]
    gaps = frame["gap"].dropna()
    rows += [
        ("buying_customers", float(len(per_customer))),
        ("repeat_customers", float(len(repeaters))),
        ("average_days", round(float(gaps.mean()), 1) if len(gaps) else 0.0),
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


def _hand_repeat(connection: Connection) -> pd.DataFrame:
    spelling = _Spelling(connection)
    span = spelling.days("MIN(order_date)", "MAX(order_date)")
    query = f"""
        SELECT CASE WHEN n < 2 THEN 'one order'
                    WHEN span / (n - 1) <= 7 THEN '≤ 7 days'
                    WHEN span / (n - 1) <= 30 THEN '8–30 days'
                    WHEN span / (n - 1) <= 60 THEN '31–60 days'
                    WHEN span / (n - 1) <= 90 THEN '61–90 days'
                    WHEN span / (n - 1) <= 180 THEN '91–180 days'
                    WHEN span / (n - 1) <= 365 THEN '181–365 days'
                    ELSE '> 365 days' END AS bucket,
               COUNT(*), SUM(span), SUM(n - 1)
        FROM (SELECT customer_id, COUNT(*) AS n, {span} AS span FROM orders WHERE {COUNTED} GROUP BY customer_id) s
        GROUP BY 1"""
    rows = pd.DataFrame(connection.execute(text(query)).all(), columns=["bucket", "customers", "span", "gaps"])
    repeaters = rows[rows["bucket"] != "one order"]
    gaps = float(repeaters["gaps"].sum())
    result = [(row.bucket, float(row.customers)) for row in repeaters.itertuples()]
    result += [
        ("buying_customers", float(rows["customers"].sum())),
        ("repeat_customers", float(repeaters["customers"].sum())),
        ("average_days", round(float(repeaters["span"].astype(float).sum()) / gaps, 1) if gaps else 0.0),
    ]
    return pd.DataFrame(result, columns=["key", "value"])


# RFM --------------------------------------------------------------------------------------
RFM_SCORED = """
    SELECT customer_id, last_order, frequency, monetary,
           NTILE(5) OVER (ORDER BY last_order, customer_id) AS r,
           NTILE(5) OVER (ORDER BY frequency, customer_id) AS f,
           NTILE(5) OVER (ORDER BY monetary, customer_id) AS m
    FROM (SELECT customer_id, MAX(order_date) AS last_order, COUNT(*) AS frequency, SUM(total) AS monetary
          FROM orders WHERE {counted} GROUP BY customer_id) per_customer
"""
# The segment grid of crm.analytics.segmentation, written out: R and FM = (F + M + 1) / 2.
RFM_SEGMENT = """
    CASE WHEN r = 5 AND fm >= 4 THEN 'Champions'
         WHEN r IN (3, 4) AND fm >= 4 THEN 'Loyal'
         WHEN r IN (4, 5) AND fm IN (2, 3) THEN 'Potential Loyalist'
         WHEN r = 5 AND fm = 1 THEN 'New'
         WHEN r = 4 AND fm = 1 THEN 'Promising'
         WHEN r = 3 AND fm = 3 THEN 'Need Attention'
         WHEN r = 3 AND fm <= 2 THEN 'About to Sleep'
         WHEN r <= 2 AND fm IN (3, 4) THEN 'At Risk'
         WHEN r <= 2 AND fm = 5 THEN 'Can''t Lose Them'
         WHEN r = 2 AND fm <= 2 THEN 'Hibernating'
         ELSE 'Lost' END
"""


def _rfm_with_segment(spelling: _Spelling) -> str:
    return f"""
        SELECT customer_id, frequency, monetary, r, f, m,
               {spelling.days("last_order", spelling.tomorrow())} AS recency_days,
               {RFM_SEGMENT} AS segment
        FROM (SELECT s.*, (f + m + 1) / 2 AS fm FROM ({RFM_SCORED.format(counted=COUNTED)}) s) scored"""


def _pandas_rfm_scored(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    frame = _floats(_counted(order_frame).copy(), "total")
    per_customer = (
        frame.groupby("customer_id")
        .agg(last_order=("order_date", "max"), frequency=("id", "count"), monetary=("total", "sum"))
        .reset_index()
    )
    count = len(per_customer)

    def quintile(column: str) -> pd.Series:
        ranks = per_customer.sort_values([column, "customer_id"]).index
        # NTILE(5): rank i (0-based) of n rows falls into bucket floor(i * 5 / n) + 1 when n divides evenly;
        # the general NTILE rule gives the first (n mod 5) buckets one extra row.
        base, extra = divmod(count, 5)
        sizes = [base + (1 if bucket < extra else 0) for bucket in range(5)]
        scores = [bucket + 1 for bucket, size in enumerate(sizes) for _ in range(size)]
        return pd.Series(scores, index=ranks)

    for column, score in (("last_order", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        per_customer[score] = quintile(column) if count else pd.Series(dtype=int)
    per_customer["segment"] = [
        segmentation.segment_for(r, f, m)
        for r, f, m in zip(per_customer["r_score"], per_customer["f_score"], per_customer["m_score"], strict=True)
    ]
    as_of = segmentation.rfm_as_of(filters)
    per_customer["recency_days"] = (as_of - pd.to_datetime(per_customer["last_order"])).dt.total_seconds() / 86400.0
    return per_customer


def _pandas_rfm_segments(engine: Engine, filters: Filters) -> pd.DataFrame:
    scored = _pandas_rfm_scored(engine, filters)
    grouped = scored.groupby("segment").agg(
        customers=("customer_id", "count"),
        revenue=("monetary", "sum"),
        average_recency_days=("recency_days", "mean"),
        average_frequency=("frequency", "mean"),
    )
    return grouped.reset_index().assign(average_recency_days=lambda f: f["average_recency_days"].round(1))


def _rfm_segment_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[frame["customers"] > 0][
        ["segment", "customers", "revenue", "average_recency_days", "average_frequency"]
    ].reset_index(drop=True)


def _hand_rfm_segments(connection: Connection) -> pd.DataFrame:
    spelling = _Spelling(connection)
    query = f"""
        SELECT segment, COUNT(*), SUM(monetary), AVG(recency_days), AVG(frequency)
        FROM ({_rfm_with_segment(spelling)}) segmented GROUP BY segment"""
    frame = pd.DataFrame(
        connection.execute(text(query)).all(),
        columns=["segment", "customers", "revenue", "average_recency_days", "average_frequency"],
    )
    frame["average_recency_days"] = frame["average_recency_days"].astype(float).round(1)
    return frame


def _hand_rfm_scores(connection: Connection) -> pd.DataFrame:
    query = (
        f"SELECT customer_id, frequency, monetary, r, f, m, segment FROM ({_rfm_with_segment(_Spelling(connection))}) x"
    )
    return pd.DataFrame(
        connection.execute(text(query)).all(),
        columns=["customer_id", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"],
    )


def _rfm_score_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[["customer_id", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]]


def _pandas_rfm_scores(engine: Engine, filters: Filters) -> pd.DataFrame:
    return _rfm_score_numbers(_pandas_rfm_scored(engine, filters))


def _pandas_segment_source(engine: Engine, filters: Filters) -> pd.DataFrame:
    scored = _pandas_rfm_scored(engine, filters)
    (customer_frame,) = _load(engine, customers)
    sources = customer_frame.set_index("id")["source"].fillna("unknown")
    scored["source"] = scored["customer_id"].map(sources)
    return (
        scored.groupby(["segment", "source"])
        .agg(customers=("customer_id", "count"), revenue=("monetary", "sum"))
        .reset_index()
    )


def _pandas_source_effectiveness(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame, customer_frame = _load(engine, orders, customers)
    buyers = set(_counted(order_frame)["customer_id"])
    customer_frame["source"] = customer_frame["source"].fillna("unknown")
    customer_frame["converted"] = customer_frame["id"].isin(buyers)
    new = customer_frame.groupby("source").agg(new_customers=("id", "count"), converted_customers=("converted", "sum"))
    spent = _counted_with_customers(engine)
    spent["source"] = spent["source"].fillna("unknown")
    spending = spent.groupby("source").agg(
        buying_customers=("customer_id", "nunique"), orders=("id", "count"), revenue=("total", "sum")
    )
    return new.join(spending, how="outer").fillna(0).reset_index()


def _pandas_loyalty(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame, customer_frame = _load(engine, orders, customers)
    tiers = sorted(LOYALTY_TIERS, key=lambda tier: tier[1])
    customer_frame["tier"] = tiers[0][0]
    for name, minimum in tiers[1:]:
        customer_frame.loc[customer_frame["loyalty_points"] >= minimum, "tier"] = name
    spend = _floats(_counted(order_frame).copy(), "total").groupby("customer_id")["total"].sum()
    customer_frame["revenue"] = customer_frame["id"].map(spend)
    grouped = customer_frame.groupby("tier").agg(
        customers=("id", "count"), buying_customers=("revenue", "count"), revenue=("revenue", "sum")
    )
    return grouped.reset_index()


def _loyalty_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[frame["customers"] > 0][["tier", "customers", "buying_customers", "revenue"]]


def _cohort_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[frame["active_customers"] > 0][["cohort", "months_since_first", "active_customers", "revenue"]]


def _pandas_cohorts(engine: Engine, filters: Filters) -> pd.DataFrame:
    (order_frame,) = _load(engine, orders)
    frame = _floats(_counted(order_frame).copy(), "total")
    moments = pd.to_datetime(frame["order_date"])
    frame["month"] = moments.dt.year * 12 + moments.dt.month
    frame["cohort_month"] = frame.groupby("customer_id")["month"].transform("min")
    frame["months_since_first"] = frame["month"] - frame["cohort_month"]
    frame["cohort"] = moments.groupby(frame["customer_id"]).transform("min").dt.strftime("%Y-%m-01")
    return (
        frame.groupby(["cohort", "months_since_first"])
        .agg(active_customers=("customer_id", "nunique"), revenue=("total", "sum"))
        .reset_index()
    )


def _hand_cohorts(connection: Connection) -> pd.DataFrame:
    spelling = _Spelling(connection)
    query = f"""
        SELECT cohort_month, month - cohort_month, COUNT(*), SUM(revenue)
        FROM (SELECT month, revenue, MIN(month) OVER (PARTITION BY customer_id) AS cohort_month
              FROM (SELECT customer_id, {spelling.month_number("order_date")} AS month, SUM(total) AS revenue
                    FROM orders WHERE {COUNTED} GROUP BY 1, 2) per_month) with_first
        GROUP BY 1, 2"""
    frame = pd.DataFrame(
        connection.execute(text(query)).all(),
        columns=["cohort_month", "months_since_first", "active_customers", "revenue"],
    )
    frame.insert(
        0, "cohort", [f"{(index - 1) // 12:04d}-{(index - 1) % 12 + 1:02d}-01" for index in frame["cohort_month"]]
    )
    return frame.drop(columns="cohort_month")


# --- the cases ----------------------------------------------------------------------------
CASES: list[AnalyticsCase] = [
    AnalyticsCase(
        "overview: period totals",
        overview.period_totals,
        _hand(
            [
                "new_customers",
                "converted_customers",
                "orders",
                "revenue",
                "revenue_orders",
                "buying_customers",
                "completed_transactions",
                "net_cash",
            ],
            lambda s: (
                f"""
            SELECT (SELECT COUNT(*) FROM customers),
                   (SELECT COUNT(*) FROM customers c
                     WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND {COUNTED_O})),
                   o.*, t.*
            FROM (SELECT COUNT(*), COALESCE(SUM(total) FILTER (WHERE {COUNTED}), 0),
                         COUNT(*) FILTER (WHERE {COUNTED}), COUNT(DISTINCT customer_id) FILTER (WHERE {COUNTED})
                  FROM orders) o,
                 (SELECT COUNT(*) FILTER (WHERE status = 'completed'),
                         COALESCE(SUM(amount) FILTER (WHERE status = 'completed'
                                                      AND transaction_type IN ('sale', 'payment')), 0)
                         - COALESCE(SUM(amount) FILTER (WHERE status = 'completed'
                                                        AND transaction_type IN ('refund', 'chargeback')), 0)
                  FROM transactions) t"""
            ),
        ),
        _pandas_period_totals,
        _period_totals_numbers,
    ),
    AnalyticsCase(
        "overview: growth trends by month",
        overview.growth_trends,
        _hand(
            ["period", "revenue", "orders", "new_customers"],
            lambda s: (
                f"""
            SELECT period, SUM(revenue), SUM(orders), SUM(new_customers) FROM (
                SELECT {s.month("order_date")} AS period, CASE WHEN {COUNTED} THEN total ELSE 0 END AS revenue,
                       1 AS orders, 0 AS new_customers FROM orders
                UNION ALL
                SELECT {s.month("created_at")}, 0, 0, 1 FROM customers) u
            GROUP BY period ORDER BY period"""
            ),
        ),
        _pandas_growth,
        lambda result: result[["period", "revenue", "orders", "new_customers"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "overview: pending orders",
        overview.pending_orders,
        _hand(
            ["count", "value"],
            lambda s: "SELECT COUNT(*), COALESCE(SUM(total), 0) FROM orders WHERE status = 'pending'",
        ),
        _pandas_pending,
        lambda result: pd.DataFrame([{"count": result.count, "value": float(result.value)}]),  # type: ignore[attr-defined]
    ),
    AnalyticsCase(
        "revenue: by month",
        revenue.revenue_over_time,
        _hand(
            ["period", "revenue", "counted_orders", "orders", "buying_customers"],
            lambda s: (
                f"""
            SELECT {s.month("order_date")}, COALESCE(SUM(total) FILTER (WHERE {COUNTED}), 0),
                   COUNT(*) FILTER (WHERE {COUNTED}), COUNT(*), COUNT(DISTINCT customer_id) FILTER (WHERE {COUNTED})
            FROM orders GROUP BY 1 ORDER BY 1"""
            ),
        ),
        _pandas_revenue_over_time,
        lambda result: result[["period", "revenue", "counted_orders", "orders", "buying_customers"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "revenue: payment methods",
        revenue.payment_methods,
        _hand(
            ["payment_method", "orders", "revenue"],
            lambda s: (
                f"""SELECT COALESCE(payment_method, 'unknown'), COUNT(*), SUM(total)
                          FROM orders WHERE {COUNTED} GROUP BY 1"""
            ),
        ),
        _pandas_payment_methods,
        lambda result: result[["payment_method", "orders", "revenue"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "revenue: transactions by type and status",
        revenue.transaction_summary,
        _hand(
            ["transaction_type", "status", "transactions", "amount"],
            lambda s: "SELECT transaction_type, status, COUNT(*), SUM(amount) FROM transactions GROUP BY 1, 2",
        ),
        _pandas_transactions,
    ),
    AnalyticsCase(
        "revenue: by source",
        revenue.revenue_by_source,
        _hand(
            ["source", "revenue", "orders", "buying_customers"],
            lambda s: (
                f"""SELECT COALESCE(c.source, 'unknown'), SUM(o.total), COUNT(*), COUNT(DISTINCT o.customer_id)
                          FROM orders o JOIN customers c ON c.id = o.customer_id WHERE {COUNTED_O} GROUP BY 1"""
            ),
        ),
        _pandas_by_source,
        lambda result: result[["source", "revenue", "orders", "buying_customers"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "revenue: by brand",
        revenue.revenue_by_brand,
        _hand(
            ["brand", "revenue", "orders"],
            lambda s: (
                f"""SELECT COALESCE(b.name, 'no brand'), SUM(o.total), COUNT(*)
                          FROM orders o LEFT JOIN brands b ON b.id = o.brand_id WHERE {COUNTED_O} GROUP BY 1"""
            ),
        ),
        _pandas_by_brand,
        lambda result: result[["brand", "revenue", "orders"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "revenue: refunds by month",
        revenue.refunds_over_time,
        _hand(
            [
                "period",
                "refunded_orders",
                "refunded_value",
                "cancelled_orders",
                "cancelled_value",
                "refund_transactions",
                "refunded_cash",
            ],
            lambda s: (
                f"""
            SELECT period, SUM(ro), SUM(rv), SUM(co), SUM(cv), SUM(rt), SUM(rc) FROM (
                SELECT {s.month("order_date")} AS period,
                       CASE WHEN status = 'refunded' THEN 1 ELSE 0 END AS ro,
                       CASE WHEN status = 'refunded' THEN total ELSE 0 END AS rv,
                       CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END AS co,
                       CASE WHEN status = 'cancelled' THEN total ELSE 0 END AS cv, 0 AS rt, 0 AS rc
                FROM orders WHERE status IN ('refunded', 'cancelled')
                UNION ALL
                SELECT {s.month("processed_at")}, 0, 0, 0, 0, 1, amount FROM transactions
                WHERE status = 'completed' AND transaction_type IN ('refund', 'chargeback')) u
            GROUP BY period ORDER BY period"""
            ),
        ),
        _pandas_refunds,
        _refund_numbers,
    ),
    AnalyticsCase(
        "demographics: age group × gender",
        demographics.age_gender_distribution,
        _hand(
            ["age_group", "gender", "customers", "buying_customers", "orders", "revenue"],
            lambda s: (
                f"""
            SELECT age_group, gender, SUM(people), COUNT(DISTINCT buyer), SUM(orders), SUM(revenue) FROM (
                SELECT {s.age_group()} AS age_group, COALESCE(c.gender, 'unknown') AS gender, 1 AS people,
                       NULL AS buyer, 0 AS orders, 0 AS revenue FROM customers c
                UNION ALL
                SELECT {s.age_group()}, COALESCE(c.gender, 'unknown'), 0, o.customer_id, 1, o.total
                FROM orders o JOIN customers c ON c.id = o.customer_id WHERE {COUNTED_O}) u
            GROUP BY 1, 2"""
            ),
        ),
        _pandas_age_gender,
        lambda result: result[["age_group", "gender", "customers", "buying_customers", "orders", "revenue"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "demographics: top locations",
        demographics.top_locations,
        _hand(
            ["country", "city", "buying_customers", "orders", "revenue"],
            lambda s: (
                f"""
            SELECT COALESCE(c.country, 'unknown'), COALESCE(c.city, 'unknown'), COUNT(DISTINCT o.customer_id),
                   COUNT(*), SUM(o.total)
            FROM orders o JOIN customers c ON c.id = o.customer_id WHERE {COUNTED_O}
            GROUP BY 1, 2 ORDER BY 5 DESC, 1, 2 LIMIT 10"""
            ),
        ),
        _pandas_locations,
        lambda result: result[["country", "city", "buying_customers", "orders", "revenue"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "behaviour: categories",
        behavior.category_preference,
        _hand(
            ["category", "quantity", "item_revenue", "order_lines"],
            lambda s: (
                f"""
            SELECT {MAIN_CATEGORY}, SUM(oi.quantity), SUM(oi.quantity * oi.unit_price), COUNT(*)
            FROM orders o JOIN order_items oi ON oi.order_id = o.id {MAIN_CATEGORY_JOIN}
            WHERE {COUNTED_O} GROUP BY 1"""
            ),
        ),
        _pandas_categories,
        lambda result: result[["category", "quantity", "item_revenue", "order_lines"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "behaviour: top products",
        behavior.product_preference,
        _hand(
            ["product", "sku", "quantity", "item_revenue", "order_lines"],
            lambda s: (
                f"""
            SELECT p.name, p.sku, SUM(oi.quantity), SUM(oi.quantity * oi.unit_price), COUNT(*)
            FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id
            WHERE {COUNTED_O} GROUP BY p.id, p.name, p.sku ORDER BY 4 DESC, 2 LIMIT 10"""
            ),
        ),
        _pandas_products,
        lambda result: result[["product", "sku", "quantity", "item_revenue", "order_lines"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "behaviour: month × category",
        behavior.seasonal_pattern,
        _hand(
            ["month", "category", "quantity", "item_revenue"],
            lambda s: (
                f"""
            SELECT {s.month_of_year("o.order_date")}, {MAIN_CATEGORY}, SUM(oi.quantity),
                   SUM(oi.quantity * oi.unit_price)
            FROM orders o JOIN order_items oi ON oi.order_id = o.id {MAIN_CATEGORY_JOIN}
            WHERE {COUNTED_O} GROUP BY 1, 2"""
            ),
        ),
        _pandas_seasonal,
        lambda result: result[["month", "category", "quantity", "item_revenue"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "behaviour: weekday × hour",
        behavior.weekly_pattern,
        _hand(
            ["day_of_week", "hour", "orders", "revenue"],
            lambda s: (
                f"""
            SELECT {s.day_of_week("order_date")}, {s.hour("order_date")}, COUNT(*), SUM(total)
            FROM orders WHERE {COUNTED} GROUP BY 1, 2"""
            ),
        ),
        _pandas_weekly,
        lambda result: result[["day_of_week", "hour", "orders", "revenue"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "behaviour: category per age group",
        behavior.category_by_age_group,
        _hand(
            ["age_group", "category", "quantity", "item_revenue"],
            lambda s: (
                f"""
            SELECT {s.age_group()}, {MAIN_CATEGORY}, SUM(oi.quantity), SUM(oi.quantity * oi.unit_price)
            FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items oi ON oi.order_id = o.id
                 {MAIN_CATEGORY_JOIN}
            WHERE {COUNTED_O} GROUP BY 1, 2"""
            ),
        ),
        _pandas_age_category,
        lambda result: result[["age_group", "category", "quantity", "item_revenue"]],  # type: ignore[index]
    ),
    AnalyticsCase(
        "behaviour: repeat-purchase interval",
        behavior.repeat_purchases,
        _hand_repeat,
        _pandas_repeat,
        _repeat_numbers,
    ),
    AnalyticsCase(
        "segmentation: RFM segments",
        segmentation.rfm_segments,
        _hand_rfm_segments,
        _pandas_rfm_segments,
        _rfm_segment_numbers,
    ),
    AnalyticsCase(
        "segmentation: RFM scores per customer",
        segmentation.rfm_scores,
        _hand_rfm_scores,
        _pandas_rfm_scores,
        _rfm_score_numbers,
    ),
    AnalyticsCase(
        "segmentation: segment × source",
        segmentation.segment_source_matrix,
        _hand(
            ["segment", "source", "customers", "revenue"],
            lambda s: (
                f"""
            SELECT segment, COALESCE(c.source, 'unknown'), COUNT(*), SUM(monetary)
            FROM ({_rfm_with_segment(s)}) x JOIN customers c ON c.id = x.customer_id GROUP BY 1, 2"""
            ),
        ),
        _pandas_segment_source,
    ),
    AnalyticsCase(
        "segmentation: source effectiveness",
        segmentation.source_effectiveness,
        _hand(
            ["source", "new_customers", "converted_customers", "buying_customers", "orders", "revenue"],
            lambda s: (
                f"""
            SELECT source, SUM(people), SUM(converted), COUNT(DISTINCT buyer), SUM(orders), SUM(revenue) FROM (
                SELECT COALESCE(c.source, 'unknown') AS source, 1 AS people,
                       CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND {COUNTED_O})
                            THEN 1 ELSE 0 END AS converted,
                       NULL AS buyer, 0 AS orders, 0 AS revenue FROM customers c
                UNION ALL
                SELECT COALESCE(c.source, 'unknown'), 0, 0, o.customer_id, 1, o.total
                FROM orders o JOIN customers c ON c.id = o.customer_id WHERE {COUNTED_O}) u
            GROUP BY 1"""
            ),
        ),
        _pandas_source_effectiveness,
        lambda result: result[  # type: ignore[index]
            ["source", "new_customers", "converted_customers", "buying_customers", "orders", "revenue"]
        ],
    ),
    AnalyticsCase(
        "segmentation: loyalty tiers",
        segmentation.loyalty_tier_distribution,
        _hand(
            ["tier", "customers", "buying_customers", "revenue"],
            lambda s: (
                f"""
            SELECT CASE WHEN c.loyalty_points >= 10000 THEN 'platinum' WHEN c.loyalty_points >= 5000 THEN 'gold'
                        WHEN c.loyalty_points >= 1000 THEN 'silver' ELSE 'bronze' END,
                   COUNT(*), COUNT(spend.customer_id), SUM(spend.revenue)
            FROM customers c LEFT JOIN (SELECT customer_id, SUM(total) AS revenue FROM orders
                                        WHERE {COUNTED} GROUP BY customer_id) spend
                 ON spend.customer_id = c.id
            GROUP BY 1"""
            ),
        ),
        _pandas_loyalty,
        _loyalty_numbers,
    ),
    AnalyticsCase(
        "cohorts: retention by first-order month",
        cohorts.cohort_retention,
        _hand_cohorts,
        _pandas_cohorts,
        _cohort_numbers,
    ),
]
