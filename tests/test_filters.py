"""Filters: the sentence above every chart and the SQL conditions, as a table needing no database."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from crm.filters import Filters
from crm.schema import customers, orders

TODAY = date(2025, 3, 31)


@pytest.mark.parametrize(
    ("filters", "sentence"),
    [
        (Filters(), "All orders"),
        (Filters(start_date=date(2025, 1, 1), end_date=date(2025, 3, 31)), "Orders from 1 Jan to 31 Mar 2025"),
        (Filters(start_date=date(2024, 12, 1), end_date=date(2025, 1, 31)), "Orders from 1 Dec 2024 to 31 Jan 2025"),
        (Filters(start_date=date(2025, 2, 1)), "Orders since 1 Feb 2025"),
        (
            Filters(
                start_date=date(2025, 1, 1),
                end_date=date(2025, 3, 31),
                sources=("website",),
                genders=("female",),
                age_min=25,
                age_max=34,
            ),
            "Orders from 1 Jan to 31 Mar 2025, source: website, women 25–34",
        ),
        (Filters(genders=("female", "male")), "All orders, women and men"),
        (Filters(age_min=40), "All orders, customers aged 40+"),
        (Filters(brands=("Aurora",), customer_types=("business",)), "All orders, brand: Aurora, type: business"),
        (Filters(sources=("social_media", "website")), "All orders, source: social media, website"),
    ],
)
def test_describe_reads_as_a_sentence(filters: Filters, sentence: str) -> None:
    assert filters.describe() == sentence


def test_dates_are_inclusive_local_days_converted_to_utc_bounds() -> None:
    seoul = Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31), timezone_name="Asia/Seoul")
    # Seoul is UTC+9: local midnight of 1 March is 15:00 UTC on 28 Feb; the end bound is exclusive.
    assert seoul.utc_bounds() == (datetime(2025, 2, 28, 15), datetime(2025, 3, 31, 15))


def test_previous_period_has_the_same_length_right_before() -> None:
    march = Filters(start_date=date(2025, 3, 1), end_date=date(2025, 3, 31))
    previous = march.previous_period()
    assert previous is not None
    assert (previous.start_date, previous.end_date) == (date(2025, 1, 29), date(2025, 2, 28))
    assert Filters().previous_period() is None


@pytest.mark.parametrize(
    ("age_min", "age_max", "born_after", "born_on_or_before"),
    [
        # Aged 25–34 on 31 Mar 2025: born after 31 Mar 1990 and on or before 31 Mar 2000.
        (25, 34, date(1990, 3, 31), date(2000, 3, 31)),
        (18, 18, date(2006, 3, 31), date(2007, 3, 31)),
    ],
)
def test_age_range_becomes_a_birth_date_range(
    age_min: int, age_max: int, born_after: date, born_on_or_before: date
) -> None:
    filters = Filters(age_min=age_min, age_max=age_max, today=TODAY)
    compiled = [
        str(clause.compile(compile_kwargs={"literal_binds": True})) for clause in filters.customer_clauses(customers)
    ]
    assert f"customers.birth_date <= '{born_on_or_before}'" in compiled
    assert f"customers.birth_date > '{born_after}'" in compiled


def test_values_are_bound_parameters_never_pasted_into_sql() -> None:
    hostile = "web'); DROP TABLE customers; --"
    statement = select(orders.c.id).where(*Filters(sources=(hostile,)).order_clauses(orders, customers))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = statement.compile(dialect=dialect)
        assert hostile not in str(compiled)
        assert hostile in compiled.params.values() or [hostile] in compiled.params.values()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_date": date(2025, 2, 1), "end_date": date(2025, 1, 1)},
        {"age_min": 40, "age_max": 30},
        {"timezone_name": "Mars/Olympus"},
    ],
    ids=["start after end", "min age above max", "unknown time zone"],
)
def test_impossible_filters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        Filters(**kwargs)  # type: ignore[arg-type]


def test_filters_hash_equal_when_equal_so_they_work_as_cache_keys() -> None:
    assert hash(Filters(sources=["website"])) == hash(Filters(sources=("website",)))


def test_the_brand_rule_counts_the_brands_customers_but_leaves_order_scopes_to_the_order_brand() -> None:
    aurora = Filters(brands=("Aurora",), sources=("website",))

    def compiled(clauses: list) -> list[str]:  # type: ignore[type-arg]
        return [str(clause.compile(compile_kwargs={"literal_binds": True})) for clause in clauses]

    people = compiled(aurora.customer_count_clauses(customers))
    assert "customers.source IN ('website')" in people
    assert any(clause.startswith("customers.brand_id IN (SELECT brands.id") for clause in people)
    # Orders keep the brand on the order: a customer of another brand buying Aurora is Aurora revenue.
    order_scope = compiled(aurora.order_clauses(orders, customers))
    assert any(clause.startswith("orders.brand_id IN (SELECT brands.id") for clause in order_scope)
    assert not any("customers.brand_id" in clause for clause in order_scope)
    assert Filters().customer_count_clauses(customers) == []


def test_a_loyalty_tier_filter_is_a_customer_filter_named_in_the_sentence_with_bound_tier_names() -> None:
    gold = Filters(loyalty_tiers=["gold", "platinum"])
    assert gold.loyalty_tiers == ("gold", "platinum")
    assert gold.has_customer_filters()
    assert gold.describe() == "All orders, tier: gold, platinum"
    compiled = select(customers.c.id).where(*gold.customer_clauses(customers)).compile(dialect=postgresql.dialect())
    assert "loyalty_points" in str(compiled) and "gold" not in str(compiled)
    assert {"gold", "platinum"} <= set(compiled.params.values())
