"""My work, Customer 360's actions, the Visits page, the Overview's takings and birthdays, and the merge
section, in AppTest on tiny_shop (SQLite; the write functions are tested on both engines in tests/records)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from crm.schema import customers, interactions, segments, users, utc_now, visit_payments, visits
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import app_as


@pytest.fixture
def shop_url(sqlite_engine: Engine) -> str:
    """tiny_shop plus a manager (max) and an analyst (ann)."""
    load_tiny_shop(sqlite_engine)
    now = utc_now()
    with sqlite_engine.begin() as connection:
        for username, role in (("max", "manager"), ("ann", "analyst")):
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
    return sqlite_engine.url.render_as_string(hide_password=False)


def _open(url: str, username: str, page: str) -> AppTest:
    app = app_as(url, username)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()  # type: ignore[arg-type]


def test_my_work_lists_the_agents_overdue_follow_up_and_open_ticket_as_customer_links(shop_url: str) -> None:
    app = _open(shop_url, "sam", "pages/my_work.py")
    subheaders = [subheader.value for subheader in app.subheader]
    # Dan's follow-up (1 Apr 2025) is long overdue; Bob's "Cancel my order" ticket is open and Sam's.
    assert "Overdue follow-ups (1)" in subheaders and "My open tickets (1)" in subheaders
    links = {link.proto.label: (link.proto.page, link.proto.query_string) for link in app.get("page_link")}
    assert links == {"Dan Moss": ("customer_360", "customer=4"), "Bob Lee": ("customer_360", "customer=2")}


def test_marking_a_follow_up_done_logs_the_contact(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/my_work.py")
    app.button(key="my_work_overdue_done_2").click().run()
    assert not app.exception, app.exception
    assert "Follow-up done: Bulk pricing" in app.success[0].value
    assert "Overdue follow-ups (0)" in [subheader.value for subheader in app.subheader]
    assert _count(sqlite_engine, interactions, interactions.c.interaction_type == "follow_up") == 1


def test_customer_360_opens_the_linked_customer_and_logs_an_interaction_owned_by_the_agent(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = app_as(shop_url, "sam")
    app.run()
    app.switch_page("pages/customer_360.py")
    app.query_params["customer"] = "3"
    app.run()
    assert "Chloe Park" in app.subheader[0].value
    app.text_input(key="c360_3_interaction_0_subject").input("Asked about the jacket").run()
    app.text_input(key="c360_3_interaction_0_outcome").input("Will come in on Friday").run()
    app.button(key="c360_3_interaction_0_save").click().run()
    assert not app.exception, app.exception
    assert "last contact is updated" in app.success[0].value
    with sqlite_engine.connect() as connection:
        row = connection.execute(
            select(interactions.c.user_id, interactions.c.outcome).where(interactions.c.customer_id == 3)
        ).one()
        contact = connection.execute(select(customers.c.last_contact_at).where(customers.c.id == 3)).scalar_one()
    assert tuple(row) == (2, "Will come in on Friday") and contact is not None


def test_recording_a_visit_with_a_payment_from_customer_360(shop_url: str, sqlite_engine: Engine) -> None:
    app = app_as(shop_url, "sam")
    app.run()
    app.switch_page("pages/customer_360.py")
    app.query_params["customer"] = "3"
    app.run()
    app.text_input(key="c360_3_visit_0_location").input("Seoul store").run()
    app.number_input(key="c360_3_visit_0_amount1").set_value(45.5).run()
    app.selectbox(key="c360_3_visit_0_method1").set_value("cash").run()
    app.button(key="c360_3_visit_0_save").click().run()
    assert not app.exception, app.exception
    assert "recorded with 1 payment(s), 45.50 in all" in app.success[0].value
    with sqlite_engine.connect() as connection:
        amount = connection.execute(
            select(visit_payments.c.amount)
            .select_from(visit_payments.join(visits, visits.c.id == visit_payments.c.visit_id))
            .where(visits.c.customer_id == 3)
        ).scalar_one()
    assert float(amount) == 45.5


def test_a_visit_without_the_amount_of_a_payment_is_refused_by_name(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "sam", "pages/activities.py")
    app.text_input(key="activities_visit_picker_search").input("chloe").run()
    app.button(key="activities_visit_0_save").click().run()
    assert "Payment 1: enter the amount" in app.error[0].value
    assert _count(sqlite_engine, visits) == 1


def test_an_analyst_sees_customer_360_without_the_action_forms(shop_url: str) -> None:
    app = _open(shop_url, "ann", "pages/customer_360.py")
    app.text_input(key="c360_search").input("alice").run()
    assert "Work with this customer" not in [subheader.value for subheader in app.subheader]


def test_the_visits_page_and_the_overviews_takings(shop_url: str) -> None:
    visits_page = _open(shop_url, "ada", "pages/visits.py")
    # The default period (last 12 months) holds no visit of 2025: the page says so.
    assert "No visits in this selection" in visits_page.info[0].value
    visits_page.selectbox(key="filter_period").set_value("All time").run()
    assert not visits_page.exception, visits_page.exception
    metrics = {metric.label: metric.value for metric in visits_page.metric}
    # All time: Alice's one visit with its 100.00 payment.
    assert (metrics["Visits"], metrics["Visitors"], metrics["Paid"]) == ("1", "1", "$100.00")
    overview = _open(shop_url, "ada", "pages/overview.py")
    overview.selectbox(key="filter_period").set_value("All time").run()
    cards = {metric.label: metric.value for metric in overview.metric}
    # Revenue 302.00 + Alice's visit payment 100.00 (it names no order).
    assert (cards["Visit takings"], cards["Total takings"]) == ("$100.00", "$402.00")


def test_a_birthday_segment_is_saved_from_the_overview(shop_url: str, sqlite_engine: Engine) -> None:
    app = _open(shop_url, "ada", "pages/overview.py")
    app.button(key="birthday_segment").click().run()
    assert not app.exception, app.exception
    month = datetime.now().strftime("%B")
    assert f"Segment “Birthdays in {month}” saved" in app.success[0].value
    assert _count(sqlite_engine, segments) == 1


def test_a_manager_merges_a_suggested_pair_from_the_customers_page(shop_url: str, sqlite_engine: Engine) -> None:
    now = utc_now()
    with sqlite_engine.begin() as connection:
        connection.execute(
            customers.insert().values(
                first_name="Alice",
                last_name="Kim",
                email="ALICE@example.com",
                email_normalized="alice@example.com",
                created_at=now,
                updated_at=now,
            )
        )
    agent = _open(shop_url, "sam", "pages/customers.py")
    assert "Merge duplicate customers" not in [expander.label for expander in agent.expander]
    app = _open(shop_url, "max", "pages/customers.py")
    app.toggle(key="merge_suggest").set_value(True).run()
    app.selectbox(key="merge_suggestion").set_value(0).run()
    app.checkbox(key="merge_confirm_1_6").check().run()
    app.button(key="merge_apply").click().run()
    assert not app.exception, app.exception
    assert app.success[0].value.startswith("Merged customer 6 into 1.")
    assert _count(sqlite_engine, customers) == 5


def test_grid_columns_show_customers_by_name_and_a_picked_label_is_saved_as_the_id(
    shop_url: str, sqlite_engine: Engine
) -> None:
    app = _open(shop_url, "sam", "pages/activities.py")
    shown = app.dataframe[0].value
    # The interactions grid: Dan's meeting and Alice's call, newest first, customers as labels.
    assert list(shown["customer_id"]) == ["Dan Moss · dan@example.com (#4)", "Alice Kim · alice@example.com (#1)"]
    # The picker above the grid adds Chloe to the column's list; choosing her label saves her id.
    app.text_input(key="interactions_find_customer_id").input("chloe").run()
    assert "1 match(es) in the Customer list." in [caption.value for caption in app.caption]
    app.session_state["interactions__edits0"] = {
        "edited_rows": {1: {"customer_id": "Chloe Park · chloe@example.com (#3)"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.run()
    app.button(key="interactions__save").click().run()
    assert not app.exception, app.exception
    with sqlite_engine.connect() as connection:
        owner = connection.execute(select(interactions.c.customer_id).where(interactions.c.id == 1)).scalar_one()
    assert owner == 3


def test_a_shop_with_only_visits_sees_its_takings_on_the_overview(sqlite_engine: Engine) -> None:
    now = utc_now()
    with sqlite_engine.begin() as connection:
        connection.execute(
            users.insert().values(
                username="ada", full_name="Ada", role="admin", password_hash="x", created_at=now, updated_at=now
            )
        )
        # A customer from long ago (not new in the period) who came in today and paid 60.00.
        connection.execute(
            customers.insert().values(id=1, first_name="Mina", created_at=datetime(2020, 1, 1), updated_at=now)
        )
        connection.execute(visits.insert().values(id=1, customer_id=1, visited_at=now, created_at=now, updated_at=now))
        connection.execute(
            visit_payments.insert().values(
                visit_id=1, amount=60, method="cash", paid_at=now, created_at=now, updated_at=now
            )
        )
    app = _open(sqlite_engine.url.render_as_string(hide_password=False), "ada", "pages/overview.py")
    cards = {metric.label: metric.value for metric in app.metric}
    assert (cards["Revenue"], cards["Visit takings"], cards["Total takings"]) == ("$0.00", "$60.00", "$60.00")
    assert "the visit takings are above" in app.info[-1].value
