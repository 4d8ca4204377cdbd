"""SQL expressions whose spelling differs between SQLite and PostgreSQL.

Each is a SQLAlchemy construct compiled per dialect, so analytics code writes
``period_start(orders.c.order_date, "month")`` once and gets the same text labels
('2025-03-01') from both engines. Datetimes are stored as naive UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

__all__ = [
    "GRAINS",
    "Grain",
    "correlated_aggregates",
    "day_of_week",
    "days_between",
    "folded_like",
    "hour_of_day",
    "month_of_year",
    "percentile",
    "period_start",
    "register_sqlite_functions",
    "sqlite_to_local",
    "to_local",
    "unindexed",
]

Grain = Literal["day", "week", "month", "quarter", "year"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month", "quarter", "year")


class period_start(FunctionElement[str]):  # noqa: N801 - reads as a SQL function
    """First day of the day/week (Monday)/month/quarter/year containing a datetime, as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], grain: Grain) -> None:
        if grain not in GRAINS:
            raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
        self.grain = grain
        super().__init__(column)

    # The grain is part of the SQL text, so it must be part of the statement cache key.
    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> tuple[Any, ...]:
        return (*super()._gen_cache_key(anon_map, bindparams), self.grain)


@compiles(period_start, "sqlite")
def _period_start_sqlite(element: period_start, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    if element.grain == "day":
        return f"date({column})"
    if element.grain == "week":
        # 'weekday 0' moves forward to Sunday (or stays), -6 days lands on that week's Monday.
        return f"date({column}, 'weekday 0', '-6 days')"
    if element.grain == "month":
        return f"strftime('%Y-%m-01', {column})"
    if element.grain == "quarter":
        return (
            f"(strftime('%Y-', {column}) || printf('%02d', "
            f"((CAST(strftime('%m', {column}) AS INTEGER) - 1) / 3) * 3 + 1) || '-01')"
        )
    return f"strftime('%Y-01-01', {column})"


@compiles(period_start, "postgresql")
def _period_start_postgresql(element: period_start, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"to_char(date_trunc('{element.grain}', {column}), 'YYYY-MM-DD')"


class to_local(FunctionElement[datetime]):  # noqa: N801
    """A stored UTC datetime shown in the app's time zone, with the zone's full rules (daylight saving
    included) on both engines.

    PostgreSQL converts with ``AT TIME ZONE``. SQLite has no time-zone database, so it calls
    ``crm_to_local``, a deterministic Python function (``zoneinfo``) that ``crm.db`` registers on
    every SQLite connection (``register_sqlite_functions``).
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], timezone_name: str) -> None:
        ZoneInfo(timezone_name)  # fail early on a misspelt zone
        self.timezone_name = timezone_name
        self.type = column.type
        super().__init__(column)

    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> tuple[Any, ...]:
        return (*super()._gen_cache_key(anon_map, bindparams), self.timezone_name)


SQLITE_TO_LOCAL = "crm_to_local"
_UTC = ZoneInfo("UTC")
# Per zone: UTC 'YYYY-MM-DD HH' → local 'YYYY-MM-DD HH' for hours the zone shifts by whole hours
# and that hold no offset change. Offsets change at most a few times a year, so one lookup per
# hour of data replaces the date arithmetic of every row (a 1M-order month grouping stays fast).
_LOCAL_HOURS: dict[str, dict[str, str]] = {}


def _local_text(moment: datetime, zone: ZoneInfo) -> str:
    return moment.replace(tzinfo=_UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def sqlite_to_local(stored: str | None, timezone_name: str) -> str | None:
    """A stored naive-UTC datetime text ('YYYY-MM-DD HH:MM:SS[.ffffff]') as local 'YYYY-MM-DD HH:MM:SS'.

    The SQLite implementation of ``to_local``: exact for every instant, daylight saving included.
    """
    if stored is None:
        return None
    hours = _LOCAL_HOURS.setdefault(timezone_name, {})
    utc_hour = stored[:13]
    local_hour = hours.get(utc_hour)
    if local_hour is not None:
        return local_hour + stored[13:19]
    zone = ZoneInfo(timezone_name)
    moment = datetime.fromisoformat(stored)
    hour_start = moment.replace(minute=0, second=0, microsecond=0)
    start_offset = hour_start.replace(tzinfo=_UTC).astimezone(zone).utcoffset()
    end_offset = (hour_start + timedelta(minutes=59, seconds=59)).replace(tzinfo=_UTC).astimezone(zone).utcoffset()
    if start_offset == end_offset and start_offset is not None and start_offset % timedelta(hours=1) == timedelta(0):
        hours[utc_hour] = _local_text(hour_start, zone)[:13]
    return _local_text(moment, zone)


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Register the Python functions ``crm.dialect`` compiles to on a new SQLite connection."""
    dbapi_connection.create_function(SQLITE_TO_LOCAL, 2, sqlite_to_local, deterministic=True)
    dbapi_connection.create_function(SQLITE_CASEFOLD, 1, _casefold, deterministic=True)
    dbapi_connection.create_aggregate(SQLITE_PERCENTILE, 2, _Percentile)


@compiles(to_local, "sqlite")
def _to_local_sqlite(element: to_local, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    if element.timezone_name == "UTC":
        return column
    zone = element.timezone_name.replace("'", "")
    return f"{SQLITE_TO_LOCAL}({column}, '{zone}')"


@compiles(to_local, "postgresql")
def _to_local_postgresql(element: to_local, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    if element.timezone_name == "UTC":
        return column
    zone = element.timezone_name.replace("'", "")
    return f"(({column}) AT TIME ZONE 'UTC' AT TIME ZONE '{zone}')"


class day_of_week(FunctionElement[int]):  # noqa: N801
    """0 = Monday … 6 = Sunday (ISO order) on both engines."""

    type = Integer()
    inherit_cache = True


@compiles(day_of_week, "sqlite")
def _dow_sqlite(element: day_of_week, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7)"


@compiles(day_of_week, "postgresql")
def _dow_postgresql(element: day_of_week, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(EXTRACT(ISODOW FROM {column}) AS INTEGER) - 1)"


class hour_of_day(FunctionElement[int]):  # noqa: N801
    """Hour 0–23 of a datetime."""

    type = Integer()
    inherit_cache = True


@compiles(hour_of_day, "sqlite")
def _hour_sqlite(element: hour_of_day, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%H', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(hour_of_day, "postgresql")
def _hour_postgresql(element: hour_of_day, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(HOUR FROM {compiler.process(element.clauses, **kw)}) AS INTEGER)"


class month_of_year(FunctionElement[int]):  # noqa: N801
    """Month 1–12 of a datetime."""

    type = Integer()
    inherit_cache = True


@compiles(month_of_year, "sqlite")
def _month_sqlite(element: month_of_year, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%m', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(month_of_year, "postgresql")
def _month_postgresql(element: month_of_year, compiler: Any, **kw: Any) -> str:
    return f"CAST(EXTRACT(MONTH FROM {compiler.process(element.clauses, **kw)}) AS INTEGER)"


class days_between(FunctionElement[float]):  # noqa: N801
    """Fractional days from the first datetime to the second (later minus earlier)."""

    type = Float()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@compiles(days_between, "postgresql")
def _days_postgresql(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"


class epoch_day(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    """Days from 1970-01-01 to the calendar day of a datetime (an integer on both engines)."""

    type = Integer()
    inherit_cache = True


@compiles(epoch_day, "sqlite")
def _epoch_day_sqlite(element: epoch_day, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # julianday of a date is at midnight (x.5); 2440587.5 is 1970-01-01, so the difference is whole.
    return f"CAST(julianday(date({column})) - 2440587.5 AS INTEGER)"


@compiles(epoch_day, "postgresql")
def _epoch_day_postgresql(element: epoch_day, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(CAST({column} AS DATE) - DATE '1970-01-01')"


class month_number(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    """year × 12 + month of a datetime."""

    type = Integer()
    inherit_cache = True


@compiles(month_number, "sqlite")
def _month_number_sqlite(element: month_number, compiler: Any, **kw: Any) -> str:
    # Stored datetimes are ISO text ('YYYY-MM-DD HH:MM:SS'); slicing it is ~3× faster than strftime.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(substr({column}, 1, 4) AS INTEGER) * 12 + CAST(substr({column}, 6, 2) AS INTEGER))"


@compiles(month_number, "postgresql")
def _month_number_postgresql(element: month_number, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(EXTRACT(YEAR FROM {column}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM {column}) AS INTEGER))"


SQLITE_CASEFOLD = "crm_casefold"


def _casefold(text: Any) -> Any:
    return text.casefold() if isinstance(text, str) else text


class folded_like(FunctionElement[bool]):  # noqa: N801 - reads as a SQL operator
    """``column LIKE pattern`` ignoring case for every alphabet, ``\\`` escaping ``%`` and ``_`` in it.

    PostgreSQL: ``ILIKE`` (its case rules come from the database's locale). SQLite's own LIKE
    folds ASCII only ("élodie" would not find "Élodie"), so for a pattern with other letters both
    sides go through ``crm_casefold``, Python's ``str.casefold`` registered on every connection.
    An all-ASCII pattern keeps SQLite's built-in LIKE, about twice as fast, which misses only
    casefold's expansions ("strasse" does not find "Straße", as on PostgreSQL).
    """

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        self.ascii_only = pattern.isascii()
        super().__init__(column, pattern)

    # The SQL text depends on the pattern's alphabet, so that is part of the statement cache key.
    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> tuple[Any, ...]:
        return (*super()._gen_cache_key(anon_map, bindparams), self.ascii_only)


@compiles(folded_like, "sqlite")
def _folded_like_sqlite(element: folded_like, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    if element.ascii_only:
        return f"({column} LIKE {pattern} ESCAPE '\\')"
    return f"({SQLITE_CASEFOLD}({column}) LIKE {SQLITE_CASEFOLD}({pattern}) ESCAPE '\\')"


@compiles(folded_like, "postgresql")
def _folded_like_postgresql(element: folded_like, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({column} ILIKE {pattern} ESCAPE '\\')"


class unindexed(FunctionElement[Any]):  # noqa: N801 - reads as a SQL operator
    """A column SQLite's planner must not pick an index for (``+column``); PostgreSQL: the column itself.

    The per-customer order aggregate of segments filters ``orders.status``: SQLite would search the
    status index and sort all counted orders by customer; with the status index ruled out it scans
    the covering index ``ix_orders_customer_behaviour`` already in customer order (about 2× faster).
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.type = column.type
        super().__init__(column)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return f"(+{compiler.process(element.clauses, **kw)})"


@compiles(unindexed, "postgresql")
def _unindexed_postgresql(element: unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def correlated_aggregates(dialect_name: str) -> bool:
    """Whether per-customer order aggregates are best written as correlated subqueries on this engine.

    SQLite evaluates a correlated scalar subquery only for the rows that reach it (after the cheaper
    conditions), each one seek into ``ix_orders_customer_behaviour``; joining a GROUP BY over every
    order would first aggregate all of them. PostgreSQL hash-aggregates all orders faster than it runs
    a sub-plan per customer, so there the aggregate is joined.
    """
    return dialect_name == "sqlite"


SQLITE_PERCENTILE = "crm_percentile"


class _Percentile:
    """SQLite aggregate ``crm_percentile(value, fraction)``: PostgreSQL's ``percentile_cont`` (linear
    interpolation between the two nearest ranks), NULL values skipped, NULL for no values."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        position = self.fraction * (len(ordered) - 1)
        below = int(position)
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


class percentile(FunctionElement[float]):  # noqa: N801 - reads as a SQL aggregate
    """The continuous percentile (0 ≤ fraction ≤ 1) of a column's non-NULL values, an aggregate.

    PostgreSQL: ``percentile_cont(f) WITHIN GROUP (ORDER BY column)``. SQLite has no percentile
    function; ``crm_percentile`` is a Python aggregate registered on every connection that
    interpolates the same way. It sorts the group's values in memory: fine for tickets (tens of
    thousands at the largest demo), not meant for millions of rows.
    """

    type = Float()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], fraction: float) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction!r}")
        self.fraction = float(fraction)
        super().__init__(column)

    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> tuple[Any, ...]:
        return (*super()._gen_cache_key(anon_map, bindparams), self.fraction)


@compiles(percentile, "sqlite")
def _percentile_sqlite(element: percentile, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"{SQLITE_PERCENTILE}({column}, {element.fraction!r})"


@compiles(percentile, "postgresql")
def _percentile_postgresql(element: percentile, compiler: Any, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"percentile_cont({element.fraction!r}) WITHIN GROUP (ORDER BY {column})"
