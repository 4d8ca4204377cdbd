"""Values the filter sidebar offers (sources, brands, the span of order dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select

from crm.schema import brands, customers, orders

__all__ = ["FilterChoices", "filter_choices"]


@dataclass(frozen=True)
class FilterChoices:
    sources: tuple[str, ...]
    brands: tuple[str, ...]
    first_order_day: date | None
    last_order_day: date | None


def _as_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    return date.fromisoformat(str(value)[:10])


def filter_choices(engine: Engine) -> FilterChoices:
    """Distinct customer sources and brand names, and the first/last order dates (UTC)."""
    with engine.connect() as connection:
        sources = connection.execute(
            select(customers.c.source).where(customers.c.source.is_not(None)).distinct().order_by(customers.c.source)
        ).scalars()
        source_list = tuple(sources)
        brand_list = tuple(connection.execute(select(brands.c.name).order_by(brands.c.name)).scalars())
        # Two scalar subqueries, not MIN and MAX in one SELECT: SQLite answers a lone MIN or MAX from the
        # order-date index, but scans every order for the pair (0.13 s instead of 0.005 s at 1M orders).
        first, last = connection.execute(
            select(
                select(func.min(orders.c.order_date)).scalar_subquery(),
                select(func.max(orders.c.order_date)).scalar_subquery(),
            )
        ).one()
    return FilterChoices(source_list, brand_list, _as_date(first), _as_date(last))
