"""Customers' birthdays on the app's local days, and a birthday segment for a campaign.

A birthday is the month and day of ``customers.birth_date``; one on 29 February is
celebrated on 28 February in years without a 29th. Lists are filtered by month in SQL
(the months the days cover) and by day in Python, so both engines agree.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from crm.dialect import month_of_year
from crm.filters import Filters
from crm.schema import customers

__all__ = ["birthdays_between"]


def _birthday_in(year: int, born: date) -> date:
    """The day ``born``'s birthday falls on in ``year`` (29 Feb → 28 Feb in common years)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def birthdays_between(engine: Engine, first_day: date, last_day: date, filters: Filters | None = None) -> pd.DataFrame:
    """Customers whose birthday falls between the two local days (inclusive), soonest first.

    Columns: customer_id, customer (name, else company or email), email, phone, birth_date,
    birthday (the day in that range), turning (age on that day). ``filters``' customer
    attributes and brand rule apply (the Overview's sidebar); its period does not.
    """
    days = [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]
    months = sorted({day.month for day in days})
    name = func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))
    statement = select(
        customers.c.id.label("customer_id"),
        func.coalesce(func.nullif(name, ""), customers.c.company, customers.c.email).label("customer"),
        customers.c.email,
        customers.c.phone,
        customers.c.birth_date,
    ).where(customers.c.birth_date.is_not(None), month_of_year(customers.c.birth_date).in_(months))
    if filters is not None:
        statement = statement.where(*filters.customer_count_clauses(customers))
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    wanted = set(days)
    records = []
    for row in rows:
        born = row.birth_date if isinstance(row.birth_date, date) else date.fromisoformat(str(row.birth_date))
        for year in sorted({day.year for day in days}):
            birthday = _birthday_in(year, born)
            if birthday in wanted:
                records.append(
                    {
                        "customer_id": row.customer_id,
                        "customer": row.customer,
                        "email": row.email,
                        "phone": row.phone,
                        "birth_date": born,
                        "birthday": birthday,
                        "turning": birthday.year - born.year,
                    }
                )
    columns = ["customer_id", "customer", "email", "phone", "birth_date", "birthday", "turning"]
    frame = pd.DataFrame(records, columns=columns)
    return frame.sort_values(["birthday", "customer_id"], ignore_index=True)
