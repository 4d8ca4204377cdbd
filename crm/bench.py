"""``python -m crm bench``: the performance budget of DESIGN.md, measured and printed as a table.

For each engine (SQLite file, PostgreSQL) it loads the demo shop at the chosen scale
(default 100k customers / 1M orders), then times every analytics function against one
hand-written SQL query for the same numbers and against a load-everything-into-pandas
baseline, the CLV fit and the import. Each phase runs in its own process so its peak
memory (max RSS) is its own.

Targets: analytics ≤ 1 s on PostgreSQL / ≤ 2 s on SQLite, ≤ 1.5× the hand SQL, ≥ 10×
faster than pandas; demo ≤ 60 s for 1M orders; CLV ≤ 10 s for 100k customers;
import ≥ 20k rows/s; peak memory ≤ 1 GB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

__all__ = ["BenchRow", "register", "run_bench"]

ANALYTICS_LIMIT_SECONDS = {"sqlite": 2.0, "postgresql": 1.0}
HAND_SQL_RATIO_LIMIT = 1.5
PANDAS_SPEEDUP_MIN = 10.0
DEMO_LIMIT_SECONDS = 60.0
CLV_LIMIT_SECONDS = 10.0
IMPORT_MIN_ROWS_PER_SECOND = 20_000
PEAK_MEMORY_LIMIT_MB = 1024
# Each timing is the best of this many runs (the first run also warms the database cache).
REPEATS = 3


@dataclass
class BenchRow:
    engine: str
    step: str
    value: float
    unit: str
    target: str
    passed: bool
    peak_mb: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _best_of(function: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


# --- phases (each runs in a child process) ------------------------------------------------
def _phase_demo(url: str, customers: int, orders: int) -> dict[str, Any]:
    from crm.db import init_database, make_engine
    from crm.demo import DemoSize, generate_demo

    engine = make_engine(url)
    init_database(engine)
    summary = generate_demo(engine, DemoSize(customers=customers, orders=orders), seed=7, replace=True)
    return {"seconds": summary.seconds, "rows": summary.rows, "peak_mb": _peak_mb()}


def _phase_analytics(url: str) -> dict[str, Any]:
    from crm.analytics.bench_registry import all_cases
    from crm.analytics.benchmarks import bench_filter_passes
    from crm.db import make_engine

    cases = all_cases()
    engine = make_engine(url)
    results = []
    # Two passes (crm.analytics.benchmarks): no filters, then typical sidebar filters (period, source, ages),
    # so the period conditions, the orders ⋈ customers join and the cohorts' first-order window are timed.
    for pass_name, filters in bench_filter_passes(engine):
        for case in cases:
            function_seconds = _best_of(lambda case=case, filters=filters: case.run(engine, filters))

            def hand(case: Any = case, filters: Any = filters) -> object:
                with engine.connect() as connection:
                    return case.hand_sql(connection, filters)

            results.append(
                {"pass": pass_name, "name": case.name, "seconds": function_seconds, "hand_seconds": _best_of(hand)}
            )
    return {"cases": results, "peak_mb": _peak_mb()}


def _phase_pandas(url: str) -> dict[str, Any]:
    from crm.analytics.bench_registry import all_cases
    from crm.analytics.benchmarks import bench_filter_passes
    from crm.db import make_engine

    cases = all_cases()
    engine = make_engine(url)
    timings = {
        f"{pass_name}: {case.name}": _best_of(
            lambda case=case, filters=filters: case.pandas_baseline(engine, filters), 1
        )
        for pass_name, filters in bench_filter_passes(engine)
        for case in cases
    }
    return {"timings": timings, "peak_mb": _peak_mb()}


def _analytics_step(pass_name: str, case_name: str) -> str:
    return f"analytics: {case_name}" if pass_name == "no filters" else f"analytics [{pass_name}]: {case_name}"


def _phase_clv(url: str, model: str = "bgnbd") -> dict[str, Any]:
    from crm.analytics.clv import benchmark_clv
    from crm.db import make_engine

    result = benchmark_clv(make_engine(url), model=model)  # type: ignore[arg-type]
    return {"result": result, "peak_mb": _peak_mb()}


def _phase_import(url: str) -> dict[str, Any]:
    from crm.db import init_database, make_engine
    from crm.imports.benchmark import benchmark_import

    engine = make_engine(url)
    init_database(engine)
    result = benchmark_import(engine, rows=100_000)
    return {"result": result, "peak_mb": _peak_mb()}


def _phase_listing(url: str) -> dict[str, Any]:
    from crm.db import make_engine
    from crm.records.benchmark import benchmark_listing

    return {"cases": benchmark_listing(make_engine(url)), "peak_mb": _peak_mb()}


def _listing_rows(engine_name: str, url: str) -> list[BenchRow]:
    """The record grids' listing queries (crm.records.benchmark), one row each."""
    from crm.records.benchmark import LISTING_LIMIT_SECONDS

    listing = _in_child(_phase_listing, url)
    if not listing["ok"]:
        return [
            BenchRow(engine_name, "records listing", float("nan"), "s", "ran", False, notes={"error": listing["error"]})
        ]
    return [
        BenchRow(
            engine_name,
            f"records: {case['name']}",
            float(case["seconds"]),
            "s",
            f"≤ {LISTING_LIMIT_SECONDS:.0f} s",
            bool(case["passed"]),
            listing["peak_mb"],
            notes={"matching_rows": case["rows"]},
        )
        for case in listing["cases"]
    ]


