"""The database going away mid-import: one line on stderr, exit code 2, nothing half-written.

Before, stray traceback lines (from the driver and the connection pool) came before the error
line, and the exit code depended on the phase (1 or 2) (issue 11, part 8).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from crm.cli import main
from crm.db import PROJECT_ROOT
from crm.schema import audit_log, customers

ROWS = 3_000


def _customers_file(folder: Path) -> Path:
    path = folder / "customers.csv"
    lines = ["name,email,city"] + [f"Person {number},p{number}@example.com,City {number % 7}" for number in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _count(engine: Engine, table=customers) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# Where an import talks to the database: (module, function) wrapped to lose the connection first.
PHASES = {
    "taking the lock": ("crm.imports.core", "_previous_import"),
    "writing the rows": ("crm.imports.customers", "bulk_insert"),
    "writing the audit": ("crm.imports.core", "record_audit"),
}


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_lost_connection_in_any_phase_is_one_error_line_and_exit_code_2(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    import importlib

    module_name, function_name = PHASES[phase]
    module = importlib.import_module(module_name)

    def connection_lost(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT ...", None, Exception("server closed the connection unexpectedly\n\tmore"))

    monkeypatch.setattr(module, function_name, connection_lost)
    code = main(["--database-url", _url(engine), "import", str(_customers_file(tmp_path)), "--entity", "customers"])

    error_lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: Cannot ")
    assert error_lines[0].endswith("server closed the connection unexpectedly; nothing was imported.")
    assert (_count(engine), _count(engine, audit_log)) == (0, 0)


def test_a_connection_lost_during_the_commit_says_the_outcome_is_unknown_and_how_to_make_sure(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.engine.base import RootTransaction

    import crm.imports.core

    original_audit, original_commit = crm.imports.core.record_audit, RootTransaction.commit
    losing = []  # set once the import's audit row is written: its commit is the next one

    def commit(self: RootTransaction) -> None:
        if losing:
            losing.clear()
            raise OperationalError("COMMIT", None, Exception("server closed the connection unexpectedly"))
        original_commit(self)

    def audit_then_lose_the_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        original_audit(*args, **kwargs)
        losing.append(True)

    monkeypatch.setattr(RootTransaction, "commit", commit)
    monkeypatch.setattr(crm.imports.core, "record_audit", audit_then_lose_the_commit)
    code = main(["--database-url", _url(engine), "import", str(_customers_file(tmp_path)), "--entity", "customers"])

    error_lines = capsys.readouterr().err.splitlines()
    assert (code, len(error_lines)) == (2, 1)
    assert error_lines[0].endswith(
        "server closed the connection unexpectedly; the commit was not confirmed: import the file again once "
        "the database is back (rows already imported are skipped)."
    )


# Run as a separate process, so everything the driver and the pool print is seen as a user sees it.
KILLER = textwrap.dedent(
    """
    import io
    import sys
    from sqlalchemy import text
    import crm.bulk
    import crm.imports.core
    import crm.imports.customers
    from crm.cli import main
    from crm.db import make_engine

    url, phase, path = sys.argv[1:4]
    killer = make_engine(url)
    victim = {}

    def kill():
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim["pid"]})

    def remember(original):
        def wrapped(connection, *args):
            victim["pid"] = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            return original(connection, *args)
        return wrapped

    crm.imports.core._serialise_imports = remember(crm.imports.core._serialise_imports)
    if phase == "in the middle of the COPY":
        crm.bulk.BATCH_ROWS = 300  # ten chunks: the session dies while the server reads the third
        original_csv = crm.bulk._csv_for_copy
        chunks = []

        class DyingBuffer(io.BytesIO):
            def read(self, size=-1):
                kill()
                return super().read(size)

        def csv_for_copy(chunk):
            buffer, null = original_csv(chunk)
            chunks.append(len(chunk))
            return (DyingBuffer(buffer.getvalue()) if len(chunks) == 3 else buffer), null

        crm.bulk._csv_for_copy = csv_for_copy
    if phase == "before the commit":
        original_audit = crm.imports.core.record_audit

        def audit_then_kill(connection, *args, **kwargs):
            original_audit(connection, *args, **kwargs)
            kill()

        crm.imports.core.record_audit = audit_then_kill
    sys.exit(main(["--database-url", url, "import", path, "--entity", "customers"]))
    """
)


@pytest.mark.parametrize("phase", ["in the middle of the COPY", "before the commit"])
def test_a_postgresql_session_killed_mid_import_prints_exactly_one_line_and_exits_2(
    engine: Engine, tmp_path: Path, phase: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only a server session can be terminated from another connection")
    script = tmp_path / "killer.py"
    script.write_text(KILLER, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    finished = subprocess.run(
        [sys.executable, str(script), _url(engine), phase, str(_customers_file(tmp_path))],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    error_lines = finished.stderr.splitlines()
    assert (finished.returncode, len(error_lines)) == (2, 1), finished.stderr
    assert error_lines[0].startswith("error: Cannot reach the database")
    # Dead before the COMMIT reached the server, the client cannot tell it from a commit lost on the way.
    ending = "(rows already imported are skipped)." if phase == "before the commit" else "; nothing was imported."
    assert error_lines[0].endswith(ending)
    assert (_count(engine), _count(engine, audit_log)) == (0, 0)
