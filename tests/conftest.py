"""Shared fixtures: an ``engine`` on SQLite and on a throwaway PostgreSQL, and ``tiny_shop``.

PostgreSQL comes from ``CRM_TEST_POSTGRES_URL`` (set by scripts/run_tests.sh, which starts
the server). Without it PostgreSQL tests are skipped locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from crm.db import init_database, make_engine
from crm.reference import ensure_reference_data
from crm.schema import metadata
from tests.fixtures.tiny_shop import TinyShop, load_tiny_shop

POSTGRES_URL_VARIABLE = "CRM_TEST_POSTGRES_URL"


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine(worker_id: str) -> Iterator[Engine]:
    """One migrated PostgreSQL database per xdist worker."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        message = f"{POSTGRES_URL_VARIABLE} is not set: run the suite with scripts/run_tests.sh"
        if _running_in_ci():
            pytest.fail(f"PostgreSQL is required in CI. {message}")
        pytest.skip(message)
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    # Unique per process: several test runs may share one server without dropping each other's data.
    database = f"crm_test_{worker_id}_{os.getpid()}".replace("-", "_")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    engine = make_engine(make_url(url).set(database=database).render_as_string(hide_password=False))
    init_database(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(engine: Engine) -> None:
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    ensure_reference_data(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated database on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        pg_engine: Engine = request.getfixturevalue("postgres_engine")
        _truncate_postgres(pg_engine)
        yield pg_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """An empty, migrated SQLite database only (UI tests that don't need both engines)."""
    path = tmp_path / "sqlite-only.db"  # distinct from ``engine``'s file when a test uses both
    shutil.copy(sqlite_template, path)
    created = make_engine(f"sqlite:///{path}")
    yield created
    created.dispose()


@pytest.fixture
def tiny_shop(engine: Engine) -> TinyShop:
    """The hand-computable shop of tests/fixtures/tiny_shop.py, loaded into ``engine``."""
    return load_tiny_shop(engine)
