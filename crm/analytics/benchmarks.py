"""Benchmark cases for ``python -m crm bench``: every analytics function next to two references.

Each ``AnalyticsCase`` pairs the crm function (SQLAlchemy Core, filters applied) with
* ``hand_sql``: hand-written SQL computing the same numbers for the same ``Filters`` (one
  query; a function that combines others, such as ``overview_kpis``, runs the hand queries of
  its parts), spelled per dialect where date functions differ, with bound parameters, and
* ``pandas_baseline``: the naive approach, loading the needed tables whole with
  ``pd.read_sql``, then filtering and aggregating in pandas.

The bench runs every case twice (``bench_filter_passes``): without filters, and with typical
sidebar filters (the last 12 months of data, one source, an age range), so the period
conditions, the orders ⋈ customers join and the cohorts' first-order window are timed too.
The hand SQL groups by UTC (the bench filters use UTC, the app's default zone).

``numbers`` turns the crm result into the DataFrame the two references return, so
``tests/analytics/test_benchmarks.py`` can check that all three agree on tiny_shop for
several filters — that keeps the bench honest (the timings compare equal work).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Table, select, text

from crm.analytics import behavior, cohorts, demographics, options, overview, revenue, segmentation
from crm.analytics.scope import AGE_BUCKETS, UNKNOWN_AGE
from crm.filters import Filters
from crm.loyalty.tiers import tier_for
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

__all__ = ["CASES", "AnalyticsCase", "bench_filter_passes"]

# The segment whose customers the bench exports: every non-empty RFM scoring has a lowest-scored customer.
BENCH_SEGMENT = "Lost"
# The age range of the bench's "typical sidebar filters" pass.
BENCH_AGES = (25, 44)


def _identity(result: object) -> pd.DataFrame:
    return result  # type: ignore[return-value]


@dataclass(frozen=True)
class AnalyticsCase:
    name: str
    run: Callable[[Engine, Filters], object]  # the crm analytics function call
    hand_sql: Callable[[Connection, Filters], object]  # hand-written SQL computing the same numbers
    pandas_baseline: Callable[[Engine, Filters], object]  # load tables into pandas, compute the same numbers
    # The crm result as the DataFrame the hand SQL and the pandas baseline return (for the agreement test).
    numbers: Callable[[object], pd.DataFrame] = field(default=_identity)
    # The analytics function benched when ``run`` wraps it (keyword arguments, no filters).
    function: Callable[..., object] | None = None

    @property
    def benched(self) -> Callable[..., object]:
        return self.function or self.run


def bench_filter_passes(engine: Engine) -> list[tuple[str, Filters]]:
    """The bench's two passes: no filters, then typical sidebar filters.

    The typical filters: the last 12 months of data (ending on the last order day, which is
    also the day ages are computed on), the source "website" (else the first source) and
    ages 25–44.
    """
    choices = options.filter_choices(engine)
    last_day = choices.last_order_day or date.today()
    source = "website" if "website" in choices.sources else next(iter(choices.sources), None)
    typical = Filters(
        start_date=last_day - timedelta(days=364),
        end_date=last_day,
        sources=(source,) if source else (),
        age_min=BENCH_AGES[0],
        age_max=BENCH_AGES[1],
        today=last_day,
    )
    return [("no filters", Filters()), ("UI filters", typical)]


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 Feb in a non-leap target year
        return today.replace(year=today.year - years, day=28)


# --- hand-written SQL ---------------------------------------------------------------------
COUNTED_O = "o.status IN ('pending', 'processing', 'shipped', 'delivered')"


class _Spelling:
    """The fragments whose spelling differs between SQLite and PostgreSQL, and the filters as SQL.

    Filter fragments start with " AND " (or are empty) and add their values to ``params``.
    Aliases: o = orders, c = customers, t = transactions.
    """

    def __init__(self, connection: Connection, filters: Filters) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        self.filters = filters
        self.params: dict[str, object] = {}

    # values ---------------------------------------------------------------------------
    def bind(self, value: object) -> str:
        """A bound parameter, stored the way the engine keeps it (SQLite: ISO text)."""
        name = f"p{len(self.params)}"
        if not self.postgres and isinstance(value, datetime):
            value = f"{value:%Y-%m-%d %H:%M:%S.%f}"
        elif not self.postgres and isinstance(value, date):
            value = value.isoformat()
        self.params[name] = value
        return f":{name}"

    def among(self, values: Iterable[object]) -> str:
        return "(" + ", ".join(self.bind(value) for value in values) + ")"

    # filters --------------------------------------------------------------------------
    def period(self, column: str) -> str:
        start, end = self.filters.utc_bounds()
        sql = f" AND {column} >= {self.bind(start)}" if start is not None else ""
        return sql + (f" AND {column} < {self.bind(end)}" if end is not None else "")

    def before_end(self, column: str) -> str:
        _start, end = self.filters.utc_bounds()
        return f" AND {column} < {self.bind(end)}" if end is not None else ""

    def brand(self, column: str) -> str:
        if not self.filters.brands:
            return ""
        return f" AND {column} IN (SELECT id FROM brands WHERE name IN {self.among(self.filters.brands)})"

    def attributes(self, alias: str = "c") -> str:
        filters = self.filters
        sql = ""
        for column, values in (
            ("source", filters.sources),
            ("gender", filters.genders),
            ("customer_type", filters.customer_types),
            ("status", filters.customer_statuses),
        ):
            if values:
                sql += f" AND {alias}.{column} IN {self.among(values)}"
        if filters.loyalty_tiers:  # the tier whose threshold the balance last reached
            tier = f"SELECT t.name FROM loyalty_tiers t WHERE t.min_points <= {alias}.loyalty_points"
            sql += f" AND ({tier} ORDER BY t.min_points DESC LIMIT 1) IN {self.among(filters.loyalty_tiers)}"
        today = filters.reference_day()
        if filters.age_min is not None:
            sql += f" AND {alias}.birth_date <= {self.bind(_years_ago(today, filters.age_min))}"
        if filters.age_max is not None:
            sql += f" AND {alias}.birth_date > {self.bind(_years_ago(today, filters.age_max + 1))}"
        return sql

    def people(self, alias: str = "c") -> str:
        """Customers counted as people: attributes and the brand rule (customers.brand_id)."""
        return self.attributes(alias) + self.brand(f"{alias}.brand_id")

    def join(self, *, always: bool = False) -> str:
        """JOIN customers c to orders o when customer filters need it."""
        if always or self.filters.has_customer_filters():
            return " JOIN customers c ON c.id = o.customer_id"
        return ""

    def orders(self, *, with_period: bool = True) -> str:
        """Period and brand on orders o, attributes on customers c (joined by ``join``)."""
        period = self.period("o.order_date") if with_period else ""
        return period + self.brand("o.brand_id") + self.attributes()

    def transactions_from(self) -> str:
        sql = "transactions t"
        if self.filters.has_customer_filters():
            sql += " JOIN customers c ON c.id = t.customer_id"
        if self.filters.brands:
            sql += " JOIN orders o ON o.id = t.order_id"
        return sql

    def transactions_where(self) -> str:
        return self.period("t.processed_at") + self.brand("o.brand_id") + self.attributes()

    # dialect --------------------------------------------------------------------------
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

    def day_text(self, column: str) -> str:
        if self.postgres:
            return f"to_char({column}, 'YYYY-MM-DD')"
        return f"substr({column}, 1, 10)"

    def as_of(self) -> str:
        """The moment RFM recency is measured from."""
        return self.bind(segmentation.rfm_as_of(self.filters))

    def age_group(self, birth: str = "c.birth_date") -> str:
        today = self.filters.reference_day()
        whens = " ".join(
            f"WHEN {birth} <= {self.bind(_years_ago(today, low))} THEN '{label}'"
            for label, low, _high in reversed(AGE_BUCKETS)
            if low is not None
        )
        return f"CASE WHEN {birth} IS NULL THEN '{UNKNOWN_AGE}' {whens} ELSE '{AGE_BUCKETS[0][0]}' END"


def _query(connection: Connection, spelling: _Spelling, sql: str, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(connection.execute(text(sql), spelling.params).all(), columns=columns)


def _hand(columns: list[str], build: Callable[[_Spelling], str]) -> Callable[[Connection, Filters], pd.DataFrame]:
    def run(connection: Connection, filters: Filters) -> pd.DataFrame:
        spelling = _Spelling(connection, filters)
        return _query(connection, spelling, build(spelling), columns)

    return run


MAIN_CATEGORY_JOIN = (
    "JOIN products p ON p.id = oi.product_id "
    "LEFT JOIN categories cat ON cat.id = p.category_id "
    "LEFT JOIN categories parent ON parent.id = cat.parent_id"
)
MAIN_CATEGORY = "COALESCE(parent.name, cat.name, 'uncategorised')"


# --- pandas baselines: load whole tables, filter and aggregate in pandas --------------------
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


def _in_period(moments: pd.Series, filters: Filters) -> pd.Series:
    start, end = filters.utc_bounds()
    stamps = pd.to_datetime(moments)
    mask = pd.Series(True, index=moments.index)
    if start is not None:
        mask &= stamps >= pd.Timestamp(start)
    if end is not None:
        mask &= stamps < pd.Timestamp(end)
    return mask


def _before_end(moments: pd.Series, filters: Filters) -> pd.Series:
    _start, end = filters.utc_bounds()
    return pd.to_datetime(moments) < pd.Timestamp(end) if end is not None else pd.Series(True, index=moments.index)


def _brand_ids(engine: Engine, filters: Filters) -> set[int]:
    (brand_frame,) = _load(engine, brands)
    return set(brand_frame[brand_frame["name"].isin(filters.brands)]["id"])


def _attribute_mask(people: pd.DataFrame, filters: Filters) -> pd.Series:
    """Customer attributes (source, gender, type, status, age) of the filters, as a row mask."""
    mask = pd.Series(True, index=people.index)
    for column, values in (
        ("source", filters.sources),
        ("gender", filters.genders),
        ("customer_type", filters.customer_types),
        ("status", filters.customer_statuses),
    ):
        if values:
            mask &= people[column].isin(values)
    if filters.loyalty_tiers:  # default thresholds: the baseline reads no table for them
        mask &= people["loyalty_points"].map(lambda points: tier_for(points, LOYALTY_TIERS)).isin(filters.loyalty_tiers)
    births = pd.to_datetime(people["birth_date"])
    today = filters.reference_day()
    if filters.age_min is not None:
        mask &= births <= pd.Timestamp(_years_ago(today, filters.age_min))
    if filters.age_max is not None:
        mask &= births > pd.Timestamp(_years_ago(today, filters.age_max + 1))
    return mask


def _people(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Customers counted as people: attributes and the brand rule (customers.brand_id)."""
    (customer_frame,) = _load(engine, customers)
    people = customer_frame[_attribute_mask(customer_frame, filters)]
    if filters.brands:
        people = people[people["brand_id"].isin(_brand_ids(engine, filters))]
    return people.copy()


