"""The listing benchmark of ``python -m crm bench`` runs every grid case (timings belong to the bench)."""

from __future__ import annotations

from crm.records.benchmark import LISTING_CASES, benchmark_listing
from tests.fixtures.tiny_shop import TinyShop


def test_the_listing_benchmark_runs_every_case_and_counts_its_matching_rows(tiny_shop: TinyShop) -> None:
    results = benchmark_listing(tiny_shop.engine)
    assert [result["name"] for result in results] == [case.name for case in LISTING_CASES]
    # 8 orders in all; nobody is called Smith or Olivia in the tiny shop.
    assert [result["rows"] for result in results] == [8, 8, 0, 0, 8]
    assert all(isinstance(result["seconds"], float) and result["seconds"] >= 0 for result in results)
