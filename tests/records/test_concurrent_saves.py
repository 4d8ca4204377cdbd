"""Grid saves from several processes at once on SQLite: every save waits its turn, none sees a lock error.

SQLite has one writer at a time. Six processes saving their own rows, and a save made while an
import holds the write lock, must all succeed (issue 11, part 3); a read meanwhile must not wait.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection as Pipe
from multiprocessing.synchronize import Event
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from crm.db import make_engine
from crm.permissions import Actor
from crm.records import apply_edits
from crm.schema import customers

ADMIN = Actor(user_id=None, username="ada", role="admin")
PROCESSES = 6
SAVES_PER_PROCESS = 15
# The import in the other process holds the write lock this long before it writes its rows.
IMPORT_HOLDS_LOCK_SECONDS = 1.5
IMPORT_ROWS = 2_000

# fork: a child starts in milliseconds with everything imported (spawn would import pandas six times).
FORK = multiprocessing.get_context("fork")


def _new_customers(engine: Engine, count: int) -> list[int]:
    added = [{"first_name": f"Writer {number}", "email": f"writer{number}@example.com"} for number in range(count)]
    outcome = apply_edits(engine, "customers", pd.DataFrame(columns=["id", "version"]), {"added_rows": added}, ADMIN)
    assert outcome.ok, outcome.problems
    return list(outcome.created)


def _save_city(engine: Engine, customer_id: int, version: int, city: str) -> tuple[bool, str]:
    """One grid save of ``city`` on the customer; (saved?, what went wrong). Never raises."""
    shown = pd.DataFrame({"id": [customer_id], "version": [version]})
    try:
        outcome = apply_edits(engine, "customers", shown, {"edited_rows": {0: {"city": city}}}, ADMIN)
    except Exception as error:  # the test reports any failure, lock errors included
        return False, f"{type(error).__name__}: {error}"
    return outcome.ok, " ".join(outcome.problems)


def _save_repeatedly(url: str, customer_id: int, start: Event, results: Pipe) -> None:
    engine = make_engine(url)
    failures = []
    start.wait()
    for number in range(SAVES_PER_PROCESS):
        saved, problem = _save_city(engine, customer_id, number + 1, f"City {number}")
        if not saved:
            failures.append(problem)
    engine.dispose()
    results.send(failures)
    results.close()


def _import_slowly(url: str, path: str, holding_lock: Event, results: Pipe) -> None:
    """Import ``path``, keeping the write lock ``IMPORT_HOLDS_LOCK_SECONDS`` before writing (a long import)."""
    import crm.imports.core as core

    original = core._serialise_imports
    lingered_until: list[float] = []

    def serialise_then_linger(connection, entity):  # type: ignore[no-untyped-def]
        original(connection, entity)
        holding_lock.set()
        time.sleep(IMPORT_HOLDS_LOCK_SECONDS)
        lingered_until.append(time.time())  # the write lock is still held here

    core._serialise_imports = serialise_then_linger
    engine = make_engine(url)
    try:
        report = core.run_import(engine, Path(path), entity="customers", actor=ADMIN)
        results.send(("ok", report.inserted, lingered_until[0]))
    except Exception as error:  # reported to the test
        results.send(("failed", f"{type(error).__name__}: {error}", 0.0))
    finally:
        engine.dispose()
        results.close()


def test_six_processes_saving_their_own_rows_at_once_all_succeed(sqlite_engine: Engine) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    customer_ids = _new_customers(sqlite_engine, PROCESSES)
    start = FORK.Event()
    pipes, workers = [], []
    for customer_id in customer_ids:
        receiver, sender = FORK.Pipe(duplex=False)
        worker = FORK.Process(target=_save_repeatedly, args=(url, customer_id, start, sender))
        worker.start()
        pipes.append(receiver)
        workers.append(worker)
    start.set()
    failures = [problem for receiver in pipes for problem in receiver.recv()]
    for worker in workers:
        worker.join(timeout=60)
    assert failures == []
    with sqlite_engine.connect() as connection:
        rows = connection.execute(select(customers.c.city, customers.c.version)).all()
    # Every save of every process landed: each row holds its last city at version 1 + 15.
    assert sorted(rows) == [(f"City {SAVES_PER_PROCESS - 1}", SAVES_PER_PROCESS + 1)] * PROCESSES


def test_a_save_during_a_long_import_waits_for_it_and_succeeds_while_reads_do_not_wait(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    [customer_id] = _new_customers(sqlite_engine, 1)
    source = tmp_path / "customers.csv"
    lines = ["name,email"] + [f"Imported {number},imported{number}@example.com" for number in range(IMPORT_ROWS)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    holding_lock = FORK.Event()
    receiver, sender = FORK.Pipe(duplex=False)
    importer = FORK.Process(target=_import_slowly, args=(url, str(source), holding_lock, sender))
    importer.start()
    assert holding_lock.wait(timeout=30), "the import never started"

    with sqlite_engine.connect() as connection:
        count_during_import = connection.execute(select(func.count()).select_from(customers)).scalar_one()
    read_done_at = time.time()
    saved, problem = _save_city(sqlite_engine, customer_id, 1, "Busan")
    save_done_at = time.time()

    status, detail, lock_still_held_at = receiver.recv()
    importer.join(timeout=60)
    assert (status, detail) == ("ok", IMPORT_ROWS)
    assert (saved, problem) == (True, "")
    # The read saw the data as before the import, while the import held the lock; the save waited it out.
    assert count_during_import == 1
    assert read_done_at < lock_still_held_at < save_done_at
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == IMPORT_ROWS + 1
        assert connection.execute(select(customers.c.city).where(customers.c.id == customer_id)).scalar_one() == "Busan"


@pytest.mark.parametrize("begin", ["engine.begin()", "connection.begin()"])
def test_explicit_transactions_take_the_sqlite_write_lock_up_front_and_reads_do_not(
    sqlite_engine: Engine, begin: str
) -> None:
    from sqlalchemy import event

    statements: list[str] = []
    event.listen(sqlite_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with sqlite_engine.connect() as connection:
        connection.execute(select(1))
    if begin == "engine.begin()":
        with sqlite_engine.begin() as connection:
            connection.execute(select(2))
    else:
        with sqlite_engine.connect() as connection, connection.begin():
            connection.execute(select(2))
    begins = [statement for statement in statements if statement.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"]
