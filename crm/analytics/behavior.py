"""Purchase behaviour: what (categories, products), when (season, weekday, hour), how often.

Item-level figures use item revenue = quantity × unit price of the items of counted orders
(orders not cancelled/refunded, by order date); it excludes tax, shipping and discounts, so
it is not the order-total revenue of the revenue page. ``suggestions_from`` turns these
results into written suggestions; every number in them comes from the data.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, Select, case, func, literal, select
from sqlalchemy.orm import aliased

from crm.analytics.demographics import AGE_GROUP_ORDER
from crm.analytics.scope import age_bucket, counted, local_time, order_source, order_where, rate
from crm.dialect import day_of_week, days_between, hour_of_day, month_of_year
from crm.filters import Filters
from crm.schema import categories, customers, order_items, orders, products

__all__ = [
    "INTERVAL_BUCKETS",
    "MIN_AGE_GROUP_BUYERS",
    "MIN_AGE_GROUP_SHARE",
    "ItemSales",
    "RepeatPurchases",
    "Suggestion",
    "category_by_age_group",
    "category_by_age_group_from",
    "category_preference",
    "category_preference_from",
    "item_sales",
    "product_preference",
    "product_preference_from",
    "repeat_purchases",
    "seasonal_pattern",
    "seasonal_pattern_from",
    "suggestions_from",
    "weekly_pattern",
]

# Days between two consecutive orders of a customer, grouped for the histogram: (label, up to N days).
INTERVAL_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("≤ 7 days", 7),
    ("8–30 days", 30),
    ("31–60 days", 60),
    ("61–90 days", 90),
    ("91–180 days", 180),
    ("181–365 days", 365),
    ("> 365 days", None),
)
# An age group "over-indexes" on a category when its share is at least this multiple of the overall share.
OVER_INDEX = 1.2
# An age group's category mix is suggested from only with enough buyers behind it: with a handful of
# buyers one person's basket is "the group's favourite". 30 is the usual floor for a share to mean
# something; 5 % of all buyers keeps marginal groups of a large shop out of the headline.
MIN_AGE_GROUP_BUYERS = 30
MIN_AGE_GROUP_SHARE = 0.05
DAY_NAMES = tuple(calendar.day_name)  # Monday first, matching crm.dialect.day_of_week
MONTH_NAMES = tuple(calendar.month_abbr)[1:]

_parent = aliased(categories, name="parent_category")


def _frame(engine: Engine, query: Select, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=columns)


def _items_per_product(filters: Filters, *extra: object, with_customers: bool = False) -> Select:
    """Quantity, item revenue and order lines per product (and per extra grouping), counted orders only."""
    item_revenue = func.sum(order_items.c.quantity * order_items.c.unit_price)
    return (
        select(
            order_items.c.product_id,
            *extra,
            func.sum(order_items.c.quantity).label("quantity"),
            item_revenue.label("item_revenue"),
            func.count(order_items.c.id).label("order_lines"),
        )
        .select_from(
            order_source(filters, always_join=with_customers).join(order_items, order_items.c.order_id == orders.c.id)
        )
        .where(counted(), *order_where(filters))
        .group_by(order_items.c.product_id, *extra)
    )


def _main_category() -> object:
    """The parent of the product's category when it has one, else the category itself."""
    return func.coalesce(_parent.c.name, categories.c.name, literal("uncategorised"))


def _with_category(per_product: Select, *extra_names: str) -> Select:
    """Roll a per-product subquery up to the main category (joins only the small aggregated rows)."""
    items = per_product.subquery("items")
    category = _main_category().label("category")
    extra = [items.c[name] for name in extra_names]
    return (
        select(
            *extra,
            category,
            func.sum(items.c.quantity),
            func.sum(items.c.item_revenue),
            func.sum(items.c.order_lines),
        )
        .select_from(
            items.join(products, products.c.id == items.c.product_id)
            .outerjoin(categories, categories.c.id == products.c.category_id)
            .outerjoin(_parent, _parent.c.id == categories.c.parent_id)
        )
        .group_by(*extra, category)
    )