def _child(target: Callable[..., dict[str, Any]], args: tuple[Any, ...], queue: Any) -> None:
    try:
        queue.put({"ok": True, **target(*args)})
    except Exception as error:  # reported in the table, the bench goes on with the next phase
        queue.put({"ok": False, "error": f"{type(error).__name__}: {error}"})


def _in_child(target: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


# --- orchestration ------------------------------------------------------------------------
def _engine_rows(
    engine_name: str, url: str, customers: int, orders: int, import_url: str, pages: bool = False
) -> list[BenchRow]:
    rows: list[BenchRow] = []
    demo = _in_child(_phase_demo, url, customers, orders)
    if not demo["ok"]:
        return [BenchRow(engine_name, "demo data", float("nan"), "s", "ran", False, notes={"error": demo["error"]})]
    demo_limit = DEMO_LIMIT_SECONDS * max(orders, 1) / 1_000_000
    rows.append(
        BenchRow(
            engine_name,
            f"demo {customers:,} customers / {orders:,} orders",
            demo["seconds"],
            "s",
            f"≤ {demo_limit:.0f} s",
            demo["seconds"] <= demo_limit,
            demo["peak_mb"],
        )
    )
    analytics = _in_child(_phase_analytics, url)
    pandas_result = _in_child(_phase_pandas, url)
    if not analytics["ok"]:
        rows.append(
            BenchRow(engine_name, "analytics", float("nan"), "s", "ran", False, notes={"error": analytics["error"]})
        )
    else:
        limit = ANALYTICS_LIMIT_SECONDS[engine_name]
        pandas_timings = pandas_result.get("timings", {}) if pandas_result["ok"] else {}
        for case in analytics["cases"]:
            hand_ratio = case["seconds"] / case["hand_seconds"] if case["hand_seconds"] > 0 else float("inf")
            pandas_seconds = pandas_timings.get(f"{case['pass']}: {case['name']}")
            speedup = pandas_seconds / case["seconds"] if pandas_seconds and case["seconds"] > 0 else None
            passed = (
                case["seconds"] <= limit
                and hand_ratio <= HAND_SQL_RATIO_LIMIT
                and (speedup is None or speedup >= PANDAS_SPEEDUP_MIN)
            )
            rows.append(
                BenchRow(
                    engine_name,
                    _analytics_step(case["pass"], case["name"]),
                    case["seconds"],
                    "s",
                    f"≤ {limit:.0f} s, ≤ {HAND_SQL_RATIO_LIMIT}× SQL, ≥ {PANDAS_SPEEDUP_MIN:.0f}× pandas",
                    passed,
                    analytics["peak_mb"],
                    notes={
                        "hand_sql_s": round(case["hand_seconds"], 4),
                        "vs_hand_sql": round(hand_ratio, 2),
                        "pandas_s": None if pandas_seconds is None else round(pandas_seconds, 3),
                        "vs_pandas": None if speedup is None else round(speedup, 1),
                    },
                )
            )
        if not pandas_result["ok"]:
            rows.append(
                BenchRow(
                    engine_name,
                    "pandas baseline",
                    float("nan"),
                    "s",
                    "ran",
                    False,
                    notes={"error": pandas_result["error"]},
                )
            )
    for clv_model, clv_name in (("bgnbd", "CLV fit + score"), ("pareto", "CLV fit + score (Pareto/NBD)")):
        clv = _in_child(_phase_clv, url, clv_model)
        if clv["ok"]:
            total = float(
                clv["result"].get(
                    "total_seconds", sum(v for v in clv["result"].values() if isinstance(v, (int, float)))
                )
            )
            rows.append(
                BenchRow(
                    engine_name,
                    clv_name,
                    total,
                    "s",
                    f"≤ {CLV_LIMIT_SECONDS:.0f} s",
                    total <= CLV_LIMIT_SECONDS,
                    clv["peak_mb"],
                    notes=clv["result"],
                )
            )
        else:
            rows.append(BenchRow(engine_name, clv_name, float("nan"), "s", "ran", False, notes={"error": clv["error"]}))
    rows += _listing_rows(engine_name, url)
    if pages:  # every analytics page in chromium, cold and warm (crm/bench_pages.py)
        from crm.bench_pages import page_rows

        rows += page_rows(engine_name, url)
    imported = _in_child(_phase_import, import_url)
    if imported["ok"]:
        rate = float(imported["result"]["rows_per_second"])
        rows.append(
            BenchRow(
                engine_name,
                "import 100k customer rows",
                rate,
                "rows/s",
                f"≥ {IMPORT_MIN_ROWS_PER_SECOND:,}",
                rate >= IMPORT_MIN_ROWS_PER_SECOND,
                imported["peak_mb"],
                notes=imported["result"],
            )
        )
    else:
        rows.append(
            BenchRow(
                engine_name,
                "import 100k customer rows",
                float("nan"),
                "rows/s",
                "ran",
                False,
                notes={"error": imported["error"]},
            )
        )
    for row in rows:
        if row.peak_mb is not None and row.peak_mb > PEAK_MEMORY_LIMIT_MB:
            row.passed = False
            row.notes["memory"] = f"peak {row.peak_mb:.0f} MB > {PEAK_MEMORY_LIMIT_MB} MB"
    return rows


def _start_throwaway_postgres() -> tuple[str, str] | None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "throwaway_postgres.sh"
    completed = subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        print(f"PostgreSQL not benchmarked: {completed.stderr.strip() or 'could not start'}", file=sys.stderr)
        return None
    values = dict(line.removeprefix("export ").split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    return values["CRM_TEST_POSTGRES_URL"].strip("'"), values["PG_TMPDIR"]


def _postgres_database(base_url: str, name: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from crm.db import make_engine

    admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def run_bench(
    customers: int, orders: int, engines: list[str], postgres_url: str | None, pages: bool = False
) -> list[BenchRow]:
    rows: list[BenchRow] = []
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        if "sqlite" in engines:
            rows += _engine_rows(
                "sqlite", f"sqlite:///{folder}/bench.db", customers, orders, f"sqlite:///{folder}/import.db", pages
            )
        if "postgresql" in engines:
            started = None
            if not postgres_url:
                started = _start_throwaway_postgres()
                postgres_url = started[0] if started else None
            if postgres_url:
                try:
                    rows += _engine_rows(
                        "postgresql",
                        _postgres_database(postgres_url, "crm_bench"),
                        customers,
                        orders,
                        _postgres_database(postgres_url, "crm_bench_import"),
                        pages,
                    )
                finally:
                    if started:
                        script = Path(__file__).resolve().parent.parent / "scripts" / "throwaway_postgres.sh"
                        subprocess.run(["bash", str(script), "stop", started[1]], check=False)
            else:
                rows.append(
                    BenchRow(
                        "postgresql", "all", float("nan"), "", "ran", False, notes={"error": "no PostgreSQL available"}
                    )
                )
    return rows


def _table_lines(rows: list[BenchRow]) -> list[str]:
    """The bench table, columns as wide as their longest entry (long step names stay aligned)."""
    cells = [
        (
            row.engine,
            row.step,
            f"{row.value:,.3f}" if row.unit == "s" else f"{row.value:,.0f}",
            row.unit,
            "" if row.peak_mb is None else f"{row.peak_mb:,.0f}",
            "yes" if row.passed else "NO",
            row.target,
            ", ".join(f"{key}={value}" for key, value in row.notes.items() if key != "rows"),
        )
        for row in rows
    ]
    titles = ("engine", "step", "value", "unit", "peak MB", "ok", "target", "notes")
    widths = [max(len(title), *(len(cell[index]) for cell in cells)) for index, title in enumerate(titles)]
    right_aligned = {2, 4}  # value, peak MB

    def line(values: tuple[str, ...]) -> str:
        parts = [
            value.rjust(width) if index in right_aligned else value.ljust(width)
            for index, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    header = line(titles)
    return [header, "-" * len(header), *(line(cell) for cell in cells)]


def _print_table(rows: list[BenchRow]) -> None:
    for text_line in _table_lines(rows):
        print(text_line)


def _bench(args: argparse.Namespace, _engine: Engine) -> int:
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    rows = run_bench(
        args.customers,
        args.orders,
        engines,
        args.postgres_url or os.environ.get("CRM_BENCH_POSTGRES_URL"),
        pages=args.pages,
    )
    _print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(row) for row in rows], indent=2, default=str))
    failed = [row for row in rows if not row.passed]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} targets met.")
    return 0 if not failed or not args.strict else 1


def register(commands: Any, handlers: dict[str, Any]) -> None:
    parser = commands.add_parser("bench", help="measure the performance budget (prints a table)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--postgres-url", help="server to use (default: start a throwaway PostgreSQL 15)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--pages", action="store_true", help="also time every analytics page in chromium, cold and warm"
    )
    handlers["bench"] = _bench
