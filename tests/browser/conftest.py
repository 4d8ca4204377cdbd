"""Real-browser fixtures: the app served by ``streamlit run`` and Debian's chromium via Playwright.

``running_app`` starts one Streamlit server per test session (per xdist worker) on a free
port of 127.0.0.1, on a temporary SQLite database filled with
``generate_demo(engine, DemoSize(300, 3000), seed=7, with_demo_accounts=True)`` (the demo accounts
admin/demo-admin, manager/demo-manager, analyst/demo-analyst, agent/demo-agent), waits
for ``/_stcore/health`` and stops the server afterwards. Tests that change data should
change only rows they created, since the server is shared by the session.

``browser`` launches /usr/bin/chromium; pytest-playwright's ``context`` and ``page``
fixtures use it, so each test gets a fresh context (no cookies) from ``page``.
``sign_in(page, username)`` signs a page in with the demo password.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from crm.db import init_database, make_engine
from crm.demo import DEMO_ACCOUNTS, DemoSize, generate_demo

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a headless chromium in a container: no sandbox (no user namespaces), no GPU, and
# nothing that phones home or updates itself during a test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
# Cold start (imports, migration check, first script compile) on a busy 2-core machine.
STARTUP_TIMEOUT_SECONDS = 120
# Playwright's default of 30 s is tight when several test runs share two cores.
PAGE_TIMEOUT_MILLISECONDS = 45_000
# Where a failed sign_in() leaves a screenshot of what the browser showed.
FAILURE_SHOTS = Path("/tmp/shots/failures")
# expect(...) assertions wait 5 s by default; a sign-in (bcrypt) plus a page run can take longer here.
EXPECT_TIMEOUT_MILLISECONDS = 30_000
expect.set_options(timeout=EXPECT_TIMEOUT_MILLISECONDS)
# True when the app has finished its script run (Streamlit's own run-state attribute on the app root).
IDLE_SCRIPT = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && ['notRunning', 'compilationError'].includes(app.getAttribute('data-test-script-state'));
}"""


@dataclass(frozen=True)
class RunningApp:
    url: str
    database_url: str
    cookie_key: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"streamlit did not become healthy in {STARTUP_TIMEOUT_SECONDS} s:\n{log_path.read_text()[-3000:]}"
    )


@pytest.fixture(scope="session")
def running_app(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[RunningApp]:
    """Pulse CRM served by ``streamlit run Home.py`` on demo data; stopped after the session.

    One visit warms the server up before tests use it (imports, first ``st.navigation``
    call): a form submitted during the very first connection after a start can be lost in
    Streamlit's switch away from pages/-folder mode, which made tests flaky. The cold start
    itself is tested with ``fresh_app``.
    """
    if shutil.which("streamlit", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("streamlit is not installed in this interpreter's environment")
    directory = tmp_path_factory.mktemp("running-app")
    database_url = f"sqlite:///{directory / 'crm.db'}"
    engine = make_engine(database_url)
    init_database(engine)
    generate_demo(engine, DemoSize(customers=300, orders=3_000), seed=7, with_demo_accounts=True)
    engine.dispose()

    with _served(database_url, directory) as app:
        _warm_up(browser, app.url)
        yield app


def _warm_up(browser: Browser, url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_role("button", name="Sign in").wait_for(timeout=PAGE_TIMEOUT_MILLISECONDS)
    finally:
        context.close()


@contextmanager
def _served(
    database_url: str, directory: Path, extra_environment: dict[str, str] | None = None
) -> Iterator[RunningApp]:
    """``streamlit run Home.py`` on ``database_url`` until the block ends (``extra_environment``: e.g. SMTP)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cookie_key = secrets.token_urlsafe(32)
    environment = {
        **os.environ,
        "CRM_DATABASE_URL": database_url,
        "CRM_COOKIE_KEY": cookie_key,
        "CRM_DEMO_MODE": "1",
        "PYTHONPATH": str(ROOT),
        **(extra_environment or {}),
    }
    log_path = directory / f"streamlit-{port}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "streamlit"),
                "run",
                "Home.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(url, server, log_path)
        yield RunningApp(url=url, database_url=database_url, cookie_key=cookie_key)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@pytest.fixture
def fresh_app(running_app: RunningApp, tmp_path: Path) -> Iterator[RunningApp]:
    """A second server on ``running_app``'s database that has served no request yet (server-start behaviour)."""
    with _served(running_app.database_url, tmp_path) as app:
        yield app


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Overrides pytest-playwright's ``browser``: Debian's chromium (not a Playwright download), headless."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (scripts/run_tests.sh installs Debian's chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Browser tests are required in CI. {message}")
        pytest.skip(message)
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """pytest-playwright's ``page`` with a longer default timeout."""
    new_page = context.new_page()
    new_page.set_default_timeout(PAGE_TIMEOUT_MILLISECONDS)
    yield new_page
    new_page.close()


def _sign_in(page: Page, app: RunningApp, username: str, password: str | None = None, path: str = "") -> None:
    """Open ``app.url/path``, fill the sign-in form and wait until the sidebar shows the user."""
    if password is None:
        password = DEMO_ACCOUNTS[username][1]
    page.goto(f"{app.url}/{path.lstrip('/')}")
    page.get_by_role("textbox", name="Username", exact=True).fill(username)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    try:
        page.get_by_text(f"Signed in as {username}").wait_for()
    except Exception:
        FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FAILURE_SHOTS / f"sign_in_{username}_{int(time.time())}.png"), full_page=True)
        raise


def wait_until_idle(page: Page, quiet_milliseconds: int = 750) -> None:
    """Wait until no script run is in progress and none started for ``quiet_milliseconds``.

    The app's run state is the ``data-test-script-state`` attribute of ``stApp`` (``running``,
    ``rerunRequested``, … and ``notRunning`` when idle); the status widget is hidden by
    ``toolbarMode = "minimal"``, so it cannot tell. A click during a rerun (a cookie component's
    extra run after sign-in, say) can be dropped by Streamlit, so tests wait for a quiet page first.
    """
    deadline = time.monotonic() + PAGE_TIMEOUT_MILLISECONDS / 1000
    while time.monotonic() < deadline:
        page.wait_for_function(IDLE_SCRIPT, timeout=PAGE_TIMEOUT_MILLISECONDS)
        page.wait_for_timeout(quiet_milliseconds)
        if page.evaluate(IDLE_SCRIPT):
            return
    raise TimeoutError("the app kept running scripts")


@pytest.fixture
def sign_in(running_app: RunningApp) -> Callable[..., None]:
    """``sign_in(page, username, password=None, path="")``: sign ``page`` in (demo password by default)."""

    def sign_in_page(page: Page, username: str, password: str | None = None, path: str = "") -> None:
        _sign_in(page, running_app, username, password, path)

    return sign_in_page
