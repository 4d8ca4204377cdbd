"""Run the app in Streamlit's AppTest as a signed-in user.

``app_as(db_url, username)`` returns an ``AppTest`` for Home.py pointed at ``db_url`` with
the sign-in already done the way the sign-in form leaves it: a real, revocable session row
(``crm.auth.start_session``) whose token is in session state, next to the
``authentication_status`` and ``username`` keys streamlit-authenticator sets. The role is
NOT seeded: the app reads it from the database on every run, which is exactly what the role
tests check. Pass ``username=None`` for a signed-out visitor, and ``with_session=False`` for
crafted session state without a session (which the app must refuse).

Usage::

    at = app_as(database_url, "admin")
    at.run()
    at.switch_page("pages/users.py").run()

The environment variables are set on ``os.environ`` (AppTest runs the script in this
process); every test that uses ``app_as`` sets them again, so leftovers do no harm.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from crm.auth import start_session
from crm.db import make_engine
from crm.settings import get_settings
from crm.ui.navigation import NO_ACCESS_TITLE
from crm.ui.session import SESSION_TOKEN_STATE

__all__ = [
    "HOME",
    "TEST_COOKIE_KEY",
    "FrameAppTest",
    "app_as",
    "copy_database",
    "make_demo_database",
    "shown_text",
    "start_test_session",
    "use_database",
]

HOME = Path(__file__).resolve().parents[2] / "Home.py"
# 32 random-looking characters: long enough for crm.ui.login and not a library default.
TEST_COOKIE_KEY = "apptest-key-6f1d2c9a8b7e4d3c2b1a"
# Pages query the database and build charts; the first run also migrates the schema.
DEFAULT_TIMEOUT_SECONDS = 90


@contextmanager
def _navigation_like_a_server() -> Iterator[None]:
    """Keep Home.py running as the frame on every run, as ``streamlit run`` does.

    AppTest (1.67) forgets before each run that the app uses ``st.navigation``; because a
    ``pages/`` folder exists it then runs the selected page file directly, skipping Home.py
    (no sign-in gate, no sidebar) from the second run on. A real server sets the flag to
    False at the first ``st.navigation`` call and keeps it; this restores that.
    """
    original_init = PagesManager.__init__

    def init_as_navigation_app(self: PagesManager, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    with mock.patch.object(PagesManager, "__init__", init_as_navigation_app):
        yield


class FrameAppTest(AppTest):
    """``AppTest`` that runs Home.py (sign-in gate, navigation, sidebar) on every run.

    ``switch_page`` to a page that is NOT in the user's navigation does not fail: the next
    run executes that page file on its own (same session state), as a crafted request would,
    so that the page's own permission check (``require_page_permission``) is what answers.
    (A real server answers such a URL with Home.py's "page not found"; this tests the
    second line of defence.)
    """

    _direct_page: str | None = None

    def switch_page(self, page_path: str) -> AppTest:
        try:
            super().switch_page(page_path)
        except ValueError:
            self._direct_page = str((HOME.parent / page_path).resolve())
        return self

    def navigation_titles(self) -> list[str]:
        """Titles of the menu entries ``st.navigation`` registered on the last run (menu order).

        The default page (served at ``/``, so its url_pathname is empty) is no menu entry: signed
        in it is the hidden landing page that forwards to the role's first page, signed out the
        sign-in placeholder.
        """
        # AppTest keeps the registry privately; the sidebar menu itself is not in its element tree.
        # The hidden "No access" pages at the addresses of pages the role may not open are no entries.
        return [
            str(info.get("page_name", ""))
            for info in self._registered_pages.values()
            if info.get("url_pathname") and info.get("page_name") != NO_ACCESS_TITLE
        ]

    def open_address(self, url_path: str) -> AppTest:
        """Open the page registered at ``url_path`` as a typed or bookmarked address would (then ``run``)."""
        matches = [
            page_hash for page_hash, info in self._registered_pages.items() if info.get("url_pathname") == url_path
        ]
        if not matches:
            raise ValueError(f"No page is registered at /{url_path}.")
        self._page_hash = matches[0]
        return self

    def current_page_url_path(self) -> str:
        """The address (url_path) of the page the last run showed."""
        return str(self._registered_pages.get(self._finished_page_script_hash, {}).get("url_pathname", ""))

    def _run(self, widget_state: Any = None, timeout: float | None = None) -> AppTest:
        if self._direct_page is not None:
            home, self._script_path = self._script_path, self._direct_page
            self._direct_page = None
            self._page_hash = ""
            self._finished_page_script_hash = ""
            try:
                return super()._run(widget_state, timeout)
            finally:
                self._script_path = home
        with _navigation_like_a_server():
            return super()._run(widget_state, timeout)


def shown_text(markdown_source: str) -> str:
    """What a reader sees of Markdown source whose stored parts ``crm.ui.plain`` escaped (backslashes gone)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown_source)


def use_database(db_url: str, *, demo_mode: bool = False, cookie_secure: bool = False) -> None:
    """Point the app (settings, cookie key, demo mode, CRM_COOKIE_SECURE) at ``db_url`` for the following runs."""
    os.environ["CRM_DATABASE_URL"] = db_url
    os.environ["CRM_COOKIE_KEY"] = TEST_COOKIE_KEY
    os.environ["CRM_DEMO_MODE"] = "1" if demo_mode else "0"
    os.environ["CRM_COOKIE_SECURE"] = "1" if cookie_secure else "0"
    get_settings.cache_clear()


def app_as(
    db_url: str,
    username: str | None,
    *,
    demo_mode: bool = False,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    with_session: bool = True,
    cookie_secure: bool = False,
) -> FrameAppTest:
    """An AppTest of Home.py on ``db_url`` signed in as ``username`` (None: signed out). Not yet run.

    The user must exist and be active (``crm.auth.UserError`` otherwise) unless
    ``with_session=False``, which only writes the session-state keys, as a crafted request would.
    """
    use_database(db_url, demo_mode=demo_mode, cookie_secure=cookie_secure)
    app = FrameAppTest(str(HOME), default_timeout=timeout)
    if username is not None:
        app.session_state["authentication_status"] = True
        app.session_state["username"] = username
        if with_session:
            app.session_state[SESSION_TOKEN_STATE] = start_test_session(db_url, username)
    return app


def start_test_session(db_url: str, username: str) -> str:
    """A live session of ``username`` (as a successful sign-in starts it); returns its token."""
    engine = make_engine(db_url)
    try:
        return start_session(engine, username, TEST_COOKIE_KEY)
    finally:
        engine.dispose()


def copy_database(source: Path, target_dir: Path) -> str:
    """Copy a SQLite file (e.g. a session-scoped demo database) and return the copy's URL."""
    target = target_dir / source.name
    shutil.copy(source, target)
    return f"sqlite:///{target}"


def make_demo_database(path: Path, *, customers: int = 300, orders: int = 3_000, seed: int = 7) -> str:
    """Create a migrated SQLite file at ``path`` with demo data and demo accounts; return its URL.

    The demo accounts are admin, manager, analyst and agent (passwords ``demo-<role>``).
    """
    from crm.db import init_database
    from crm.demo import DemoSize, generate_demo

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        init_database(engine)
        generate_demo(engine, DemoSize(customers=customers, orders=orders), seed=seed, with_demo_accounts=True)
    finally:
        engine.dispose()
    return url
