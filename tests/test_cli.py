"""``python -m crm`` init and demo, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crm.cli import main
from crm.db import make_engine
from crm.schema import customers, orders, products

ROOT = Path(__file__).resolve().parent.parent
NOON = datetime(2025, 1, 1, 12)


def test_init_then_demo_fills_a_new_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "init"]) == 0
    assert (
        main(["--database-url", url, "demo", "--customers", "50", "--orders", "300", "--end-date", "2025-06-30"]) == 0
    )
    output = capsys.readouterr().out
    assert "Schema is up to date" in output
    assert "Demo data loaded" in output
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 300


def test_demo_refuses_to_overwrite_and_if_empty_leaves_data_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "demo", "--customers", "50", "--orders", "300"]) == 0
    assert main(["--database-url", url, "demo", "--customers", "50", "--orders", "400"]) == 1
    assert "use --replace" in capsys.readouterr().err
    assert main(["--database-url", url, "demo", "--customers", "50", "--orders", "400", "--if-empty"]) == 0
    assert capsys.readouterr().out == "skipped: database already holds data\n"
    with make_engine(url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 300


def test_demo_if_empty_skips_a_database_holding_only_an_imported_product(tmp_path: Path) -> None:
    """scripts/run_app.sh runs `demo --if-empty` under `set -e`: data of any kind must mean exit 0."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "init"]) == 0
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            products.insert(),
            [{"sku": "IMP-1", "name": "Imported", "price": 5, "created_at": NOON, "updated_at": NOON}],
        )
    completed = _run_cli("--database-url", url, "demo", "--customers", "50", "--orders", "300", "--if-empty")
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        0,
        "skipped: database already holds data\n",
        "",
    )
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(products)).scalar_one() == 1


def _run_cli(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env=environment,
    )


def test_an_unreachable_database_is_one_line_on_stderr_and_exit_code_2() -> None:
    completed = _run_cli("--database-url", "postgresql+psycopg2://x@/crm?host=/nonexistent", "init")
    assert completed.returncode == 2
    assert completed.stderr.strip().startswith("error: Cannot reach the database")
    assert len(completed.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///{a_file}/crm.db", "error: Cannot open the database sqlite:///{a_file}/crm.db: {a_file} is a file"),
        ("sqlite:////proc/pulse-crm-test/crm.db", "error: Cannot open the database sqlite:////proc/pulse-crm-test"),
        (
            "postgresql://me:secret@/crm?host=/nonexistent",
            "error: Cannot reach the database postgresql+psycopg2://me:***@",
        ),
        (
            "postgres://me:secret@/crm?host=/nonexistent",
            "error: Cannot reach the database postgresql+psycopg2://me:***@",
        ),
        ("not a url", "error: The database URL 'not a url' is not valid"),
    ],
    ids=["sqlite folder is a file", "sqlite folder not creatable", "postgresql://", "postgres://", "unparsable"],
)
def test_a_bad_database_url_is_one_line_on_stderr_and_exit_code_2(tmp_path: Path, url: str, expected: str) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    completed = _run_cli("--database-url", url.format(a_file=a_file), "init")
    assert completed.returncode == 2
    assert completed.stderr.startswith(expected.format(a_file=a_file))
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "secret" not in completed.stderr


def test_a_bad_url_in_the_environment_is_refused_the_same_way(tmp_path: Path) -> None:
    environment = {**os.environ, "CRM_DATABASE_URL": "sqlite:////proc/pulse-crm-test/crm.db"}
    completed = _run_cli("demo", "--if-empty", environment=environment)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: Cannot open the database sqlite:////proc/pulse-crm-test/crm.db")
    assert len(completed.stderr.strip().splitlines()) == 1


def test_a_database_lost_during_a_command_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "init"]) == 0
    capsys.readouterr()

    def lose_the_file(engine: Engine) -> None:
        # What a command sees when the database goes away mid-run: the driver's OperationalError.
        (tmp_path / "cli.db").unlink()
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"cli.db{suffix}").unlink(missing_ok=True)
        (tmp_path / "cli.db").mkdir()
        engine.dispose()
        with engine.connect() as connection:
            connection.execute(select(1))

    monkeypatch.setattr("crm.cli.init_database", lose_the_file)
    assert main(["--database-url", url, "init"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: Cannot open the database {url}: unable to open database file")
    assert len(error.strip().splitlines()) == 1


def test_a_negative_count_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--customers", "-5"])