def _money(frame: pd.DataFrame, *names: str) -> pd.DataFrame:
    for name in names:
        frame[name] = frame[name].fillna(0).astype(float).round(2)
    return frame


def category_preference(engine: Engine, filters: Filters) -> pd.DataFrame:
    """What customers buy, by main category (the parent category when there is one).

    Columns: category, quantity (items), item_revenue (quantity × unit price of items of
    orders not cancelled/refunded, by order date), order_lines (order lines in the category),
    share (of item revenue). Largest first.
    """
    query = _with_category(_items_per_product(filters))
    frame = _money(_frame(engine, query, ["category", "quantity", "item_revenue", "order_lines"]), "item_revenue")
    frame = frame.sort_values(["item_revenue", "category"], ascending=[False, True], ignore_index=True)
    total = frame["item_revenue"].sum()
    frame["share"] = frame["item_revenue"] / total if total else 0.0
    return frame


def product_preference(engine: Engine, filters: Filters, *, limit: int = 10) -> pd.DataFrame:
    """The best-selling products by item revenue.

    Columns: product, sku, category (main category), quantity, item_revenue (quantity × unit
    price, counted orders by order date), order_lines (order lines with the product). At most ``limit`` rows.
    """
    items = _items_per_product(filters).subquery("items")
    query = (
        select(
            products.c.name,
            products.c.sku,
            _main_category(),
            items.c.quantity,
            items.c.item_revenue,
            items.c.order_lines,
        )
        .select_from(
            items.join(products, products.c.id == items.c.product_id)
            .outerjoin(categories, categories.c.id == products.c.category_id)
            .outerjoin(_parent, _parent.c.id == categories.c.parent_id)
        )
        .order_by(items.c.item_revenue.desc(), products.c.sku)
        .limit(limit)
    )
    frame = _frame(engine, query, ["product", "sku", "category", "quantity", "item_revenue", "order_lines"])
    frame["quantity"] = frame["quantity"].astype(int)
    return _money(frame, "item_revenue")


