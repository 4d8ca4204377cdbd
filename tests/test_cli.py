"""``python -m crm`` init and demo, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.cli import main
from crm.db import make_engine
from crm.schema import orders

ROOT = Path(__file__).resolve().parent.parent


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
    with make_engine(url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(orders)).scalar_one() == 300


def test_an_unreachable_database_is_one_line_on_stderr_and_exit_code_2() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "crm", "--database-url", "postgresql+psycopg2://x@/crm?host=/nonexistent", "init"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().startswith("error: Cannot reach the database")
    assert len(completed.stderr.strip().splitlines()) == 1


def test_a_negative_count_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--customers", "-5"])
