"""Import speed for ``python -m crm bench``: a generated customers CSV through ``run_import``."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from crm.imports.core import run_import
from crm.permissions import Actor

__all__ = ["benchmark_import", "customers_csv"]

_FIRST = ("Ada", "Grace", "Alan", "Mina", "Jun", "Seo-yeon", "Wei", "Yuki", "Lena", "Omar")
_LAST = ("Lovelace", "Hopper", "Turing", "Kim", "Lee", "Park", "Chen", "Sato", "Müller", "Haddad")
_CITIES = ("Seoul", "Taipei", "Tokyo", "Berlin", "Lisbon", "Toronto", "Austin", "Busan")


def customers_csv(rows: int, *, seed: int = 11) -> bytes:
    """A UTF-8 customers file of ``rows`` distinct people (unique emails/phones), with typical blanks."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, rows + 1)
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, rows), unit="D")
    frame = pd.DataFrame(
        {
            "Customer ID": [f"B{i:08d}" for i in ids],
            "First Name": np.array(_FIRST)[rng.integers(0, len(_FIRST), rows)],
            "Last Name": np.array(_LAST)[rng.integers(0, len(_LAST), rows)],
            "Email": [f"user{i}@example.com" for i in ids],
            "Phone": [f"+1 555 {i:07d}" for i in ids],
            "City": np.array(_CITIES)[rng.integers(0, len(_CITIES), rows)],
            "Birth Date": np.where(rng.random(rows) < 0.8, birth.strftime("%Y-%m-%d"), ""),
            "Gender": np.array(["F", "M", "", "female", "male"])[rng.integers(0, 5, rows)],
            "Source": np.array(["website", "referral", "store"])[rng.integers(0, 3, rows)],
            "Notes": np.where(rng.random(rows) < 0.1, "VIP", ""),
        }
    )
    return frame.to_csv(index=False).encode("utf-8")


def benchmark_import(engine: Engine, rows: int = 100_000) -> dict[str, float]:
    """Import a generated ``rows``-row customers CSV into ``engine``; rows/s counts the whole run_import."""
    data = customers_csv(rows)
    started = time.perf_counter()
    report = run_import(engine, data, entity="customers", actor=Actor.system(), file_name="bench_customers.csv")
    seconds = time.perf_counter() - started
    if report.inserted + report.skipped_duplicates != rows:
        raise RuntimeError(f"benchmark import lost rows: {report.summary()}")
    return {
        "rows": float(rows),
        "inserted": float(report.inserted),
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1),
    }
