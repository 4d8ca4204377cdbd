"""Numbers agree across pages: every revenue breakdown adds up to the overview's revenue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.analytics.demographics import age_gender_distribution
from crm.analytics.overview import growth_trends, period_totals
from crm.analytics.revenue import payment_methods, revenue_by_brand, revenue_by_source, revenue_over_time
from crm.analytics.segmentation import loyalty_tier_distribution, rfm_segments, source_effectiveness
from crm.filters import Filters
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


@pytest.mark.parametrize(
    "filters",
    [
        Filters(today=TODAY),
        Filters(start_date=date(2025, 2, 1), end_date=date(2025, 3, 31), today=TODAY),
        Filters(sources=("website",), today=TODAY),
        Filters(brands=("Aurora",), genders=("female",), today=TODAY),
        Filters(age_min=30, age_max=60, today=TODAY),
    ],
    ids=["all", "feb-mar", "website", "aurora-women", "age-30-60"],
)
def test_every_page_shows_the_same_revenue(tiny_shop: TinyShop, filters: Filters) -> None:
    engine = tiny_shop.engine
    total = float(period_totals(engine, filters).revenue)
    assert total > 0
    breakdowns = {
        "trends": growth_trends(engine, filters)["revenue"].sum(),
        "by month": revenue_over_time(engine, filters)["revenue"].sum(),
        "payment methods": payment_methods(engine, filters)["revenue"].sum(),
        "sources": revenue_by_source(engine, filters)["revenue"].sum(),
        "brands": revenue_by_brand(engine, filters)["revenue"].sum(),
        "demographics": age_gender_distribution(engine, filters)["revenue"].sum(),
        "RFM segments": rfm_segments(engine, filters)["revenue"].sum(),
        "source effectiveness": source_effectiveness(engine, filters)["revenue"].sum(),
    }
    assert breakdowns == pytest.approx(dict.fromkeys(breakdowns, total))


def test_loyalty_revenue_matches_when_no_brand_or_period_is_hidden(tiny_shop: TinyShop) -> None:
    filters = Filters(today=TODAY)
    assert Decimal(str(loyalty_tier_distribution(tiny_shop.engine, filters)["revenue"].sum())) == Decimal("302.0")
