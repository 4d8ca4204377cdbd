"""Ticket numbers: ``CS`` + the app's local day (``CRM_TIMEZONE``) + the day's 4-digit sequence.

Unique under concurrent creation (several app servers, the CLI, the Activities grid): the first statement
of the creating transaction writes the day's row in ``ticket_number_days``. That write holds a row lock on
PostgreSQL (a second creator waits for the first to commit, then counts on from it) and the database write
lock on SQLite (``busy_timeout`` queues the second writer; writing first means no stale read snapshot can
make SQLite refuse it). Holding the lock, the next number is one above both the counter and the highest
number already stored for that day, so tickets written without the counter (imports, the demo) are never
numbered twice.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from crm.schema import ticket_number_days, tickets, utc_now
from crm.settings import get_settings

__all__ = ["MAX_DAILY_SEQUENCE", "TicketNumberError", "local_day", "next_ticket_number"]

MAX_DAILY_SEQUENCE = 9999


class TicketNumberError(ValueError):
    """The day's 9,999 numbers are used up."""


def local_day(moment_utc: datetime | None = None, timezone: ZoneInfo | None = None) -> str:
    """YYYYMMDD of a naive UTC moment in the app's time zone."""
    moment_utc = moment_utc or utc_now()
    zone = timezone or get_settings().timezone
    return moment_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).strftime("%Y%m%d")


def _lock_day(connection: Connection, day: str) -> int:
    """Write (and so lock) the day's counter row; returns its current value."""
    claimed = connection.execute(
        ticket_number_days.update()
        .where(ticket_number_days.c.day == day)
        .values(last_sequence=ticket_number_days.c.last_sequence)
        .returning(ticket_number_days.c.last_sequence)
    ).scalar()
    if claimed is not None:
        return int(claimed)
    try:
        with connection.begin_nested():
            connection.execute(ticket_number_days.insert().values(day=day, last_sequence=0))
        return 0
    except IntegrityError:
        # Another creator inserted the day's row first: its row lock now queues us behind it.
        return _lock_day(connection, day)


def next_ticket_number(connection: Connection, moment_utc: datetime | None = None) -> str:
    """Reserve the next number of ``moment_utc``'s local day inside the caller's transaction.

    Call it first in the transaction that inserts the ticket (see the module docstring).
    """
    day = local_day(moment_utc)
    counter = _lock_day(connection, day)
    prefix = f"CS{day}"
    stored = connection.execute(
        select(func.max(tickets.c.ticket_number)).where(tickets.c.ticket_number.like(f"{prefix}%"))
    ).scalar()
    sequence = max(counter, int(stored[len(prefix) :]) if stored else 0) + 1
    if sequence > MAX_DAILY_SEQUENCE:
        raise TicketNumberError(f"All {MAX_DAILY_SEQUENCE:,} ticket numbers of {day} are used.")
    connection.execute(
        ticket_number_days.update().where(ticket_number_days.c.day == day).values(last_sequence=sequence)
    )
    return f"{prefix}{sequence:04d}"
