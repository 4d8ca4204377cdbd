"""segment_summary: the customers of a rule within the sidebar's customer filters, hand-computed on tiny_shop."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from crm.analytics.benchmarks_segments import BENCH_RULE
from crm.analytics.segments import segment_summary
from crm.filters import Filters
from crm.schema import customers
from tests.fixtures.tiny_shop import TinyShop

TODAY = date(2025, 3, 31)


def test_the_bench_rule_holds_dan_on_the_last_day_of_march(tiny_shop: TinyShop) -> None:
    # website/referral, aged 25–54, bought, spent ≥ 100 or ≥ 1000 points, not within 7 days:
    # Alice (34, 176.00) bought 3 days ago; Bob spent 38 with 300 points; Dan (54, 6000 points) bought 11 days ago.
    summary = segment_summary(tiny_shop.engine, Filters(today=TODAY), BENCH_RULE)
    assert summary.to_dict("records") == [{"customers": 1, "with_email_consent": 0, "total_spent": 50.0}]
    with tiny_shop.engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == 4).values(marketing_consent=True))
    later = segment_summary(tiny_shop.engine, Filters(today=TODAY), BENCH_RULE, as_of=date(2025, 4, 30))
    # A month later Alice's last order is 33 days old too.
    assert later.to_dict("records") == [{"customers": 2, "with_email_consent": 1, "total_spent": 226.0}]


def test_sidebar_filters_narrow_the_rule(tiny_shop: TinyShop) -> None:
    summary = segment_summary(tiny_shop.engine, Filters(genders=("female",), today=TODAY), {"all": []})
    assert summary.to_dict("records") == [{"customers": 3, "with_email_consent": 0, "total_spent": 214.0}]
