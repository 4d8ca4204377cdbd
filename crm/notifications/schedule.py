"""When a digest is due, in the app's time zone.

A subscription names a local time of day ("08:00") and, for weekly digests, a weekday. Its
*occurrence* at a moment ``now`` is the latest scheduled local time not after ``now``; that
occurrence is the digest's period key, so a digest is sent at most once per occurrence. Only the
latest occurrence is ever sent: a scheduler that was down for three days sends one digest, not three.

A daily digest covers the local day before its occurrence; a weekly one the seven days before it.
Both are compared with the equally long period right before (``Filters.previous_period``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["WEEKDAYS", "Occurrence", "latest_occurrence", "parse_send_at", "parse_weekday"]

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Occurrence:
    """One scheduled sending of a digest and the days it covers (inclusive, local)."""

    local_moment: datetime
    first_day: date
    last_day: date

    @property
    def period_key(self) -> str:
        return self.local_moment.strftime("%Y-%m-%d %H:%M")


def parse_send_at(text: str) -> str:
    """'8:05' or '08:05' → '08:05'; anything else is a ValueError naming the expected form."""
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise ValueError(f"time of day {text!r} is not HH:MM (00:00 to 23:59)") from None
    return parsed.strftime("%H:%M")


def parse_weekday(text: str) -> int:
    """'MON'…'SUN' (any case, or full names like 'monday') → 0…6."""
    key = text.strip().upper()[:3]
    if key not in WEEKDAYS or len(text.strip()) < 3:
        raise ValueError(f"weekday {text!r} is not one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(key)


def _local_time(send_at: str) -> time:
    hours, minutes = send_at.split(":")
    return time(int(hours), int(minutes))


def latest_occurrence(frequency: str, send_at: str, weekday: int | None, now: datetime, zone: ZoneInfo) -> Occurrence:
    """The latest scheduled local moment not after ``now`` (an aware datetime) and the days it covers."""
    local_now = now.astimezone(zone)
    at = _local_time(send_at)
    day = local_now.date()
    if frequency == "daily":
        if local_now.time().replace(second=0, microsecond=0) < at:
            day -= timedelta(days=1)
        return Occurrence(datetime.combine(day, at), day - timedelta(days=1), day - timedelta(days=1))
    if weekday is None:
        raise ValueError("a weekly digest needs a weekday")
    back = (day.weekday() - weekday) % 7
    day -= timedelta(days=back)
    if back == 0 and local_now.time().replace(second=0, microsecond=0) < at:
        day -= timedelta(days=7)
    return Occurrence(datetime.combine(day, at), day - timedelta(days=7), day - timedelta(days=1))
