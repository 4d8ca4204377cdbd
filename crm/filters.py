"""The one ``Filters`` value every analytics function takes.

It turns the sidebar's choices into SQLAlchemy WHERE conditions with bound
parameters and into a sentence shown above every chart
("Orders from 1 Jan to 31 Mar 2025, source: website, women 25–34").
It is a frozen dataclass, so it hashes as an ``st.cache_data`` key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.sql import FromClause

from crm.schema import brands, loyalty_tiers

__all__ = ["Filters"]

_GENDER_WORDS = {"female": "women", "male": "men", "other": "other gender"}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 Feb in a non-leap target year
        return day.replace(year=day.year - years, day=28)


def _words(codes: tuple[str, ...]) -> str:
    """Stored codes as words for the sentence: ('social_media', 'website') → 'social media, website'."""
    return ", ".join(code.replace("_", " ") for code in codes)


def _format_day(day: date, *, with_year: bool = True) -> str:
    return f"{day.day} {day.strftime('%b')}" + (f" {day.year}" if with_year else "")


def _in_tier(points: ColumnElement[Any], tier: str) -> ColumnElement[bool]:
    """``points`` reach the tier's threshold and stay below the next one (thresholds read from loyalty_tiers).

    Uncorrelated scalar subqueries: the database works out the two thresholds once per query.
    """
    lower = select(loyalty_tiers.c.min_points).where(loyalty_tiers.c.name == tier).scalar_subquery()
    higher = loyalty_tiers.alias("higher_tier")
    upper = select(func.min(higher.c.min_points)).where(higher.c.min_points > lower).scalar_subquery()
    return and_(points >= lower, or_(upper.is_(None), points < upper))


@dataclass(frozen=True)
class Filters:
    """Choices that narrow every analytics query.

    ``start_date``/``end_date`` are inclusive calendar days in ``timezone_name``; empty
    tuples mean "all"; age is computed on ``today`` (default: the current date).

    The brand rule: a brand filter keeps the *orders* of those brands (``orders.brand_id``:
    revenue, order counts, buyers) and, wherever customers are counted as people (new
    customers, conversion denominators, demographics customers, loyalty tiers, the customer
    total), the *customers of those brands* (``customers.brand_id``, the brand a customer
    belongs to; customers without a brand are left out). A customer of the brand converts
    with a counted order of the brand. So conversion stays "customers of the brand who bought
    the brand ÷ customers of the brand" and never mixes one brand's buyers with every brand's
    customers. ``customer_clauses`` are the attributes (used for order scopes, where the brand
    is on the order); ``customer_count_clauses`` add the brand rule for counting people.
    """

    start_date: date | None = None
    end_date: date | None = None
    sources: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    brands: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = ()
    customer_statuses: tuple[str, ...] = ()
    # Loyalty tier names (loyalty_tiers); a customer's tier is that of their points balance now.
    loyalty_tiers: tuple[str, ...] = ()
    timezone_name: str = "UTC"
    today: date | None = field(default=None, compare=True)

    def __post_init__(self) -> None:
        for name in ("sources", "genders", "brands", "customer_types", "customer_statuses", "loyalty_tiers"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("The start date is after the end date.")
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("The minimum age is above the maximum age.")
        ZoneInfo(self.timezone_name)

    # --- derived values ----------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)

    def reference_day(self) -> date:
        """The day ages are computed on."""
        return self.today or datetime.now(self.zone).date()

    def utc_bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) of the date range as naive UTC datetimes (the storage convention)."""

        def to_utc(day: date) -> datetime:
            local_midnight = datetime.combine(day, time.min, tzinfo=self.zone)
            return local_midnight.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

        start = to_utc(self.start_date) if self.start_date else None
        end = to_utc(self.end_date + timedelta(days=1)) if self.end_date else None
        return start, end

    def with_dates(self, start_date: date | None, end_date: date | None) -> Filters:
        """The same filters over another period (e.g. the previous one for growth)."""
        return replace(self, start_date=start_date, end_date=end_date)

    def previous_period(self) -> Filters | None:
        """The equally long period right before this one, or None without a full date range."""
        if not (self.start_date and self.end_date):
            return None
        length = (self.end_date - self.start_date).days + 1
        return self.with_dates(self.start_date - timedelta(days=length), self.start_date - timedelta(days=1))

    # --- SQL -----------------------------------------------------------------------------
    def period_clauses(self, column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        """Conditions keeping ``column`` (a UTC datetime) inside the date range."""
        start, end = self.utc_bounds()
        clauses: list[ColumnElement[bool]] = []
        if start is not None:
            clauses.append(column >= start)
        if end is not None:
            clauses.append(column < end)
        return clauses

    def customer_clauses(self, customers: FromClause) -> list[ColumnElement[bool]]:
        """Conditions on customer attributes (source, gender, age, type, status, loyalty tier)."""
        c = customers.c
        clauses: list[ColumnElement[bool]] = []
        if self.sources:
            clauses.append(c.source.in_(self.sources))
        if self.genders:
            clauses.append(c.gender.in_(self.genders))
        if self.customer_types:
            clauses.append(c.customer_type.in_(self.customer_types))
        if self.customer_statuses:
            clauses.append(c.status.in_(self.customer_statuses))
        if self.loyalty_tiers:
            clauses.append(or_(*(_in_tier(c.loyalty_points, tier) for tier in self.loyalty_tiers)))
        today = self.reference_day()
        if self.age_min is not None:
            # Aged at least N ⇔ born on or before today minus N years.
            clauses.append(c.birth_date <= _years_before(today, self.age_min))
        if self.age_max is not None:
            # Aged at most N ⇔ born after today minus N+1 years.
            clauses.append(c.birth_date > _years_before(today, self.age_max + 1))
        return clauses

    def brand_clauses(self, brand_id_column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        """``brand_id_column`` (an order's or a customer's brand) is one of the chosen brands."""
        if not self.brands:
            return []
        return [brand_id_column.in_(select(brands.c.id).where(brands.c.name.in_(self.brands)))]

    def customer_count_clauses(self, customers: FromClause) -> list[ColumnElement[bool]]:
        """Conditions on the customers counted as people: attributes plus the brand rule (``customers.brand_id``).

        Use them for new customers, conversion denominators, demographics customers, loyalty
        counts and customer totals; order scopes use ``order_clauses`` (brand on the order).
        """
        return self.customer_clauses(customers) + self.brand_clauses(customers.c.brand_id)

    def has_customer_filters(self) -> bool:
        return bool(
            self.sources
            or self.genders
            or self.customer_types
            or self.customer_statuses
            or self.loyalty_tiers
            or self.age_min is not None
            or self.age_max is not None
        )

    def order_clauses(
        self, orders: FromClause, customers: FromClause, *, with_period: bool = True
    ) -> list[ColumnElement[bool]]:
        """Conditions for orders: period on order_date, brand on the order, customer attributes.

        The caller joins ``customers`` when ``has_customer_filters()`` is true.
        """
        clauses = self.period_clauses(orders.c.order_date) if with_period else []
        clauses += self.brand_clauses(orders.c.brand_id)
        clauses += self.customer_clauses(customers)
        return clauses

    def where(self, clauses: Iterable[ColumnElement[bool]]) -> ColumnElement[bool]:
        """AND of the given conditions (true when there are none)."""
        from sqlalchemy import true

        listed = list(clauses)
        return and_(true(), *listed) if listed else true()

    # --- words ---------------------------------------------------------------------------
    def describe(self, subject: str = "Orders") -> str:
        """One sentence describing the filters, shown above every chart."""
        parts: list[str] = []
        if self.start_date and self.end_date:
            same_year = self.start_date.year == self.end_date.year
            parts.append(
                f"{subject} from {_format_day(self.start_date, with_year=not same_year)} "
                f"to {_format_day(self.end_date)}"
            )
        elif self.start_date:
            parts.append(f"{subject} since {_format_day(self.start_date)}")
        elif self.end_date:
            parts.append(f"{subject} until {_format_day(self.end_date)}")
        else:
            parts.append(f"All {subject.lower()}")
        if self.sources:
            parts.append(f"source: {_words(self.sources)}")
        if self.brands:
            parts.append(f"brand: {', '.join(self.brands)}")
        if self.customer_types:
            parts.append(f"type: {_words(self.customer_types)}")
        if self.customer_statuses:
            parts.append(f"status: {_words(self.customer_statuses)}")
        if self.loyalty_tiers:
            parts.append(f"tier: {_words(self.loyalty_tiers)}")
        people = " and ".join(_GENDER_WORDS.get(gender, gender) for gender in self.genders)
        if self.age_min is not None and self.age_max is not None:
            ages = f"{self.age_min}–{self.age_max}"
        elif self.age_min is not None:
            ages = f"aged {self.age_min}+"
        elif self.age_max is not None:
            ages = f"aged up to {self.age_max}"
        else:
            ages = ""
        if people or ages:
            parts.append(" ".join(part for part in (people or "customers", ages) if part))
        return ", ".join(parts)