def seasonal_pattern(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Month of year × main category (local time), for the seasonal heatmap.

    Columns: month (1–12), month_name ('Jan'…), category, quantity, item_revenue
    (quantity × unit price of counted orders, by order date). Only months with sales.
    """
    month = month_of_year(local_time(orders.c.order_date, filters)).label("month")
    query = _with_category(_items_per_product(filters, month), "month")
    frame = _frame(engine, query, ["month", "category", "quantity", "item_revenue", "order_lines"])
    frame = _money(frame, "item_revenue").drop(columns="order_lines")
    frame["month"] = frame["month"].astype(int)
    frame.insert(1, "month_name", [MONTH_NAMES[m - 1] for m in frame["month"]])
    return frame.sort_values(["month", "category"], ignore_index=True)


def weekly_pattern(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Day of week × hour of day of counted orders (local time).

    Columns: day_of_week (0 = Monday), day_name, hour (0–23), orders (counted orders),
    revenue (their totals). Only hours with orders.
    """
    local = local_time(orders.c.order_date, filters)
    day = day_of_week(local).label("day_of_week")
    hour = hour_of_day(local).label("hour")
    query = (
        select(day, hour, func.count(orders.c.id), func.sum(orders.c.total))
        .select_from(order_source(filters))
        .where(counted(), *order_where(filters))
        .group_by(day, hour)
        .order_by(day, hour)
    )
    frame = _money(_frame(engine, query, ["day_of_week", "hour", "orders", "revenue"]), "revenue")
    frame.insert(1, "day_name", [DAY_NAMES[int(d)] for d in frame["day_of_week"]])
    return frame


def _age_group_buyers(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Customers with ≥1 counted order per age group (columns age_group, age_group_buyers)."""
    group = age_bucket(filters).label("age_group")
    # One row per buying customer first, so the age CASE runs once per customer.
    buyers = (
        select(orders.c.customer_id)
        .select_from(order_source(filters))
        .where(counted(), *order_where(filters))
        .group_by(orders.c.customer_id)
        .subquery("buyers")
    )
    buyers_query = (
        select(group, func.count())
        .select_from(buyers.join(customers, customers.c.id == buyers.c.customer_id))
        .group_by(group)
    )
    return _frame(engine, buyers_query, ["age_group", "age_group_buyers"])


def _age_mix(frame: pd.DataFrame, per_group: pd.DataFrame) -> pd.DataFrame:
    """age_group × category sums (quantity, item_revenue) → shares, buyers, age order."""
    frame = _money(frame, "item_revenue")
    totals = frame.groupby("age_group")["item_revenue"].transform("sum")
    frame["share"] = frame["item_revenue"] / totals.where(totals > 0)
    frame = frame.merge(per_group, on="age_group", how="left")
    frame["age_group_buyers"] = frame["age_group_buyers"].fillna(0).astype(int)
    frame["age_group"] = pd.Categorical(frame["age_group"], categories=AGE_GROUP_ORDER, ordered=True)
    frame = frame.sort_values(["age_group", "item_revenue"], ascending=[True, False], ignore_index=True)
    frame["age_group"] = frame["age_group"].astype(str)
    return frame


def category_by_age_group(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Main category preference per age group (age on the filters' reference day).

    Columns: age_group, category, quantity, item_revenue (quantity × unit price of counted
    orders, by order date), share (of the age group's item revenue), age_group_buyers
    (customers of the age group with ≥1 counted order: how much a share can be trusted).
    """
    group = age_bucket(filters).label("age_group")
    query = _with_category(_items_per_product(filters, group, with_customers=True), "age_group")
    frame = _frame(engine, query, ["age_group", "category", "quantity", "item_revenue", "order_lines"])
    return _age_mix(frame.drop(columns="order_lines"), _age_group_buyers(engine, filters))


# --- one scan for the whole behaviour page ------------------------------------------------------
# The four item-level results above each scan orders ⋈ order_items. A page showing all four runs
# ``item_sales`` once (one scan grouped by product × month × age group, a few thousand rows) and
# derives them with the ``*_from`` functions: sums of sums, so the numbers are the same.
SALES_CELL_COLUMNS = [
    "product_id", "product", "sku", "category", "month", "age_group", "quantity", "item_revenue", "order_lines",
]  # fmt: skip


@dataclass(frozen=True)
class ItemSales:
    """Item sales of counted orders in one scan.

    * cells: one row per product × month of year (local time) × age group (on the filters'
      reference day) with sales; columns product_id, product, sku, category (main category),
      month (1–12), age_group, quantity, item_revenue (quantity × unit price), order_lines.
    * age_group_buyers: columns age_group, age_group_buyers (customers with ≥1 counted order).
    """

    cells: pd.DataFrame
    age_group_buyers: pd.DataFrame


def item_sales(engine: Engine, filters: Filters) -> ItemSales:
    """Item sales per product × month × age group, for ``category_preference_from`` and its siblings.

    See ``ItemSales``. Item revenue = quantity × unit price of items of counted orders (not
    cancelled/refunded) in the period, by order date.
    """
    month = month_of_year(local_time(orders.c.order_date, filters)).label("month")
    group = age_bucket(filters).label("age_group")
    items = _items_per_product(filters, month, group, with_customers=True).subquery("items")
    query = select(
        items.c.product_id,
        products.c.name,
        products.c.sku,
        _main_category(),
        items.c.month,
        items.c.age_group,
        items.c.quantity,
        items.c.item_revenue,
        items.c.order_lines,
    ).select_from(
        items.join(products, products.c.id == items.c.product_id)
        .outerjoin(categories, categories.c.id == products.c.category_id)
        .outerjoin(_parent, _parent.c.id == categories.c.parent_id)
    )
    cells = _frame(engine, query, SALES_CELL_COLUMNS)
    cells["month"] = cells["month"].astype(int)
    cells["quantity"] = cells["quantity"].astype(int)
    cells["order_lines"] = cells["order_lines"].astype(int)
    # Floats for the roll-ups; every amount has whole cents, so sums round back to the SQL sums.
    cells["item_revenue"] = cells["item_revenue"].astype(float)
    return ItemSales(cells=cells, age_group_buyers=_age_group_buyers(engine, filters))


def _roll_up(cells: pd.DataFrame, keys: list[str], sums: list[str]) -> pd.DataFrame:
    return cells.groupby(keys, as_index=False, sort=False)[sums].sum()


def category_preference_from(sales: ItemSales) -> pd.DataFrame:
    """``category_preference`` from ``item_sales`` (same columns, same numbers)."""
    frame = _money(_roll_up(sales.cells, ["category"], ["quantity", "item_revenue", "order_lines"]), "item_revenue")
    frame = frame.sort_values(["item_revenue", "category"], ascending=[False, True], ignore_index=True)
    total = frame["item_revenue"].sum()
    frame["share"] = frame["item_revenue"] / total if total else 0.0
    return frame


def product_preference_from(sales: ItemSales, *, limit: int = 10) -> pd.DataFrame:
    """``product_preference`` from ``item_sales`` (same columns, same numbers)."""
    keys = ["product_id", "product", "sku", "category"]
    frame = _money(_roll_up(sales.cells, keys, ["quantity", "item_revenue", "order_lines"]), "item_revenue")
    frame = frame.sort_values(["item_revenue", "sku"], ascending=[False, True], ignore_index=True).head(limit)
    frame["quantity"] = frame["quantity"].astype(int)
    return frame.drop(columns="product_id").reset_index(drop=True)


def seasonal_pattern_from(sales: ItemSales) -> pd.DataFrame:
    """``seasonal_pattern`` from ``item_sales`` (same columns, same numbers)."""
    frame = _money(_roll_up(sales.cells, ["month", "category"], ["quantity", "item_revenue"]), "item_revenue")
    frame["month"] = frame["month"].astype(int)
    frame.insert(1, "month_name", [MONTH_NAMES[m - 1] for m in frame["month"]])
    return frame.sort_values(["month", "category"], ignore_index=True)


def category_by_age_group_from(sales: ItemSales) -> pd.DataFrame:
    """``category_by_age_group`` from ``item_sales`` (same columns, same numbers)."""
    frame = _roll_up(sales.cells, ["age_group", "category"], ["quantity", "item_revenue"])
    return _age_mix(frame, sales.age_group_buyers)


@dataclass(frozen=True)
class RepeatPurchases:
    """How long customers wait between two orders.

    * intervals: DataFrame with columns interval (bucket label) and customers: repeat
      customers by their average days between consecutive counted orders in the period
      ((last order − first order) ÷ (orders − 1)).
    * buying_customers: customers with ≥1 counted order; repeat_customers: with ≥2.
    * repeat_rate = repeat customers ÷ buying customers.
    * average_days: mean days between two consecutive orders over all repeat purchases
      (Σ (last − first) ÷ Σ (orders − 1)); None without repeat orders.
    """

    intervals: pd.DataFrame
    buying_customers: int
    repeat_customers: int
    average_days: float | None

    @property
    def repeat_rate(self) -> float | None:
        return rate(self.repeat_customers, self.buying_customers)


def repeat_purchases(engine: Engine, filters: Filters) -> RepeatPurchases:
    """Repeat-purchase interval: days between consecutive counted orders of a customer.

    See ``RepeatPurchases``: customers by average interval, buying and repeat customers,
    average gap. Repeat rate = customers with ≥2 counted orders ÷ customers with ≥1, in the period.
    """
    # The gaps of one customer telescope: their sum is last − first, so no window function is needed.
    per_customer = (
        select(
            orders.c.customer_id,
            func.count(orders.c.id).label("orders"),
            days_between(func.min(orders.c.order_date), func.max(orders.c.order_date)).label("span_days"),
        )
        .select_from(order_source(filters))
        .where(counted(), *order_where(filters))
        .group_by(orders.c.customer_id)
        .subquery("per_customer")
    )
    repeat = per_customer.c.orders >= 2
    average_gap = per_customer.c.span_days / func.nullif(per_customer.c.orders - 1, 0)
    bucket = case(
        (~repeat, literal("one order")),
        *((average_gap <= upper, literal(label)) for label, upper in INTERVAL_BUCKETS if upper is not None),
        else_=literal(INTERVAL_BUCKETS[-1][0]),
    ).label("interval")
    query = select(
        bucket,
        func.count(),
        func.sum(per_customer.c.span_days),
        func.sum(per_customer.c.orders - 1),
    ).group_by(bucket)
    with engine.connect() as connection:
        rows = pd.DataFrame(connection.execute(query).all(), columns=["interval", "customers", "span", "gaps"])
    buyers = int(rows["customers"].sum()) if len(rows) else 0
    repeaters = rows[rows["interval"] != "one order"]
    total_gaps = int(repeaters["gaps"].sum()) if len(repeaters) else 0
    average = float(repeaters["span"].astype(float).sum()) / total_gaps if total_gaps else None
    labels = [label for label, _upper in INTERVAL_BUCKETS]
    intervals = (
        pd.DataFrame({"interval": labels})
        .merge(repeaters[["interval", "customers"]], on="interval", how="left")
        .fillna({"customers": 0})
        .astype({"customers": int})
    )
    return RepeatPurchases(
        intervals=intervals,
        buying_customers=buyers,
        repeat_customers=int(repeaters["customers"].sum()) if len(repeaters) else 0,
        average_days=None if average is None else round(average, 1),
    )


@dataclass(frozen=True)
class Suggestion:
    """One written suggestion: the topic, what the data shows, and what to do about it."""

    topic: str
    finding: str
    action: str


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _age_group_suggestion(by_age: pd.DataFrame) -> Suggestion | None:
    """Top category per age group, for the groups with enough buyers to trust their category mix."""
    known = by_age[by_age["age_group"] != AGE_GROUP_ORDER[-1]]
    if known.empty:
        return None
    buyers = by_age.drop_duplicates("age_group").set_index("age_group")["age_group_buyers"]
    minimum = max(MIN_AGE_GROUP_BUYERS, MIN_AGE_GROUP_SHARE * int(buyers.sum()))
    solid = known[known["age_group"].map(buyers) >= minimum]
    left_out = [group for group in known["age_group"].unique() if group not in set(solid["age_group"])]
    if solid.empty:
        return None
    top = solid.loc[solid.groupby("age_group", sort=False)["item_revenue"].idxmax()]
    pairs = "; ".join(
        f"{row.age_group} ({row.age_group_buyers:,} buyers): {row.category} ({_percent(row.share)})"
        for row in top.itertuples()
        if row.item_revenue > 0
    )
    # Over-indexing: a category's share in an age group against its share over all known groups.
    overall = known.groupby("category")["item_revenue"].sum()
    overall_share = overall / overall.sum() if overall.sum() else overall
    lift = solid.assign(overall=solid["category"].map(overall_share))
    lift = lift[(lift["overall"] > 0) & (lift["share"] >= OVER_INDEX * lift["overall"])]
    stand_outs = lift.loc[lift.groupby("age_group", sort=False)["share"].idxmax()] if len(lift) else lift
    finding = f"Top category per age group — {pairs}"
    if left_out:
        finding += (
            f" ({', '.join(left_out)} left out: fewer than {minimum:,.0f} buyers; a group needs "
            f"{MIN_AGE_GROUP_BUYERS} buyers and {MIN_AGE_GROUP_SHARE:.0%} of all buyers)"
        )
    shown_top = top[top["item_revenue"] > 0]
    if len(shown_top) > 1 and shown_top["category"].nunique() == 1:
        # Every age group's favourite is the same: personalising by age would show everyone the same thing.
        action = f"Age does not change the favourite: feature {shown_top['category'].iloc[0]} for every age group"
    else:
        action = "Personalise recommendations and campaign creatives by age group with these categories"
    if len(stand_outs):
        action += "; feature " + "; ".join(
            f"{row.category} for {row.age_group} ({_percent(row.share)} vs {_percent(row.overall)} overall)"
            for row in stand_outs.itertuples()
        )
    return Suggestion("Age groups", finding + ".", action + ".")


def suggestions_from(
    season: pd.DataFrame,
    week: pd.DataFrame,
    by_age: pd.DataFrame,
    repeat: RepeatPurchases,
    *,
    timezone_name: str,
) -> list[Suggestion]:
    """Suggestions from the behaviour results: peak month and day, top category per age group, repeat interval.

    Takes the results of ``seasonal_pattern``, ``weekly_pattern``, ``category_by_age_group`` and
    ``repeat_purchases`` (the page has them cached already, so the words cost no query). Empty when the
    filters match no orders. Age groups are described only with at least ``MIN_AGE_GROUP_BUYERS`` buyers and
    ``MIN_AGE_GROUP_SHARE`` of all buyers.
    """
    suggestions: list[Suggestion] = []
    if not season.empty:
        by_month = season.groupby(["month", "month_name"], as_index=False)["item_revenue"].sum()
        peak = by_month.loc[by_month["item_revenue"].idxmax()]
        total = by_month["item_revenue"].sum()
        finding = f"{peak['month_name']} brings {_percent(peak['item_revenue'] / total)} of item revenue"
        if len(by_month) > 1:
            low = by_month.loc[by_month["item_revenue"].idxmin()]
            finding += f"; {low['month_name']} is the quietest month ({_percent(low['item_revenue'] / total)})"
        peak_month = season[season["month"] == peak["month"]]
        top_category = peak_month.loc[peak_month["item_revenue"].idxmax(), "category"]
        suggestions.append(
            Suggestion(
                "Seasonality",
                finding + ".",
                f"Stock up on {top_category} and start campaigns a few weeks before {peak['month_name']}; "
                + (f"use promotions to lift {low['month_name']}." if len(by_month) > 1 else "watch other months."),
            )
        )
    if not week.empty:
        by_day = week.groupby(["day_of_week", "day_name"], as_index=False)["orders"].sum()
        by_hour = week.groupby("hour", as_index=False)["orders"].sum()
        peak_day = by_day.loc[by_day["orders"].idxmax()]
        peak_hour = int(by_hour.loc[by_hour["orders"].idxmax(), "hour"])
        total_orders = by_day["orders"].sum()
        suggestions.append(
            Suggestion(
                "Timing",
                f"{peak_day['day_name']} has the most orders "
                f"({_percent(peak_day['orders'] / total_orders)} of the week); "
                f"the busiest hour is {peak_hour:02d}:00–{peak_hour:02d}:59 ({timezone_name}).",
                f"Send emails and schedule ads on {peak_day['day_name']}s shortly before {peak_hour:02d}:00, "
                "and staff support for that window.",
            )
        )
    age_suggestion = _age_group_suggestion(by_age)
    if age_suggestion is not None:
        suggestions.append(age_suggestion)
    if repeat.buying_customers:
        repeat_share = repeat.repeat_rate or 0.0
        if repeat.average_days is not None:
            finding = (
                f"{_percent(repeat_share)} of buyers ordered again; on average {repeat.average_days:.0f} days "
                "pass between two orders."
            )
            action = (
                f"Send a reminder or offer about {max(1, round(repeat.average_days * 0.8)):.0f} days after an "
                "order, before the usual next purchase is due."
            )
        else:
            finding = "No buyer ordered twice in this period."
            action = "Add a second-purchase incentive (e.g. a voucher with the first order)."
        suggestions.append(Suggestion("Repeat purchases", finding, action))
    return suggestions
