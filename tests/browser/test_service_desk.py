"""The Service desk in a real browser: find a ticket in the queue, open it, reply, resolve it."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.db import make_engine
from crm.permissions import Actor
from crm.schema import ticket_notes, tickets
from crm.service.tickets import create_ticket
from tests.browser.conftest import wait_until_idle

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def _open_ticket(database_url: str, subject: str) -> str:
    engine = make_engine(database_url)
    try:
        return create_ticket(
            engine, Actor.system(), customer_id=1, subject=subject, priority="urgent", body="Where is my parcel?"
        )
    finally:
        engine.dispose()


def _stored(database_url: str, number: str) -> tuple[dict[str, object], list[str]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            row = dict(connection.execute(select(tickets).where(tickets.c.ticket_number == number)).mappings().one())
            kinds = (
                connection.execute(
                    select(ticket_notes.c.note_type)
                    .where(ticket_notes.c.ticket_id == row["id"])
                    .order_by(ticket_notes.c.id)
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    return row, list(kinds)


def test_an_agent_finds_a_ticket_in_the_queue_replies_and_resolves_it(running_app, page: Page, sign_in) -> None:
    subject = f"Browser ticket {secrets.token_hex(3)}"
    number = _open_ticket(running_app.database_url, subject)
    page.set_viewport_size({"width": 1500, "height": 1200})
    sign_in(page, "agent", path="service_desk")
    expect(page.get_by_role("heading", name="Service desk")).to_be_visible()

    search = page.get_by_label("Customer or ticket")
    search.fill(number)
    search.press("Enter")
    wait_until_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Open a ticket").click()
    page.get_by_role("option", name=f"{number} · {subject}").click()
    expect(page.get_by_role("heading", name=f"{number} · {subject}")).to_be_visible()
    # The urgent ticket's SLA clock (1 h to the first response) is shown above the conversation.
    expect(page.get_by_text("SLA: first response", exact=False)).to_be_visible()

    page.get_by_role("textbox", name="Message", exact=True).fill("We found your parcel; it arrives tomorrow.")
    wait_until_idle(page)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text(f"Reply to the customer added to {number}.")).to_be_visible()
    expect(page.get_by_role("paragraph").filter(has_text="We found your parcel; it arrives tomorrow.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_have_value("")

    page.get_by_test_id("stSelectbox").filter(has_text="New status").click()
    page.get_by_role("option", name="resolved", exact=True).click()
    note = page.get_by_label("Resolution (required to resolve)")
    expect(note).to_be_visible()
    note.fill("Courier delivered it.")
    wait_until_idle(page)
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text(f"{number} is now resolved.")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "service_desk_resolved.png"), full_page=True)

    row, kinds = _stored(running_app.database_url, number)
    assert row["status"] == "resolved" and row["first_response_at"] is not None and row["resolved_at"] is not None
    assert kinds == ["system", "customer_reply", "system", "resolution"]
