"""Timings of the record grids' listing queries, for ``python -m crm bench``.

Each case is one grid request as the UI sends it (page of 50 rows and its total count):
the first page of orders, a deep page, a search by customer name, a customer search, and
orders sorted by the customer's name (a joined column, so the database sorts every row).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from crm.records.listing import RecordQuery, list_records

__all__ = ["LISTING_CASES", "LISTING_LIMIT_SECONDS", "ListingCase", "benchmark_listing"]

# A grid page should feel immediate: the same budget as an analytics function on PostgreSQL.
LISTING_LIMIT_SECONDS = 1.0
# Each timing is the best of this many runs (the first also warms the database cache).
REPEATS = 3


@dataclass(frozen=True)
class ListingCase:
    name: str
    entity: str
    # The query for a database of ``total`` rows of the entity (deep pages depend on it).
    query: Callable[[int], RecordQuery]


LISTING_CASES: tuple[ListingCase, ...] = (
    ListingCase("orders: first page", "orders", lambda total: RecordQuery()),
    # Half-way through the orders: OFFSET walks that many index entries.
    ListingCase("orders: deep page", "orders", lambda total: RecordQuery(page=max(1, total // 50 // 2))),
    ListingCase("orders: search by customer name", "orders", lambda total: RecordQuery(search="smith")),
    ListingCase("customers: search by name", "customers", lambda total: RecordQuery(search="olivia")),
    ListingCase("orders: sort by customer", "orders", lambda total: RecordQuery(sort_by="customer", descending=False)),
)


def _best_of(function: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def benchmark_listing(engine: Engine) -> list[dict[str, object]]:
    """Best-of-3 seconds per case: dicts with name, seconds, rows (matching rows), passed."""
    totals = {
        entity: list_records(engine, entity, RecordQuery(page_size=1)).total for entity in ("orders", "customers")
    }
    results: list[dict[str, object]] = []
    for case in LISTING_CASES:
        query = case.query(totals[case.entity])
        seconds = _best_of(lambda case=case, query=query: list_records(engine, case.entity, query))
        matching = list_records(engine, case.entity, query).total
        results.append(
            {"name": case.name, "seconds": seconds, "rows": matching, "passed": seconds <= LISTING_LIMIT_SECONDS}
        )
    return results
