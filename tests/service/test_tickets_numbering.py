"""Ticket numbers: CS + local day (CRM_TIMEZONE) + the day's sequence, unique when processes race."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from crm.permissions import Actor
from crm.schema import customers, ticket_notes, ticket_number_days, tickets
from crm.service.numbering import local_day
from crm.service.tickets import create_ticket
from crm.settings import get_settings
from tests.service.ticket_workers import add_notes, open_tickets

SAM = Actor(user_id=None, username="sam", role="agent")


@pytest.fixture
def customer(engine: Engine) -> int:
    with engine.begin() as connection:
        connection.execute(
            customers.insert().values(id=1, first_name="Ann", customer_type="individual", status="active")
        )
    return 1


@pytest.fixture
def seoul(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRM_TIMEZONE", "Asia/Seoul")  # UTC+9, no daylight saving
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_numbers_are_cs_the_day_and_a_four_digit_sequence(engine: Engine, customer: int) -> None:
    moment = datetime(2026, 3, 1, 10)
    first = create_ticket(engine, SAM, customer_id=customer, subject="a", now=moment)
    second = create_ticket(engine, SAM, customer_id=customer, subject="b", now=moment)
    assert (first, second) == ("CS202603010001", "CS202603010002")


def test_the_day_is_the_local_day_of_crm_timezone(engine: Engine, customer: int, seoul: None) -> None:
    # 20:00 UTC on 1 March is 05:00 on 2 March in Seoul; 14:59 UTC is still 23:59 on 1 March there.
    assert create_ticket(engine, SAM, customer_id=customer, subject="a", now=datetime(2026, 3, 1, 20)) == (
        "CS202603020001"
    )
    assert create_ticket(engine, SAM, customer_id=customer, subject="b", now=datetime(2026, 3, 1, 14, 59)) == (
        "CS202603010001"
    )
    assert local_day(datetime(2026, 3, 1, 15)) == "20260302"


def test_each_day_starts_at_one_again(engine: Engine, customer: int) -> None:
    days = [datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 23), datetime(2026, 3, 2, 0, 30)]
    numbers = [create_ticket(engine, SAM, customer_id=customer, subject="x", now=day) for day in days]
    assert numbers == ["CS202603010001", "CS202603010002", "CS202603020001"]


def test_numbers_written_without_the_counter_are_counted_on_from(tiny_shop: object, engine: Engine) -> None:
    # tiny_shop holds CS202501110001, inserted directly (as imports and the demo do).
    assert create_ticket(engine, SAM, customer_id=1, subject="x", now=datetime(2025, 1, 11, 15)) == "CS202501110002"
    with engine.connect() as connection:
        assert connection.execute(select(ticket_number_days.c.last_sequence)).scalar_one() == 2


def test_concurrent_processes_never_share_a_number(engine: Engine, customer: int) -> None:
    workers, each = 3, 4
    context = multiprocessing.get_context("fork")  # spawn children fail to start inside pytest-xdist workers
    start, results = context.Barrier(workers), context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        context.Process(target=open_tickets, args=(url, customer, each, start, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    numbers = [number for _ in processes for number in results.get(timeout=180)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    prefix = f"CS{local_day()}"
    assert sorted(numbers) == [f"{prefix}{sequence:04d}" for sequence in range(1, workers * each + 1)]
    with engine.connect() as connection:
        stored = connection.execute(select(tickets.c.ticket_number)).scalars().all()
    assert sorted(stored) == sorted(numbers)


def test_concurrent_changes_to_one_ticket_all_land(engine: Engine, customer: int) -> None:
    number = create_ticket(engine, SAM, customer_id=customer, subject="busy")
    workers, each = 3, 4
    context = multiprocessing.get_context("fork")  # spawn children fail to start inside pytest-xdist workers
    start, results = context.Barrier(workers), context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    processes = [context.Process(target=add_notes, args=(url, number, each, start, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    added = sum(results.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    with engine.connect() as connection:
        notes = connection.execute(select(ticket_notes.c.note_type).where(ticket_notes.c.note_type == "internal")).all()
        version = connection.execute(select(tickets.c.version).where(tickets.c.ticket_number == number)).scalar_one()
    assert added == len(notes) == workers * each
    assert version == 1 + workers * each  # every note moved the version once: no lost update
