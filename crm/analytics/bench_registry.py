"""Every bench case of ``python -m crm bench``: the core analytics cases plus each domain's own module.

A domain (segments, service, loyalty, visits) keeps its cases in ``crm/analytics/benchmarks_<domain>.py``
with a ``CASES`` list of ``crm.analytics.benchmarks.AnalyticsCase``, and adds its module to
``DOMAIN_CASE_MODULES`` (one line each, so domains merge cleanly).
"""

from __future__ import annotations

import importlib

from crm.analytics.benchmarks import CASES as CORE_CASES
from crm.analytics.benchmarks import AnalyticsCase

__all__ = ["DOMAIN_CASE_MODULES", "all_cases"]

DOMAIN_CASE_MODULES: tuple[str, ...] = (
    "crm.analytics.benchmarks_segments",
    "crm.analytics.benchmarks_service",
    "crm.analytics.benchmarks_visits",
    "crm.analytics.benchmarks_loyalty",
    "crm.analytics.benchmarks_shared",
)


def all_cases() -> list[AnalyticsCase]:
    """The core cases, then each domain module's, in the order listed."""
    cases = list(CORE_CASES)
    for module_name in DOMAIN_CASE_MODULES:
        cases.extend(importlib.import_module(module_name).CASES)
    return cases
