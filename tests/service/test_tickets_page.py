"""The Service desk page in AppTest: queue → ticket → reply → resolve; refusals; SLA editor by role; C360 entry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from crm.permissions import Actor
from crm.schema import ticket_notes, tickets, users, utc_now
from crm.service.tickets import create_ticket
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as, shown_text

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


def _by_label(widgets: Any, label: str) -> Any:
    return next(widget for widget in widgets if widget.label == label)


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
    _by_label(app.selectbox, "New status").set_value("resolved").run()
    _by_label(app.text_area, "Resolution (required to resolve)").set_value("").run()
    app.button(key="ticket_status_apply").click().run()
    assert "resolution note is empty" in app.error[-1].value
    _by_label(app.text_area, "Resolution (required to resolve)").set_value("Courier found it.").run()
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


def test_internal_notes_are_marked_as_staff_only_and_stored_text_is_not_interpreted(
    desk_url: str, sqlite_engine: Engine
) -> None:
    number = _number(sqlite_engine)
    app = _desk(desk_url, "sam")
    app.selectbox(key="q_open").set_value(number).run()
    app.radio(key="ticket_reply_type").set_value("internal").run()
    app.text_area(key="ticket_reply_body").set_value("Check **stock** first").run()
    app.button(key="ticket_reply_add").click().run()
    assert not app.exception, app.exception
    markdown = [element.value for element in app.markdown]
    assert any("Internal note (staff only)" in value and ":orange-background[" in value for value in markdown)
    # The customer's "**Where** is it?" and the note's "**stock**" are escaped, never bold.
    assert r"\*\*Where\*\* is it\?" in markdown and r"Check \*\*stock\*\* first" in markdown
    assert any(r"Parcel \<b\>never\<\/b\> came" in element.value for element in app.subheader)


def test_a_closed_ticket_offers_reopen_and_satisfaction_only(desk_url: str, sqlite_engine: Engine) -> None:
    from crm.service.tickets import change_status

    number = _number(sqlite_engine)
    change_status(sqlite_engine, SAM, number, "resolved", note="Found it.")
    change_status(sqlite_engine, SAM, number, "closed")
    app = _desk(desk_url, "sam")
    app.multiselect(key="q_status").set_value(["closed"]).run()
    app.selectbox(key="q_open").set_value(number).run()
    assert _by_label(app.selectbox, "New status").options == ["open (reopen)"]
    assert "The ticket is closed: reopen it to continue the conversation." in [c.value for c in app.caption]
    assert not [widget for widget in app.selectbox if (widget.key or "").startswith("ticket_priority")]
    _by_label(app.select_slider, "Satisfaction (1–5)").set_value(3).run()
    app.button(key="ticket_csat_apply").click().run()
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(tickets.c.satisfaction).where(tickets.c.ticket_number == number)).scalar() == 3


def test_managers_edit_sla_targets_and_agents_only_read_them(desk_url: str, sqlite_engine: Engine) -> None:
    from crm.service.sla import sla_targets

    agent = _desk(desk_url, "sam")
    assert not [widget for widget in agent.number_input if widget.key and widget.key.startswith("sla_")]
    assert "Managers edit the targets." in " ".join(caption.value for caption in agent.caption)
    manager = _desk(desk_url, "meg")
    manager.number_input(key="sla_first_urgent").set_value(2).run()
    manager.number_input(key="sla_resolution_urgent").set_value(12).run()
    manager.button(key="sla_save").click().run()
    assert not manager.exception, manager.exception
    assert sla_targets(sqlite_engine)["urgent"] == (2, 12)


def test_analysts_do_not_get_the_service_desk(desk_url: str) -> None:
    app = app_as(desk_url, "ann")
    app.run()
    assert "Service desk" not in app.navigation_titles()
    app.switch_page("pages/service_desk.py").run()
    assert "may not open this page" in app.error[0].value


def test_customer_360_opens_a_ticket_for_the_customer_shown(desk_url: str, sqlite_engine: Engine) -> None:
    app = app_as(desk_url, "sam")
    app.run()
    customer_id = 1  # Alice Kim, opened by her address as a grid row or search would
    app.query_params["customer"] = str(customer_id)
    app.switch_page("pages/customer_360.py").run()
    assert not app.exception, app.exception
    key = f"c360_ticket_{customer_id}"
    app.text_input(key=f"{key}_subject").set_value("Asked about gift cards").run()
    app.selectbox(key=f"{key}_category").set_value("billing").run()
    app.button(key=f"{key}_create").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        row = connection.execute(select(tickets).where(tickets.c.subject == "Asked about gift cards")).one()
    assert (row.customer_id, row.category, row.status) == (customer_id, "billing", "open")
    assert any(row.ticket_number in element.value for element in app.success)


def test_the_address_opens_a_ticket_even_outside_the_queue_filters(desk_url: str, sqlite_engine: Engine) -> None:
    from crm.service.tickets import change_status

    number = _number(sqlite_engine)
    change_status(sqlite_engine, SAM, number, "resolved", note="Found it.")  # resolved: not in the default queue
    app = app_as(desk_url, "sam")
    app.run()
    app.query_params["ticket"] = number.lower()
    app.switch_page("pages/service_desk.py").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="q_open").value == number
    assert any(number in element.value for element in app.subheader)


def test_the_customer_card_opens_customer_360_on_that_customer(desk_url: str, sqlite_engine: Engine) -> None:
    number = _number(sqlite_engine)
    app = _desk(desk_url, "sam")
    app.selectbox(key="q_open").set_value(number).run()
    app.button(key="desk_open_c360").click().run()
    assert not app.exception, app.exception
    assert app.current_page_url_path() == "customer_360"
    assert any("Alice Kim" in shown_text(element.value) for element in app.subheader)  # the ticket's customer


def test_a_ticket_opened_on_the_new_ticket_tab_is_confirmed_there_and_opened_in_the_queue(
    desk_url: str, sqlite_engine: Engine
) -> None:
    app = _desk(desk_url, "sam")
    app.text_input(key="desk_new_search").set_value("bob@example.com").run()
    assert app.selectbox(key="desk_new_customer").value == 2
    app.selectbox(key="desk_new_order_2").set_value(3).run()  # Bob's order O3
    app.button(key="desk_new_create").click().run()
    assert "subject is empty" in app.error[-1].value
    app.text_input(key="desk_new_subject").set_value("Lid missing").run()
    app.button(key="desk_new_create").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        row = connection.execute(select(tickets).where(tickets.c.subject == "Lid missing")).one()
    assert (row.customer_id, row.order_id) == (2, 3)
    assert any(f"Ticket {row.ticket_number} opened" in message.value for message in app.success)
    assert app.selectbox(key="q_open").value == row.ticket_number
    assert app.text_input(key="desk_new_subject").value == ""


def test_details_are_saved_together_and_mine_shows_the_agents_tickets(desk_url: str, sqlite_engine: Engine) -> None:
    number = _number(sqlite_engine)
    app = _desk(desk_url, "sam")
    app.toggle(key="q_mine").set_value(True).run()
    mine = {option for option in app.selectbox(key="q_open").options if option and option.startswith("CS")}
    assert not any(number in option for option in mine)  # nobody has it yet
    app.toggle(key="q_mine").set_value(False).run()
    app.selectbox(key="q_open").set_value(number).run()
    _by_label(app.selectbox, "Priority").set_value("low").run()
    _by_label(app.selectbox, "Assignee").set_value(2).run()  # sam
    app.button(key="ticket_fields_apply").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        row = connection.execute(select(tickets).where(tickets.c.ticket_number == number)).one()
        notes = (
            connection.execute(
                select(ticket_notes.c.body).where(ticket_notes.c.ticket_id == row.id).order_by(ticket_notes.c.id)
            )
            .scalars()
            .all()
        )
    assert (row.priority, row.assignee_id) == ("low", 2)
    assert notes[-2:] == ["sam changed the priority: urgent → low.", "sam changed the assignee: nobody → sam."]
    app.toggle(key="q_mine").set_value(True).run()
    assert any(number in str(option) for option in app.selectbox(key="q_open").options)


def test_a_customer_found_by_an_order_number_comes_with_that_order_chosen(desk_url: str) -> None:
    app = _desk(desk_url, "sam")
    app.text_input(key="desk_new_search").set_value("O4").run()
    assert app.selectbox(key="desk_new_customer").value == 2  # order O4 is Bob's
    assert app.selectbox(key="desk_new_order_2").value == 4
