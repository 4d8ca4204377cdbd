"""The Service desk page in AppTest: queue → ticket → reply → resolve; refusals; SLA editor by role; C360 entry."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from crm.permissions import Actor
from crm.schema import ticket_notes, tickets, users, utc_now
from crm.service.tickets import create_ticket
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as

SAM = Actor(user_id=2, username="sam", role="agent")


@pytest.fixture
def desk_url(sqlite_engine: Engine) -> str:
    """tiny_shop (ada admin, sam agent) plus a manager (meg) and an analyst (ann), and one new ticket."""
    load_tiny_shop(sqlite_engine)
    now = utc_now()
    with sqlite_engine.begin() as connection:
        for username, role in (("meg", "manager"), ("ann", "analyst")):
            connection.execute(
                users.insert().values(
                    username=username,
                    full_name=username.title(),
                    role=role,
                    password_hash="x",
                    created_at=now,
                    updated_at=now,
                )
            )
    create_ticket(
        sqlite_engine,
        SAM,
        customer_id=1,
        subject="Parcel <b>never</b> came",
        priority="urgent",
        body="**Where** is it?",
    )
    return sqlite_engine.url.render_as_string(hide_password=False)


def _desk(url: str, username: str) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page("pages/service_desk.py").run()
    assert not app.exception, app.exception
    return app


def _number(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(select(tickets.c.ticket_number).where(tickets.c.subject.like("Parcel%"))).scalar_one()


def test_an_agent_opens_the_new_ticket_from_the_queue_replies_and_resolves_it(
    desk_url: str, sqlite_engine: Engine
) -> None:
    number = _number(sqlite_engine)
    app = _desk(desk_url, "sam")
    app.selectbox(key="q_open").set_value(number).run()
    assert not app.exception, app.exception
    assert any(number in element.value for element in app.subheader)
    app.text_area(key="ticket_reply_body").set_value("We are on it.").run()
    app.button(key="ticket_reply_add").click().run()
    assert not app.exception, app.exception
    assert [element.value for element in app.success][-1].startswith("Reply to the customer added")
    app.selectbox(key="ticket_new_status").set_value("resolved").run()
    app.button(key="ticket_status_apply").click().run()
    assert "resolution note is empty" in app.error[-1].value
    app.text_area(key="ticket_status_note").set_value("Courier found it.").run()
    app.button(key="ticket_status_apply").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        row = connection.execute(select(tickets).where(tickets.c.ticket_number == number)).one()
        kinds = (
            connection.execute(
                select(ticket_notes.c.note_type).where(ticket_notes.c.ticket_id == row.id).order_by(ticket_notes.c.id)
            )
            .scalars()
            .all()
        )
    assert row.status == "resolved" and row.first_response_at is not None and row.resolved_at is not None
    assert kinds == ["system", "customer_reply", "system", "resolution"]