def _orders_in_scope(
    engine: Engine, filters: Filters, *, with_period: bool = True, with_customers: bool = False
) -> pd.DataFrame:
    """Orders in the period and brands, of customers with the filters' attributes (customer columns merged on
    when asked; shared names get a ``_customer`` suffix)."""
    join = with_customers or filters.has_customer_filters()
    loaded = _load(engine, *([orders, customers] if join else [orders]))
    frame = loaded[0]
    if with_period:
        frame = frame[_in_period(frame["order_date"], filters)]
    if filters.brands:
        frame = frame[frame["brand_id"].isin(_brand_ids(engine, filters))]
    if join:
        people = loaded[1][_attribute_mask(loaded[1], filters)].rename(columns={"id": "customer_id"})
        frame = frame.merge(people, on="customer_id", suffixes=("", "_customer"))
    return _floats(frame.copy(), "total")


def _transactions_in_scope(engine: Engine, filters: Filters) -> pd.DataFrame:
    transaction_frame, order_frame, customer_frame = _load(engine, transactions, orders, customers)
    frame = _floats(transaction_frame[_in_period(transaction_frame["processed_at"], filters)].copy(), "amount")
    if filters.has_customer_filters():
        frame = frame[frame["customer_id"].isin(customer_frame[_attribute_mask(customer_frame, filters)]["id"])]
    if filters.brands:
        branded = order_frame[order_frame["brand_id"].isin(_brand_ids(engine, filters))]
        frame = frame[frame["order_id"].isin(branded["id"])]
    return frame


