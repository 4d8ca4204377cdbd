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


# America/New_York around its 2025 changes: EST (UTC−5) until 9 Mar 07:00 UTC, EDT (UTC−4) until 2 Nov 06:00 UTC.
NEW_YORK_ORDERS = {
    "O1": ("2025-03-09 06:30:00", "2025-03-09", 1, 3),  # 01:30 EST, Sunday
    "O2": ("2025-03-09 07:30:00", "2025-03-09", 3, 3),  # 03:30 EDT: 02:xx never happens that night
    "O3": ("2025-11-02 05:30:00", "2025-11-02", 1, 11),  # 01:30 EDT …
    "O4": ("2025-11-02 06:30:00", "2025-11-02", 1, 11),  # … and 01:30 EST an hour later
    "O5": ("2025-07-01 03:30:00", "2025-06-30", 23, 6),  # summer evening, still 30 June locally
    "O6": ("2025-07-01 04:30:00", "2025-07-01", 0, 7),  # 00:30 EDT (winter's offset would say 30 June)
    "O7": ("2025-01-01 04:30:00", "2024-12-31", 23, 12),  # 23:30 EST on New Year's Eve
    "O8": ("2025-01-01 05:30:00", "2025-01-01", 0, 1),  # 00:30 EST (summer's offset would say 01:30)
}


def test_local_day_hour_and_month_follow_daylight_saving_on_both_engines(tiny_shop: TinyShop) -> None:
    from datetime import datetime

    from sqlalchemy import update

    with tiny_shop.engine.begin() as connection:
        for number, (moment, *_expected) in NEW_YORK_ORDERS.items():
            connection.execute(
                update(orders).where(orders.c.order_number == number).values(order_date=datetime.fromisoformat(moment))
            )
    local = to_local(orders.c.order_date, "America/New_York")
    with tiny_shop.engine.connect() as connection:
        rows = connection.execute(
            select(orders.c.order_number, period_start(local, "day"), hour_of_day(local), month_of_year(local))
        ).all()
    assert {number: (day, hour, month) for number, day, hour, month in rows} == {
        number: (day, hour, month) for number, (_moment, day, hour, month) in NEW_YORK_ORDERS.items()
    }


@pytest.mark.parametrize(
    ("timezone_name", "stored", "local"),
    [
        ("America/New_York", "2025-03-09 06:59:59.000000", "2025-03-09 01:59:59"),
        ("America/New_York", "2025-03-09 07:00:00.000000", "2025-03-09 03:00:00"),
        ("Asia/Kolkata", "2025-01-10 12:00:00.000000", "2025-01-10 17:30:00"),  # +05:30, not a whole hour
        # Lord Howe moves from +10:30 to +11:00 at 15:30 UTC on 4 Oct 2025: mid-hour, so no hour is reused.
        ("Australia/Lord_Howe", "2025-10-04 15:00:00", "2025-10-05 01:30:00"),
        ("Australia/Lord_Howe", "2025-10-04 15:45:00", "2025-10-05 02:45:00"),
        ("Europe/Berlin", "2025-10-26 00:59:00", "2025-10-26 02:59:00"),  # CEST
        ("Europe/Berlin", "2025-10-26 01:00:00", "2025-10-26 02:00:00"),  # CET, the repeated hour
    ],
)
def test_the_sqlite_time_zone_function_is_exact_at_every_kind_of_offset_change(
    timezone_name: str, stored: str, local: str
) -> None:
    from crm.dialect import sqlite_to_local

    # Twice: the second call may come from the per-hour memory and must say the same.
    assert sqlite_to_local(stored, timezone_name) == local
    assert sqlite_to_local(stored, timezone_name) == local


def test_the_sqlite_time_zone_function_agrees_with_zoneinfo_every_quarter_hour_of_a_changeover_day() -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from crm.dialect import sqlite_to_local

    for timezone_name in ("America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"):
        zone = ZoneInfo(timezone_name)
        for day in ("2025-03-08", "2025-10-04", "2025-11-02"):
            start = datetime.fromisoformat(day)
            for quarter in range(2 * 24 * 4):
                moment = start + timedelta(minutes=15 * quarter, seconds=7)
                expected = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
                assert sqlite_to_local(f"{moment:%Y-%m-%d %H:%M:%S}.000000", timezone_name) == expected, moment
    assert sqlite_to_local(None, "America/New_York") is None
