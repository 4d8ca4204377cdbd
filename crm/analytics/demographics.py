"""Demographics: who the customers are (age group × gender), what they spend, where they live."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, func, literal, select

from crm.analytics.scope import AGE_BUCKETS, UNKNOWN_AGE, age_bucket, counted, order_source, order_where
from crm.filters import Filters
from crm.schema import customers, orders

__all__ = ["AGE_GROUP_ORDER", "DemographicsSummary", "age_gender_distribution", "summarise", "top_locations"]

AGE_GROUP_ORDER: tuple[str, ...] = (*(label for label, _low, _high in AGE_BUCKETS), UNKNOWN_AGE)


def age_gender_distribution(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Customers and spending by age group and gender (age on the filters' reference day).

    Columns: age_group ('18–24' … '65+', 'unknown' without a birth date), gender ('unknown'
    when empty), customers (customers matching the customer filters and the brand rule of
    ``Filters``, created up to the end of the period), buying_customers (with ≥1 counted order
    in the period), orders (counted),
    revenue (totals of orders not cancelled/refunded, by order date), revenue_per_buyer
    (revenue ÷ buying customers). Sorted by age group, then gender.
    """
    group = age_bucket(filters).label("age_group")
    gender = func.coalesce(customers.c.gender, literal("unknown")).label("gender")
    _start, end = filters.utc_bounds()
    customer_query = (
        select(group, gender, func.count(customers.c.id))
        .where(*filters.customer_count_clauses(customers), *([customers.c.created_at < end] if end else []))
        .group_by(group, gender)
    )
    # Orders are summed per customer first, so the age CASE runs once per customer, not per order.
    per_customer = (
        select(
            orders.c.customer_id,
            func.count(orders.c.id).label("orders"),
            func.sum(orders.c.total).label("revenue"),
        )
        .select_from(order_source(filters))
        .where(counted(), *order_where(filters))
        .group_by(orders.c.customer_id)
        .subquery("per_customer")
    )
    spending_query = (
        select(group, gender, func.count(), func.sum(per_customer.c.orders), func.sum(per_customer.c.revenue))
        .select_from(per_customer.join(customers, customers.c.id == per_customer.c.customer_id))
        .group_by(group, gender)
    )
    with engine.connect() as connection:
        people = pd.DataFrame(connection.execute(customer_query).all(), columns=["age_group", "gender", "customers"])
        spending = pd.DataFrame(
            connection.execute(spending_query).all(),
            columns=["age_group", "gender", "buying_customers", "orders", "revenue"],
        )
    frame = people.merge(spending, on=["age_group", "gender"], how="outer")
    for column in ("customers", "buying_customers", "orders"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].fillna(0).astype(float).round(2)
    frame["revenue_per_buyer"] = (
        frame["revenue"] / frame["buying_customers"].where(frame["buying_customers"] > 0)
    ).round(2)
    frame["age_group"] = pd.Categorical(frame["age_group"], categories=AGE_GROUP_ORDER, ordered=True)
    frame = frame.sort_values(["age_group", "gender"], ignore_index=True)
    frame["age_group"] = frame["age_group"].astype(str)
    return frame


def top_locations(engine: Engine, filters: Filters, *, limit: int = 10) -> pd.DataFrame:
    """The cities bringing the most revenue in the period.

    Columns: country, city ('unknown' when empty), buying_customers, orders (counted),
    revenue (totals of orders not cancelled/refunded, by order date), revenue_per_buyer.
    At most ``limit`` rows, largest revenue first.
    """
    country = func.coalesce(customers.c.country, literal("unknown")).label("country")
    city = func.coalesce(customers.c.city, literal("unknown")).label("city")
    revenue = func.sum(orders.c.total)
    query = (
        select(country, city, func.count(func.distinct(orders.c.customer_id)), func.count(orders.c.id), revenue)
        .select_from(order_source(filters, always_join=True))
        .where(counted(), *order_where(filters))
        .group_by(country, city)
        .order_by(revenue.desc(), country, city)
        .limit(limit)
    )
    with engine.connect() as connection:
        frame = pd.DataFrame(
            connection.execute(query).all(), columns=["country", "city", "buying_customers", "orders", "revenue"]
        )
    frame["revenue"] = frame["revenue"].astype(float).round(2)
    frame["revenue_per_buyer"] = (frame["revenue"] / frame["buying_customers"]).round(2)
    return frame


@dataclass(frozen=True)
class DemographicsSummary:
    """Headline numbers of an ``age_gender_distribution`` result.

    customers and buying_customers as there; revenue_per_buyer = revenue ÷ buying customers;
    top_age_group: the known age group with the most revenue (None without revenue).
    """

    customers: int
    buying_customers: int
    revenue: float
    revenue_per_buyer: float | None
    top_age_group: str | None


def summarise(distribution: pd.DataFrame) -> DemographicsSummary:
    """Totals of an ``age_gender_distribution`` frame (small: one row per age group and gender)."""
    buyers = int(distribution["buying_customers"].sum())
    revenue = float(distribution["revenue"].sum())
    known = distribution[distribution["age_group"] != UNKNOWN_AGE]
    by_group = known.groupby("age_group")["revenue"].sum()
    return DemographicsSummary(
        customers=int(distribution["customers"].sum()),
        buying_customers=buyers,
        revenue=round(revenue, 2),
        revenue_per_buyer=round(revenue / buyers, 2) if buyers else None,
        top_age_group=str(by_group.idxmax()) if len(by_group) and by_group.max() > 0 else None,
    )