def _age_groups(birth_dates: pd.Series, today: date) -> pd.Series:
    groups = pd.Series(UNKNOWN_AGE, index=birth_dates.index, dtype=object)
    births = pd.to_datetime(birth_dates).dt.date
    known = births.notna()
    for label, low, _high in AGE_BUCKETS:  # youngest first, later (older) groups overwrite
        if low is None:
            groups[known] = label
        else:
            groups[known & (births <= _years_ago(today, low))] = label
    return groups


def _main_categories(product_frame: pd.DataFrame, category_frame: pd.DataFrame) -> pd.DataFrame:
    names = category_frame.set_index("id")["name"]
    parents = category_frame.set_index("id")["parent_id"]
    frame = product_frame[["id", "name", "sku", "category_id"]].rename(columns={"id": "product_id", "name": "product"})
    parent_names = frame["category_id"].map(parents).map(names)
    frame["category"] = parent_names.fillna(frame["category_id"].map(names)).fillna("uncategorised")
    return frame


def _items(engine: Engine, filters: Filters, *, with_customers: bool = False) -> pd.DataFrame:
    scoped = _counted(_orders_in_scope(engine, filters, with_customers=with_customers))
    item_frame, product_frame, category_frame = _load(engine, order_items, products, categories)
    kept = ["id", "customer_id", "order_date"] + (["birth_date"] if with_customers else [])
    counted_orders = scoped[kept].rename(columns={"id": "order_id"})
    frame = item_frame.merge(counted_orders, on="order_id").merge(
        _main_categories(product_frame, category_frame), on="product_id"
    )
    frame["item_revenue"] = frame["quantity"] * frame["unit_price"].astype(float)
    if with_customers:
        frame["age_group"] = _age_groups(frame["birth_date"], filters.reference_day())
    return frame


# --- overview -------------------------------------------------------------------------------
PERIOD_TOTALS = [
    "new_customers",
    "converted_customers",
    "orders",
    "revenue",
    "revenue_orders",
    "buying_customers",
    "completed_transactions",
    "net_cash",
]


def _hand_period_totals_sql(s: _Spelling) -> str:
    bought = (
        f"EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND {COUNTED_O}"
        f"{s.period('o.order_date')}{s.brand('o.brand_id')})"
    )
    return f"""
        SELECT people.*, ord.*, tr.*
        FROM (SELECT COUNT(*), COUNT(*) FILTER (WHERE {bought})
              FROM customers c WHERE 1 = 1{s.people()}{s.period("c.created_at")}) people,
             (SELECT COUNT(*), COALESCE(SUM(o.total) FILTER (WHERE {COUNTED_O}), 0),
                     COUNT(*) FILTER (WHERE {COUNTED_O}), COUNT(DISTINCT o.customer_id) FILTER (WHERE {COUNTED_O})
              FROM orders o{s.join()} WHERE 1 = 1{s.orders()}) ord,
             (SELECT COUNT(*) FILTER (WHERE t.status = 'completed'),
                     COALESCE(SUM(t.amount) FILTER (WHERE t.status = 'completed'
                                                    AND t.transaction_type IN ('sale', 'payment')), 0)
                     - COALESCE(SUM(t.amount) FILTER (WHERE t.status = 'completed'
                                                      AND t.transaction_type IN ('refund', 'chargeback')), 0)
              FROM {s.transactions_from()} WHERE 1 = 1{s.transactions_where()}) tr"""


_hand_period_totals = _hand(PERIOD_TOTALS, _hand_period_totals_sql)


