"""When a digest is due and which days it covers, in the app's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.notifications.schedule import latest_occurrence, parse_send_at, parse_weekday

UTC_ZONE = ZoneInfo("UTC")
SEOUL = ZoneInfo("Asia/Seoul")


def _at(text: str, zone: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def test_a_daily_digest_is_due_from_its_time_and_covers_the_day_before() -> None:
    before = latest_occurrence("daily", "08:00", None, _at("2026-12-07 07:59"), UTC_ZONE)
    on_time = latest_occurrence("daily", "08:00", None, _at("2026-12-07 08:00"), UTC_ZONE)
    assert before.period_key == "2026-12-06 08:00"
    assert (before.first_day, before.last_day) == (date(2026, 12, 5), date(2026, 12, 5))
    assert on_time.period_key == "2026-12-07 08:00"
    assert (on_time.first_day, on_time.last_day) == (date(2026, 12, 6), date(2026, 12, 6))


def test_a_weekly_digest_falls_on_its_weekday_and_covers_the_seven_days_before() -> None:
    monday = 0
    sunday_evening = latest_occurrence("weekly", "08:00", monday, _at("2026-12-06 20:00"), UTC_ZONE)  # a Sunday
    monday_early = latest_occurrence("weekly", "08:00", monday, _at("2026-12-07 07:00"), UTC_ZONE)
    monday_late = latest_occurrence("weekly", "08:00", monday, _at("2026-12-07 09:00"), UTC_ZONE)
    assert sunday_evening.period_key == monday_early.period_key == "2026-11-30 08:00"
    assert monday_late.period_key == "2026-12-07 08:00"
    assert (monday_late.first_day, monday_late.last_day) == (date(2026, 11, 30), date(2026, 12, 6))


def test_the_time_of_day_is_the_apps_local_time() -> None:
    # 23:30 UTC on 6 Dec is 08:30 on 7 Dec in Seoul: the 08:00 digest of the 7th is due there.
    occurrence = latest_occurrence("daily", "08:00", None, datetime(2026, 12, 6, 23, 30, tzinfo=UTC), SEOUL)
    assert occurrence.period_key == "2026-12-07 08:00"
    assert occurrence.last_day == date(2026, 12, 6)


@pytest.mark.parametrize(("text", "expected"), [("8:05", "08:05"), ("23:59", "23:59"), (" 07:00 ", "07:00")])
def test_times_of_day_are_read_as_hours_and_minutes(text: str, expected: str) -> None:
    assert parse_send_at(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8am", "", "12:60"])
def test_an_impossible_time_of_day_is_refused_naming_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_send_at(text)


def test_weekdays_are_three_letters_or_full_names() -> None:
    assert [parse_weekday(day) for day in ("MON", "tue", "Sunday")] == [0, 1, 6]
    with pytest.raises(ValueError, match="MON, TUE"):
        parse_weekday("someday")
