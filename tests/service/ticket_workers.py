"""A worker process that opens tickets as fast as it can (the concurrency tests start several at once)."""

from __future__ import annotations

from typing import Any

from crm.db import make_engine
from crm.permissions import Actor


def open_tickets(url: str, customer_id: int, count: int, start: Any, results: Any) -> None:
    """Wait for ``start`` (a barrier shared by every worker), then open ``count`` tickets; put their numbers."""
    from crm.service.tickets import create_ticket

    engine = make_engine(url)
    try:
        start.wait(timeout=120)
        numbers = [
            create_ticket(engine, Actor.system(), customer_id=customer_id, subject=f"load {index}")
            for index in range(count)
        ]
    finally:
        engine.dispose()
    results.put(numbers)


def add_notes(url: str, number: str, count: int, start: Any, results: Any) -> None:
    """Wait for ``start``, then add ``count`` internal notes to ticket ``number``; put how many were added."""
    from crm.service.tickets import add_note

    engine = make_engine(url)
    try:
        start.wait(timeout=120)
        for index in range(count):
            add_note(engine, Actor.system(), number, note_type="internal", body=f"note {index}")
    finally:
        engine.dispose()
    results.put(count)
