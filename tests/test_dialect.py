"""Date grouping reads the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.dialect import (
    day_of_week,
    days_between,
    epoch_day,
    hour_of_day,
    month_number,
    month_of_year,
    period_start,
    to_local,
)
from crm.schema import orders, tickets
from tests.fixtures.tiny_shop import TinyShop


@pytest.mark.parametrize(
    ("grain", "label"),
    [
        ("day", "2025-02-20"),
        ("week", "2025-02-17"),  # 20 Feb 2025 is a Thursday; its week starts Monday 17 Feb
        ("month", "2025-02-01"),
        ("quarter", "2025-01-01"),
        ("year", "2025-01-01"),
    ],
)
def test_period_start_labels_match_on_both_engines(tiny_shop: TinyShop, grain: str, label: str) -> None:
    with tiny_shop.engine.connect() as connection:
        value = connection.execute(
            select(period_start(orders.c.order_date, grain)).where(orders.c.order_number == "O5")  # type: ignore[arg-type]
        ).scalar_one()
    assert value == label


def test_week_of_a_sunday_starts_on_the_monday_before(tiny_shop: TinyShop) -> None:
    # O3 is on Saturday 25 Jan 2025; O1 on Friday 10 Jan; check a Sunday via O6 (Sat 15 Mar) + 1 day below.
    with tiny_shop.engine.connect() as connection:
        labels = dict(
            connection.execute(select(orders.c.order_number, period_start(orders.c.order_date, "week"))).all()
        )
    assert labels["O3"] == "2025-01-20"
    assert labels["O6"] == "2025-03-10"


def test_weekday_hour_and_month_parts(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.connect() as connection:
        row = connection.execute(
            select(
                day_of_week(orders.c.order_date), hour_of_day(orders.c.order_date), month_of_year(orders.c.order_date)
            ).where(orders.c.order_number == "O5")
        ).one()
    assert tuple(row) == (3, 12, 2)  # Thursday (Monday = 0), noon, February


def test_days_between_gives_fractional_days(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.connect() as connection:
        hours = connection.execute(
            select(days_between(tickets.c.created_at, tickets.c.first_response_at) * 24).where(tickets.c.id == 1)
        ).scalar_one()
    assert hours == pytest.approx(1.5)  # created 09:00, answered 10:30


def test_to_local_shifts_utc_into_the_app_time_zone(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.connect() as connection:
        hour = connection.execute(
            select(hour_of_day(to_local(orders.c.order_date, "Asia/Seoul"))).where(orders.c.order_number == "O1")
        ).scalar_one()
    assert hour == 21  # noon UTC is 21:00 in Seoul (UTC+9, no daylight saving)


def test_epoch_day_and_month_number_are_whole_numbers_on_both_engines(tiny_shop: TinyShop) -> None:
    with tiny_shop.engine.connect() as connection:
        day, month = connection.execute(
            select(epoch_day(orders.c.order_date), month_number(orders.c.order_date)).where(
                orders.c.order_number == "O5"
            )
        ).one()
    # 20 Feb 2025 is 20139 days after 1 Jan 1970; 2025 × 12 + 2 = 24302.
    assert (day, month) == (20139, 24302)
