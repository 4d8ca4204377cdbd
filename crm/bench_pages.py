"""``python -m crm bench --pages``: every analytics page timed in a real browser, cold and warm.

A ``streamlit run`` server is started on the bench database, and chromium (Playwright,
/usr/bin/chromium) opens each analytics page signed in as a bench administrator. The time is
from navigation to a still page: Streamlit's own run state, the ``data-test-script-state``
attribute of ``stApp``, reads ``notRunning`` (the browser tests wait on the same signal).

* cold: right after the data version was bumped (as any write does, crm/data_version.py): every
  cached result and the stored CLV fit are stale, so the page computes everything;
* warm: the same page opened again (served from the cache).

Each is the median of PAGE_REPEATS visits. Targets (issue 16): ≤ 2 s cold, ≤ 0.5 s warm.
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PAGES", "page_rows"]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# (address, name, page title) of the analytics pages, in menu order.
PAGES = (
    ("overview", "Overview", "Overview"),
    ("revenue", "Revenue", "Revenue & transactions"),
    ("behavior", "Behaviour", "Purchase behaviour"),
    ("segmentation", "Segmentation", "Segmentation"),
    ("cohorts", "Cohorts", "Cohorts"),
    ("clv", "Lifetime value", "Customer lifetime value"),
)
# A page outside analytics, visited between two measurements (a click on the current page's own link
# may not start a run at all).
NEUTRAL_PAGE = ("customers", "Customers")
PAGE_REPEATS = 3
COLD_LIMIT_SECONDS = 2.0
WARM_LIMIT_SECONDS = 0.5
STARTUP_SECONDS = 180
PAGE_TIMEOUT_MILLISECONDS = 600_000
BENCH_USER = "bench-admin"
# True once the page titled ``title`` has finished its script run: Streamlit's run state on the app root
# says so, and the page has drawn its title (before the first run the state is already "notRunning").
_DRAWN = """(title) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const heading = document.querySelector('h1');
  return app !== null && heading !== null && heading.textContent.trim().startsWith(title)
    && ['notRunning', 'compilationError'].includes(app.getAttribute('data-test-script-state'));
}"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(database_url: str, cookie_key: str) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_COOKIE_KEY": cookie_key}
    environment.pop("CRM_DATABASE_READ_URL", None)
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "streamlit", "run", "Home.py"),
                *("--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true"),
                *("--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"),
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start: {log.read()[-2000:].decode(errors='replace')}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


def _session_token(database_url: str, cookie_key: str) -> str:
    from crm.auth import active_actor, create_user, start_session
    from crm.db import make_engine
    from crm.permissions import Actor

    engine = make_engine(database_url)
    try:
        if active_actor(engine, BENCH_USER) is None:
            create_user(engine, Actor.system(), BENCH_USER, secrets.token_urlsafe(24), "admin")
        return start_session(engine, BENCH_USER, cookie_key)
    finally:
        engine.dispose()


def _bump_data_version(database_url: str) -> None:
    from crm.data_version import mark_data_changed
    from crm.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            mark_data_changed(connection)
    finally:
        engine.dispose()


def _open(page: Any, address: str, title: str) -> float:
    """Seconds from a click on the page's menu link until the page's script run has finished."""
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{address}"]')
    started = time.perf_counter()
    link.click()
    page.wait_for_function(_DRAWN, arg=title, timeout=PAGE_TIMEOUT_MILLISECONDS, polling=20)
    return time.perf_counter() - started


def page_timings(database_url: str) -> dict[str, dict[str, float]]:
    """{page name: {"cold": s, "warm": s}} for every analytics page (medians of PAGE_REPEATS)."""
    from playwright.sync_api import sync_playwright

    from crm.ui.login import SESSION_COOKIE

    cookie_key = secrets.token_urlsafe(32)
    token = _session_token(database_url, cookie_key)
    results: dict[str, dict[str, float]] = {}
    with _server(database_url, cookie_key) as app_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": app_url}])
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MILLISECONDS)
        # Sign-in by cookie, server warm-up (imports, first st.navigation, the engine) and the menu.
        page.goto(f"{app_url}/{NEUTRAL_PAGE[0]}")
        page.wait_for_function(_DRAWN, arg=NEUTRAL_PAGE[1], timeout=PAGE_TIMEOUT_MILLISECONDS)
        for address, name, title in PAGES:
            cold, warm = [], []
            for _ in range(PAGE_REPEATS):
                _bump_data_version(database_url)
                _open(page, *NEUTRAL_PAGE)
                cold.append(_open(page, address, title))
                _open(page, *NEUTRAL_PAGE)
                warm.append(_open(page, address, title))
            results[name] = {"cold": statistics.median(cold), "warm": statistics.median(warm)}
        browser.close()
    return results


def page_rows(engine_name: str, database_url: str) -> list[Any]:
    """Bench rows (``crm.bench.BenchRow``) for every analytics page, cold and warm."""
    from crm.bench import BenchRow

    if not CHROMIUM.exists():
        return [BenchRow(engine_name, "pages", float("nan"), "s", "ran", False, notes={"error": f"no {CHROMIUM}"})]
    try:
        timings = page_timings(database_url)
    except Exception as error:  # a page pass that cannot run is one failed row, not a lost bench
        return [BenchRow(engine_name, "pages", float("nan"), "s", "ran", False, notes={"error": str(error)[:300]})]
    rows = []
    for name, measured in timings.items():
        for state, limit in (("cold", COLD_LIMIT_SECONDS), ("warm", WARM_LIMIT_SECONDS)):
            rows.append(
                BenchRow(
                    engine_name,
                    f"page {name} ({state})",
                    measured[state],
                    "s",
                    f"≤ {limit} s (median of {PAGE_REPEATS})",
                    measured[state] <= limit,
                )
            )
    return rows