def _pandas_period_totals(engine: Engine, filters: Filters) -> pd.DataFrame:
    scoped = _orders_in_scope(engine, filters)
    counted_orders = _counted(scoped)
    people = _people(engine, filters)
    new = people[_in_period(people["created_at"], filters)]
    (all_orders,) = _load(engine, orders)
    bought = _counted(all_orders[_in_period(all_orders["order_date"], filters)])
    if filters.brands:
        bought = bought[bought["brand_id"].isin(_brand_ids(engine, filters))]
    completed = _transactions_in_scope(engine, filters)
    completed = completed[completed["status"] == "completed"]
    cash_in = completed[completed["transaction_type"].isin(overview.CASH_IN_TYPES)]["amount"].sum()
    cash_out = completed[completed["transaction_type"].isin(overview.CASH_OUT_TYPES)]["amount"].sum()
    return pd.DataFrame(
        [
            {
                "new_customers": len(new),
                "converted_customers": int(new["id"].isin(bought["customer_id"]).sum()),
                "orders": len(scoped),
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


def _keyed(prefix: str, frame: pd.DataFrame) -> list[tuple[str, float]]:
    """One-row frame → (prefix_column, value) pairs, for results made of several totals."""
    return [(f"{prefix}{column}", float(frame[column].iloc[0])) for column in frame.columns]


def _pairs(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["key", "value"])


def _comparison_numbers(result: object) -> pd.DataFrame:
    comparison: overview.PeriodComparison = result  # type: ignore[assignment]
    rows = _keyed("current_", _period_totals_numbers(comparison.current))
    if comparison.previous is not None:
        rows += _keyed("previous_", _period_totals_numbers(comparison.previous))
    return _pairs(rows)


def _comparison_from(totals: Callable[[Filters], pd.DataFrame], filters: Filters) -> pd.DataFrame:
    rows = _keyed("current_", totals(filters))
    previous = filters.previous_period()
    if previous is not None:
        rows += _keyed("previous_", totals(previous))
    return _pairs(rows)


def _hand_comparison(connection: Connection, filters: Filters) -> pd.DataFrame:
    return _comparison_from(lambda chosen: _hand_period_totals(connection, chosen), filters)


def _pandas_comparison(engine: Engine, filters: Filters) -> pd.DataFrame:
    return _comparison_from(lambda chosen: _pandas_period_totals(engine, chosen), filters)


def _today_and_month(filters: Filters) -> tuple[Filters, Filters]:
    """The filters over today and over this month (full dates in the filters' zone), as overview_kpis."""
    today = datetime.now(filters.zone).date()
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return filters.with_dates(today, today), filters.with_dates(month_start, month_end)


def _overview_numbers(result: object) -> pd.DataFrame:
    kpis: overview.OverviewKpis = result  # type: ignore[assignment]
    assert kpis.pending is not None
    rows = _keyed("today_", _period_totals_numbers(kpis.today))
    rows += _keyed("month_", _period_totals_numbers(kpis.this_month))
    rows += [
        ("total_customers", float(kpis.total_customers)),
        ("pending_count", float(kpis.pending.count)),
        ("pending_value", float(kpis.pending.value)),
    ]
    return _pairs(rows)


def _hand_total_customers(connection: Connection, filters: Filters) -> int:
    spelling = _Spelling(connection, filters)
    return int(_query(connection, spelling, f"SELECT COUNT(*) FROM customers c WHERE 1 = 1{spelling.people()}",
                      ["n"])["n"].iloc[0])  # fmt: skip


def _hand_overview(connection: Connection, filters: Filters) -> pd.DataFrame:
    today, month = _today_and_month(filters)
    pending = _hand_pending(connection, filters)
    rows = _keyed("today_", _hand_period_totals(connection, today))
    rows += _keyed("month_", _hand_period_totals(connection, month))
    rows += [
        ("total_customers", float(_hand_total_customers(connection, filters))),
        ("pending_count", float(pending["count"].iloc[0])),
        ("pending_value", float(pending["value"].iloc[0])),
    ]
    return _pairs(rows)


def _pandas_overview(engine: Engine, filters: Filters) -> pd.DataFrame:
    today, month = _today_and_month(filters)
    pending = _pandas_pending(engine, filters)
    rows = _keyed("today_", _pandas_period_totals(engine, today))
    rows += _keyed("month_", _pandas_period_totals(engine, month))
    rows += [
        ("total_customers", float(len(_people(engine, filters)))),
        ("pending_count", float(pending["count"].iloc[0])),
        ("pending_value", float(pending["value"].iloc[0])),
    ]
    return _pairs(rows)


def _pandas_growth(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame = _orders_in_scope(engine, filters)
    order_frame["period"] = _month_label(order_frame["order_date"])
    order_frame["counted_total"] = order_frame["total"].where(order_frame["status"].isin(REVENUE_ORDER_STATUSES), 0.0)
    by_order = order_frame.groupby("period").agg(revenue=("counted_total", "sum"), orders=("id", "count"))
    people = _people(engine, filters)
    people = people[_in_period(people["created_at"], filters)].copy()
    people["period"] = _month_label(people["created_at"])
    by_customer = people.groupby("period").agg(new_customers=("id", "count"))
    return by_order.join(by_customer, how="outer").fillna(0).reset_index()


def _hand_pending_sql(s: _Spelling) -> str:
    return (
        f"SELECT COUNT(*), COALESCE(SUM(o.total), 0) FROM orders o{s.join()} "
        f"WHERE o.status = 'pending'{s.orders(with_period=False)}"
    )


_hand_pending = _hand(["count", "value"], _hand_pending_sql)


def _pandas_pending(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame = _orders_in_scope(engine, filters, with_period=False)
    pending = order_frame[order_frame["status"] == "pending"]
    return pd.DataFrame([{"count": len(pending), "value": pending["total"].sum()}])


# --- revenue --------------------------------------------------------------------------------
def _pandas_revenue_over_time(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame = _orders_in_scope(engine, filters)
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
    frame = _counted(_orders_in_scope(engine, filters)).copy()
    frame["payment_method"] = frame["payment_method"].fillna("unknown")
    return frame.groupby("payment_method").agg(orders=("id", "count"), revenue=("total", "sum")).reset_index()


def _pandas_transactions(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _transactions_in_scope(engine, filters)
    return (
        frame.groupby(["transaction_type", "status"])
        .agg(transactions=("id", "count"), amount=("amount", "sum"))
        .reset_index()
    )


def _counted_with_customers(engine: Engine, filters: Filters) -> pd.DataFrame:
    return _counted(_orders_in_scope(engine, filters, with_customers=True)).copy()


def _pandas_by_source(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted_with_customers(engine, filters)
    frame["source"] = frame["source"].fillna("unknown")
    return (
        frame.groupby("source")
        .agg(revenue=("total", "sum"), orders=("id", "count"), buying_customers=("customer_id", "nunique"))
        .reset_index()
    )


def _pandas_by_brand(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted(_orders_in_scope(engine, filters)).copy()
    (brand_frame,) = _load(engine, brands)
    frame["brand"] = frame["brand_id"].map(brand_frame.set_index("id")["name"]).fillna("no brand")
    return frame.groupby("brand").agg(revenue=("total", "sum"), orders=("id", "count")).reset_index()


def _pandas_refunds(engine: Engine, filters: Filters) -> pd.DataFrame:
    order_frame = _orders_in_scope(engine, filters)
    order_frame["period"] = _month_label(order_frame["order_date"])
    rows = []
    for status in ("refunded", "cancelled"):
        picked = order_frame[order_frame["status"] == status]
        rows.append(
            picked.groupby("period").agg(**{f"{status}_orders": ("id", "count"), f"{status}_value": ("total", "sum")})
        )
    cash = _transactions_in_scope(engine, filters)
    cash = cash[(cash["status"] == "completed") & cash["transaction_type"].isin(("refund", "chargeback"))].copy()
    cash["period"] = _month_label(cash["processed_at"])
    rows.append(cash.groupby("period").agg(refund_transactions=("id", "count"), refunded_cash=("amount", "sum")))
    return rows[0].join(rows[1:], how="outer").fillna(0).reset_index()


# --- demographics -----------------------------------------------------------------------------
def _pandas_age_gender(engine: Engine, filters: Filters) -> pd.DataFrame:
    people = _people(engine, filters)
    people = people[_before_end(people["created_at"], filters)].copy()
    people["age_group"] = _age_groups(people["birth_date"], filters.reference_day())
    people["gender"] = people["gender"].fillna("unknown")
    counts = people.groupby(["age_group", "gender"]).agg(customers=("id", "count"))
    frame = _counted_with_customers(engine, filters)
    frame["age_group"] = _age_groups(frame["birth_date"], filters.reference_day())
    frame["gender"] = frame["gender"].fillna("unknown")
    spending = frame.groupby(["age_group", "gender"]).agg(
        buying_customers=("customer_id", "nunique"), orders=("id", "count"), revenue=("total", "sum")
    )
    return counts.join(spending, how="outer").fillna(0).reset_index()


def _pandas_locations(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted_with_customers(engine, filters)
    frame["country"] = frame["country"].fillna("unknown")
    frame["city"] = frame["city"].fillna("unknown")
    grouped = (
        frame.groupby(["country", "city"])
        .agg(buying_customers=("customer_id", "nunique"), orders=("id", "count"), revenue=("total", "sum"))
        .reset_index()
    )
    return grouped.sort_values(["revenue", "country", "city"], ascending=[False, True, True]).head(10)


# --- behaviour --------------------------------------------------------------------------------
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
    frame = _counted(_orders_in_scope(engine, filters)).copy()
    moments = pd.to_datetime(frame["order_date"])
    frame["day_of_week"] = moments.dt.day_of_week
    frame["hour"] = moments.dt.hour
    return frame.groupby(["day_of_week", "hour"]).agg(orders=("id", "count"), revenue=("total", "sum")).reset_index()


def _pandas_age_category(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _items(engine, filters, with_customers=True)
    grouped = (
        frame.groupby(["age_group", "category"])
        .agg(quantity=("quantity", "sum"), item_revenue=("item_revenue", "sum"))
        .reset_index()
    )
    buyers = frame.groupby("age_group")["customer_id"].nunique()
    return grouped.assign(age_group_buyers=grouped["age_group"].map(buyers))


def _repeat_numbers(result: object) -> pd.DataFrame:
    repeat: behavior.RepeatPurchases = result  # type: ignore[assignment]
    rows = [(row.interval, float(row.customers)) for row in repeat.intervals.itertuples() if row.customers]
    rows += [
        ("buying_customers", float(repeat.buying_customers)),
        ("repeat_customers", float(repeat.repeat_customers)),
        ("average_days", float(repeat.average_days or 0.0)),
    ]
    return _pairs(rows)


def _repeat_bucket(average_gap: float) -> str:
    for label, upper in behavior.INTERVAL_BUCKETS:
        if upper is None or average_gap <= upper:
            return label
    return behavior.INTERVAL_BUCKETS[-1][0]


def _pandas_repeat(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted(_orders_in_scope(engine, filters)).copy()
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
    return _pairs(rows)


def _hand_repeat(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    span = s.days("MIN(o.order_date)", "MAX(o.order_date)")
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
        FROM (SELECT o.customer_id, COUNT(*) AS n, {span} AS span FROM orders o{s.join()}
              WHERE {COUNTED_O}{s.orders()} GROUP BY o.customer_id) per_customer
        GROUP BY 1"""
    rows = _query(connection, s, query, ["bucket", "customers", "span", "gaps"])
    repeaters = rows[rows["bucket"] != "one order"]
    gaps = float(repeaters["gaps"].sum())
    result = [(row.bucket, float(row.customers)) for row in repeaters.itertuples()]
    result += [
        ("buying_customers", float(rows["customers"].sum())),
        ("repeat_customers", float(repeaters["customers"].sum())),
        ("average_days", round(float(repeaters["span"].astype(float).sum()) / gaps, 1) if gaps else 0.0),
    ]
    return _pairs(result)


def _repeat_from_pairs(pairs: pd.DataFrame) -> behavior.RepeatPurchases:
    values = dict(zip(pairs["key"], pairs["value"], strict=True))
    intervals = pd.DataFrame(
        {
            "interval": [label for label, _upper in behavior.INTERVAL_BUCKETS],
            "customers": [int(values.get(label, 0)) for label, _upper in behavior.INTERVAL_BUCKETS],
        }
    )
    repeaters = int(values["repeat_customers"])
    return behavior.RepeatPurchases(
        intervals, int(values["buying_customers"]), repeaters, values["average_days"] if repeaters else None
    )


# --- segmentation -----------------------------------------------------------------------------
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


def _rfm_with_segment(s: _Spelling) -> str:
    scored = f"""
        SELECT customer_id, last_order, frequency, monetary,
               NTILE(5) OVER (ORDER BY last_order, customer_id) AS r,
               NTILE(5) OVER (ORDER BY frequency, customer_id) AS f,
               NTILE(5) OVER (ORDER BY monetary, customer_id) AS m
        FROM (SELECT o.customer_id, MAX(o.order_date) AS last_order, COUNT(*) AS frequency,
                     SUM(o.total) AS monetary
              FROM orders o{s.join()} WHERE {COUNTED_O}{s.orders()} GROUP BY o.customer_id) per_customer"""
    return f"""
        SELECT customer_id, frequency, monetary, r, f, m,
               {s.days("last_order", s.as_of())} AS recency_days,
               {RFM_SEGMENT} AS segment
        FROM (SELECT scored.*, (f + m + 1) / 2 AS fm FROM ({scored}) scored) with_fm"""


def _pandas_rfm_scored(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted(_orders_in_scope(engine, filters))
    per_customer = (
        frame.groupby("customer_id")
        .agg(last_order=("order_date", "max"), frequency=("id", "count"), monetary=("total", "sum"))
        .reset_index()
    )
    count = len(per_customer)

    def quintile(column: str) -> pd.Series:
        ranks = per_customer.sort_values([column, "customer_id"]).index
        # NTILE(5): the first (n mod 5) buckets get one row more than the others.
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


def _hand_rfm_segments(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    query = f"""
        SELECT segment, COUNT(*), SUM(monetary), AVG(recency_days), AVG(frequency)
        FROM ({_rfm_with_segment(s)}) segmented GROUP BY segment"""
    frame = _query(
        connection, s, query, ["segment", "customers", "revenue", "average_recency_days", "average_frequency"]
    )
    frame["average_recency_days"] = frame["average_recency_days"].astype(float).round(1)
    return frame


RFM_SCORE_COLUMNS = ["customer_id", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]


def _hand_rfm_scores(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    query = f"SELECT customer_id, frequency, monetary, r, f, m, segment FROM ({_rfm_with_segment(s)}) x"
    return _query(connection, s, query, RFM_SCORE_COLUMNS)


def _rfm_score_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[RFM_SCORE_COLUMNS]


def _pandas_rfm_scores(engine: Engine, filters: Filters) -> pd.DataFrame:
    return _rfm_score_numbers(_pandas_rfm_scored(engine, filters))


SEGMENT_CUSTOMER_COLUMNS = ["customer_id", "first_name", "email", "frequency", "monetary", "segment"]


def _hand_segment_customers(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    query = f"""
        SELECT x.customer_id, c.first_name, c.last_name, c.email, c.phone, c.company, c.source, c.city,
               x.recency_days, x.frequency, x.monetary, x.r, x.f, x.m, x.segment
        FROM ({_rfm_with_segment(s)}) x JOIN customers c ON c.id = x.customer_id
        WHERE x.segment = {s.bind(BENCH_SEGMENT)}
        ORDER BY x.monetary DESC, x.customer_id"""
    columns = ["customer_id", "first_name", "last_name", "email", "phone", "company", "source", "city",
               "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"]  # fmt: skip
    return _query(connection, s, query, columns)[SEGMENT_CUSTOMER_COLUMNS]


def _pandas_segment_customers(engine: Engine, filters: Filters) -> pd.DataFrame:
    scored = _pandas_rfm_scored(engine, filters)
    (customer_frame,) = _load(engine, customers)
    members = scored[scored["segment"] == BENCH_SEGMENT].merge(
        customer_frame.rename(columns={"id": "customer_id"}), on="customer_id"
    )
    return members.sort_values(["monetary", "customer_id"], ascending=[False, True])[SEGMENT_CUSTOMER_COLUMNS]


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
    people = _people(engine, filters)
    people = people[_in_period(people["created_at"], filters)].copy()
    (order_frame,) = _load(engine, orders)
    bought = _counted(order_frame[_in_period(order_frame["order_date"], filters)])
    if filters.brands:
        bought = bought[bought["brand_id"].isin(_brand_ids(engine, filters))]
    people["source"] = people["source"].fillna("unknown")
    people["converted"] = people["id"].isin(set(bought["customer_id"]))
    new = people.groupby("source").agg(new_customers=("id", "count"), converted_customers=("converted", "sum"))
    spent = _counted_with_customers(engine, filters)
    spent["source"] = spent["source"].fillna("unknown")
    spending = spent.groupby("source").agg(
        buying_customers=("customer_id", "nunique"), orders=("id", "count"), revenue=("total", "sum")
    )
    return new.join(spending, how="outer").fillna(0).reset_index()


def _pandas_loyalty(engine: Engine, filters: Filters) -> pd.DataFrame:
    people = _people(engine, filters)
    (order_frame,) = _load(engine, orders)
    spend_orders = _floats(_counted(order_frame[_in_period(order_frame["order_date"], filters)]).copy(), "total")
    if filters.brands:
        spend_orders = spend_orders[spend_orders["brand_id"].isin(_brand_ids(engine, filters))]
    tiers = sorted(LOYALTY_TIERS, key=lambda tier: tier[1])
    people["tier"] = tiers[0][0]
    for name, minimum in tiers[1:]:
        people.loc[people["loyalty_points"] >= minimum, "tier"] = name
    people["revenue"] = people["id"].map(spend_orders.groupby("customer_id")["total"].sum())
    grouped = people.groupby("tier").agg(
        customers=("id", "count"), buying_customers=("revenue", "count"), revenue=("revenue", "sum")
    )
    return grouped.reset_index()


def _loyalty_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[frame["customers"] > 0][["tier", "customers", "buying_customers", "revenue"]]


# --- cohorts ----------------------------------------------------------------------------------
def _cohort_numbers(result: object) -> pd.DataFrame:
    frame: pd.DataFrame = result  # type: ignore[assignment]
    return frame[frame["active_customers"] > 0][["cohort", "months_since_first", "active_customers", "revenue"]]


def _pandas_cohorts(engine: Engine, filters: Filters) -> pd.DataFrame:
    frame = _counted(_orders_in_scope(engine, filters, with_period=False))
    frame = frame[_before_end(frame["order_date"], filters)].copy()
    moments = pd.to_datetime(frame["order_date"])
    frame["month"] = moments.dt.year * 12 + moments.dt.month
    frame["cohort_month"] = frame.groupby("customer_id")["month"].transform("min")
    frame["first_order"] = moments.groupby(frame["customer_id"]).transform("min")
    start, _end = filters.utc_bounds()
    if start is not None:  # cohorts whose first order lies in the period
        frame = frame[frame["first_order"] >= pd.Timestamp(start)]
    frame["months_since_first"] = frame["month"] - frame["cohort_month"]
    frame["cohort"] = frame["first_order"].dt.strftime("%Y-%m-01")
    return (
        frame.groupby(["cohort", "months_since_first"])
        .agg(active_customers=("customer_id", "nunique"), revenue=("total", "sum"))
        .reset_index()
    )


def _hand_cohorts(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    start, _end = filters.utc_bounds()
    # Like the crm function, the exact first order is needed only to drop customers who bought before the period.
    first_in_month = ", MIN(o.order_date) AS first_in_month" if start is not None else ""
    first_date = ", MIN(first_in_month) OVER (PARTITION BY customer_id) AS first_date" if start is not None else ""
    in_period = f" AND first_date >= {s.bind(start)}" if start is not None else ""
    query = f"""
        SELECT cohort_month, month - cohort_month, COUNT(*), SUM(revenue)
        FROM (SELECT month, revenue, MIN(month) OVER (PARTITION BY customer_id) AS cohort_month{first_date}
              FROM (SELECT o.customer_id, {s.month_number("o.order_date")} AS month{first_in_month},
                           SUM(o.total) AS revenue
                    FROM orders o{s.join()}
                    WHERE {COUNTED_O}{s.orders(with_period=False)}{s.before_end("o.order_date")}
                    GROUP BY 1, 2) per_month) with_first
        WHERE 1 = 1{in_period}
        GROUP BY 1, 2"""
    frame = _query(connection, s, query, ["cohort_month", "months_since_first", "active_customers", "revenue"])
    frame.insert(
        0, "cohort", [f"{(index - 1) // 12:04d}-{(index - 1) % 12 + 1:02d}-01" for index in frame["cohort_month"]]
    )
    return frame.drop(columns="cohort_month")


# --- filter choices ---------------------------------------------------------------------------
def _choices_numbers(result: object) -> pd.DataFrame:
    choices: options.FilterChoices = result  # type: ignore[assignment]
    rows = [("source", source) for source in choices.sources] + [("brand", name) for name in choices.brands]
    rows += [
        (key, day.isoformat())
        for key, day in (("first_order_day", choices.first_order_day), ("last_order_day", choices.last_order_day))
        if day is not None
    ]
    return pd.DataFrame(rows, columns=["kind", "value"])


def _hand_choices(connection: Connection, filters: Filters) -> pd.DataFrame:
    s = _Spelling(connection, filters)
    query = f"""
        SELECT 'source', source FROM (SELECT DISTINCT source FROM customers WHERE source IS NOT NULL) sources
        UNION ALL SELECT 'brand', name FROM brands
        UNION ALL SELECT 'first_order_day', {s.day_text("MIN(order_date)")} FROM orders
        UNION ALL SELECT 'last_order_day', {s.day_text("MAX(order_date)")} FROM orders"""
    frame = _query(connection, s, query, ["kind", "value"])
    return frame[frame["value"].notna()]  # no orders: no first and last day


def _pandas_choices(engine: Engine, filters: Filters) -> pd.DataFrame:
    customer_frame, brand_frame, order_frame = _load(engine, customers, brands, orders)
    rows = [("source", source) for source in sorted(customer_frame["source"].dropna().unique())]
    rows += [("brand", name) for name in brand_frame["name"]]
    if len(order_frame):
        days = pd.to_datetime(order_frame["order_date"]).dt.strftime("%Y-%m-%d")
        rows += [("first_order_day", days.min()), ("last_order_day", days.max())]
    return pd.DataFrame(rows, columns=["kind", "value"])


# --- hand SQL of the behaviour cases (also used by the suggestions' reference) ----------------
HAND_SEASONAL = _hand(
    ["month", "category", "quantity", "item_revenue"],
    lambda s: (
        f"""
        SELECT {s.month_of_year("o.order_date")}, {MAIN_CATEGORY}, SUM(oi.quantity), SUM(oi.quantity * oi.unit_price)
        FROM orders o{s.join()} JOIN order_items oi ON oi.order_id = o.id {MAIN_CATEGORY_JOIN}
        WHERE {COUNTED_O}{s.orders()} GROUP BY 1, 2"""
    ),
)
HAND_WEEKLY = _hand(
    ["day_of_week", "hour", "orders", "revenue"],
    lambda s: (
        f"""
        SELECT {s.day_of_week("o.order_date")}, {s.hour("o.order_date")}, COUNT(*), SUM(o.total)
        FROM orders o{s.join()} WHERE {COUNTED_O}{s.orders()} GROUP BY 1, 2"""
    ),
)
HAND_AGE_CATEGORY = _hand(
    ["age_group", "category", "quantity", "item_revenue", "age_group_buyers"],
    lambda s: (
        f"""
        SELECT mix.age_group, mix.category, mix.quantity, mix.item_revenue, buyers.buyers
        FROM (SELECT {s.age_group()} AS age_group, {MAIN_CATEGORY} AS category, SUM(oi.quantity) AS quantity,
                     SUM(oi.quantity * oi.unit_price) AS item_revenue
              FROM orders o{s.join(always=True)} JOIN order_items oi ON oi.order_id = o.id {MAIN_CATEGORY_JOIN}
              WHERE {COUNTED_O}{s.orders()} GROUP BY 1, 2) mix
        JOIN (SELECT {s.age_group()} AS age_group, COUNT(*) AS buyers
              FROM (SELECT o.customer_id FROM orders o{s.join()} WHERE {COUNTED_O}{s.orders()}
                    GROUP BY o.customer_id) b JOIN customers c ON c.id = b.customer_id
              GROUP BY 1) buyers ON buyers.age_group = mix.age_group"""
    ),
)


def _columns(*names: str) -> Callable[[object], pd.DataFrame]:
    return lambda result: result[list(names)]  # type: ignore[index]


# --- the cases ----------------------------------------------------------------------------
CASES: list[AnalyticsCase] = [
    AnalyticsCase(
        "filter sidebar: choices",
        lambda engine, _filters: options.filter_choices(engine),
        _hand_choices,
        _pandas_choices,
        _choices_numbers,
        function=options.filter_choices,
    ),
    AnalyticsCase(
        "overview: today and this month",
        overview.overview_kpis,
        _hand_overview,
        _pandas_overview,
        _overview_numbers,
    ),
    AnalyticsCase(
        "overview: period totals",
        overview.period_totals,
        _hand_period_totals,
        _pandas_period_totals,
        _period_totals_numbers,
    ),
    AnalyticsCase(
        "overview: period vs previous",
        overview.period_comparison,
        _hand_comparison,
        _pandas_comparison,
        _comparison_numbers,
    ),
    AnalyticsCase(
        "overview: growth trends by month",
        overview.growth_trends,
        _hand(
            ["period", "revenue", "orders", "new_customers"],
            lambda s: (
                f"""
            SELECT period, SUM(revenue), SUM(orders), SUM(new_customers) FROM (
                SELECT {s.month("o.order_date")} AS period, CASE WHEN {COUNTED_O} THEN o.total ELSE 0 END AS revenue,
                       1 AS orders, 0 AS new_customers FROM orders o{s.join()} WHERE 1 = 1{s.orders()}
                UNION ALL
                SELECT {s.month("c.created_at")}, 0, 0, 1 FROM customers c
                WHERE 1 = 1{s.people()}{s.period("c.created_at")}) u
            GROUP BY period ORDER BY period"""
            ),
        ),
        _pandas_growth,
        _columns("period", "revenue", "orders", "new_customers"),
    ),
    AnalyticsCase(
        "overview: pending orders",
        overview.pending_orders,
        _hand_pending,
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
            SELECT {s.month("o.order_date")}, COALESCE(SUM(o.total) FILTER (WHERE {COUNTED_O}), 0),
                   COUNT(*) FILTER (WHERE {COUNTED_O}), COUNT(*),
                   COUNT(DISTINCT o.customer_id) FILTER (WHERE {COUNTED_O})
            FROM orders o{s.join()} WHERE 1 = 1{s.orders()} GROUP BY 1 ORDER BY 1"""
            ),
        ),
        _pandas_revenue_over_time,
        _columns("period", "revenue", "counted_orders", "orders", "buying_customers"),
    ),
    AnalyticsCase(
        "revenue: payment methods",
        revenue.payment_methods,
        _hand(
            ["payment_method", "orders", "revenue"],
            lambda s: (
                f"""SELECT COALESCE(o.payment_method, 'unknown'), COUNT(*), SUM(o.total)
                          FROM orders o{s.join()} WHERE {COUNTED_O}{s.orders()} GROUP BY 1"""
            ),
        ),
        _pandas_payment_methods,
        _columns("payment_method", "orders", "revenue"),
    ),
    AnalyticsCase(
        "revenue: transactions by type and status",
        revenue.transaction_summary,
        _hand(
            ["transaction_type", "status", "transactions", "amount"],
            lambda s: (
                f"""SELECT t.transaction_type, t.status, COUNT(*), SUM(t.amount)
                          FROM {s.transactions_from()} WHERE 1 = 1{s.transactions_where()} GROUP BY 1, 2"""
            ),
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
                          FROM orders o{s.join(always=True)} WHERE {COUNTED_O}{s.orders()} GROUP BY 1"""
            ),
        ),
        _pandas_by_source,
        _columns("source", "revenue", "orders", "buying_customers"),
    ),
    AnalyticsCase(
        "revenue: by brand",
        revenue.revenue_by_brand,
        _hand(
            ["brand", "revenue", "orders"],
            lambda s: (
                f"""SELECT COALESCE(b.name, 'no brand'), SUM(o.total), COUNT(*)
                          FROM orders o{s.join()} LEFT JOIN brands b ON b.id = o.brand_id
                          WHERE {COUNTED_O}{s.orders()} GROUP BY 1"""
            ),
        ),
        _pandas_by_brand,
        _columns("brand", "revenue", "orders"),
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
                SELECT {s.month("o.order_date")} AS period,
                       CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS ro,
                       CASE WHEN o.status = 'refunded' THEN o.total ELSE 0 END AS rv,
                       CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END AS co,
                       CASE WHEN o.status = 'cancelled' THEN o.total ELSE 0 END AS cv, 0 AS rt, 0 AS rc
                FROM orders o{s.join()} WHERE o.status IN ('refunded', 'cancelled'){s.orders()}
                UNION ALL
                SELECT {s.month("t.processed_at")}, 0, 0, 0, 0, 1, t.amount FROM {s.transactions_from()}
                WHERE t.status = 'completed' AND t.transaction_type IN ('refund', 'chargeback')
                      {s.transactions_where()}) u
            GROUP BY period ORDER BY period"""
            ),
        ),
        _pandas_refunds,
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
                       NULL AS buyer, 0 AS orders, 0 AS revenue
                FROM customers c WHERE 1 = 1{s.people()}{s.before_end("c.created_at")}
                UNION ALL
                SELECT {s.age_group()}, COALESCE(c.gender, 'unknown'), 0, o.customer_id, 1, o.total
                FROM orders o{s.join(always=True)} WHERE {COUNTED_O}{s.orders()}) u
            GROUP BY 1, 2"""
            ),
        ),
        _pandas_age_gender,
        _columns("age_group", "gender", "customers", "buying_customers", "orders", "revenue"),
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
            FROM orders o{s.join(always=True)} WHERE {COUNTED_O}{s.orders()}
            GROUP BY 1, 2 ORDER BY 5 DESC, 1, 2 LIMIT 10"""
            ),
        ),
        _pandas_locations,
        _columns("country", "city", "buying_customers", "orders", "revenue"),
    ),
    AnalyticsCase(
        "behaviour: categories",
        behavior.category_preference,
        _hand(
            ["category", "quantity", "item_revenue", "order_lines"],
            lambda s: (
                f"""
            SELECT {MAIN_CATEGORY}, SUM(oi.quantity), SUM(oi.quantity * oi.unit_price), COUNT(*)
            FROM orders o{s.join()} JOIN order_items oi ON oi.order_id = o.id {MAIN_CATEGORY_JOIN}
            WHERE {COUNTED_O}{s.orders()} GROUP BY 1"""
            ),
        ),
        _pandas_categories,
        _columns("category", "quantity", "item_revenue", "order_lines"),
    ),
    AnalyticsCase(
        "behaviour: top products",
        behavior.product_preference,
        _hand(
            ["product", "sku", "quantity", "item_revenue", "order_lines"],
            lambda s: (
                f"""
            SELECT p.name, p.sku, SUM(oi.quantity), SUM(oi.quantity * oi.unit_price), COUNT(*)
            FROM orders o{s.join()} JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id
            WHERE {COUNTED_O}{s.orders()} GROUP BY p.id, p.name, p.sku ORDER BY 4 DESC, 2 LIMIT 10"""
            ),
        ),
        _pandas_products,
        _columns("product", "sku", "quantity", "item_revenue", "order_lines"),
    ),
    AnalyticsCase(
        "behaviour: month × category",
        behavior.seasonal_pattern,
        HAND_SEASONAL,
        _pandas_seasonal,
        _columns("month", "category", "quantity", "item_revenue"),
    ),
    AnalyticsCase(
        "behaviour: weekday × hour",
        behavior.weekly_pattern,
        HAND_WEEKLY,
        _pandas_weekly,
        _columns("day_of_week", "hour", "orders", "revenue"),
    ),
    AnalyticsCase(
        "behaviour: category per age group",
        behavior.category_by_age_group,
        HAND_AGE_CATEGORY,
        _pandas_age_category,
        _columns("age_group", "category", "quantity", "item_revenue", "age_group_buyers"),
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
        f"segmentation: customers of {BENCH_SEGMENT!r}",
        lambda engine, filters: segmentation.segment_customers(engine, filters, segment=BENCH_SEGMENT),
        _hand_segment_customers,
        _pandas_segment_customers,
        _columns(*SEGMENT_CUSTOMER_COLUMNS),
        function=segmentation.segment_customers,
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
                       CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND {COUNTED_O}
                                         {s.period("o.order_date")}{s.brand("o.brand_id")})
                            THEN 1 ELSE 0 END AS converted,
                       NULL AS buyer, 0 AS orders, 0 AS revenue
                FROM customers c WHERE 1 = 1{s.people()}{s.period("c.created_at")}
                UNION ALL
                SELECT COALESCE(c.source, 'unknown'), 0, 0, o.customer_id, 1, o.total
                FROM orders o{s.join(always=True)} WHERE {COUNTED_O}{s.orders()}) u
            GROUP BY 1"""
            ),
        ),
        _pandas_source_effectiveness,
        _columns("source", "new_customers", "converted_customers", "buying_customers", "orders", "revenue"),
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
            FROM customers c LEFT JOIN (SELECT o.customer_id, SUM(o.total) AS revenue FROM orders o
                                        WHERE {COUNTED_O}{s.period("o.order_date")}{s.brand("o.brand_id")}
                                        GROUP BY o.customer_id) spend
                 ON spend.customer_id = c.id
            WHERE 1 = 1{s.people()}
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
