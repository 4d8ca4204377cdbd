"""Sign-in gate, role-based navigation and refused actions, through Home.py in AppTest.

Demo database: accounts admin, manager, analyst, agent (passwords demo-<role>).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from crm.audit import AuditQuery, audit_entries, export_audit_csv
from crm.auth import active_actor, actor_for_session, create_user, deactivate_user, set_role
from crm.db import make_engine
from crm.permissions import ROLE_PERMISSIONS, Actor, Permission, PermissionDeniedError, allowed
from crm.records import RecordQuery, apply_edits, list_records
from crm.schema import ROLES, users
from crm.ui.navigation import PAGES, PageSpec
from tests.ui.apptest_support import (
    TEST_COOKIE_KEY,
    FrameAppTest,
    app_as,
    copy_database,
    make_demo_database,
    start_test_session,
)

ADMIN_PAGES = {"Users", "Audit log"}


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth-demo") / "demo.db"
    make_demo_database(path, customers=120, orders=900)
    return path


@pytest.fixture
def database_url(demo_template: Path, tmp_path: Path) -> str:
    return copy_database(demo_template, tmp_path)


def _errors(app: FrameAppTest) -> list[str]:
    return [element.value for element in app.error]


def _shows_sign_in_form(app: FrameAppTest) -> bool:
    return [field.label for field in app.text_input] == ["Username", "Password"]


def _sign_in(app: FrameAppTest, username: str, password: str) -> FrameAppTest:
    app.text_input[0].input(username)
    app.text_input[1].input(password)
    next(button for button in app.button if button.label == "Sign in").click()
    return app.run()


# --- navigation -------------------------------------------------------------------------


ANALYTICS_MENU = [
    "Overview",
    "Revenue",
    "Visits",
    "Demographics",
    "Behaviour",
    "Segmentation",
    "Cohorts",
    "Lifetime value",
    "Service",
]
MARKETING_MENU = ["Segments", "Campaigns"]
RECORDS_MENU = [
    "Customers",
    "Customer 360",
    "Orders",
    "Transactions",
    "Products",
    "Inventory",
    "Catalogue",
    "Activities",
]
# The role matrix, written out by hand (not derived from crm.permissions, so a wrong
# permission table fails here): admin everything; manager all data and analytics, no user
# admin; analyst analytics and exports, read-only records; agent records and tickets.
EXPECTED_MENUS = {
    "admin": [
        *ANALYTICS_MENU,
        *MARKETING_MENU,
        "My work",
        *RECORDS_MENU,
        "Service desk",
        "Knowledge base",
        "Import data",
        "Users",
        "Audit log",
        "Notifications",
        "Definitions",
    ],
    "manager": [
        *ANALYTICS_MENU,
        *MARKETING_MENU,
        "My work",
        *RECORDS_MENU,
        "Service desk",
        "Knowledge base",
        "Import data",
        "Notifications",
        "Definitions",
    ],
    # Everyone reads the knowledge base; agents write drafts, managers publish. Analysts edit nothing: no work list.
    "analyst": [*ANALYTICS_MENU, *MARKETING_MENU, *RECORDS_MENU, "Knowledge base", "Notifications", "Definitions"],
    "agent": ["My work", *RECORDS_MENU, "Service desk", "Knowledge base", "Notifications", "Definitions"],
}
EXPECTED_PERMISSIONS = {
    "admin": set(Permission),
    "manager": set(Permission) - {Permission.MANAGE_USERS, Permission.VIEW_AUDIT},
    "analyst": {
        Permission.VIEW_ANALYTICS,
        Permission.VIEW_RECORDS,
        Permission.EXPORT_PERSONAL_DATA,
        Permission.EXPORT_AGGREGATES,
        # The issue: "analysts and managers build segments".
        Permission.MANAGE_SEGMENTS,
        Permission.READ_KNOWLEDGE_BASE,
    },
    # No deletes, no exports of personal data (aggregates only), no imports, no analytics.
    "agent": {
        Permission.VIEW_RECORDS,
        Permission.EDIT_RECORDS,
        Permission.MANAGE_TICKETS,
        Permission.EXPORT_AGGREGATES,
        Permission.READ_KNOWLEDGE_BASE,
        Permission.WRITE_ARTICLES,
    },
}


@pytest.mark.parametrize("role", ["admin", "manager", "analyst", "agent"])
def test_each_role_sees_exactly_its_hand_written_menu(database_url: str, role: str) -> None:
    app = app_as(database_url, role).run()  # the demo account's username is its role
    assert not app.exception
    assert app.navigation_titles() == EXPECTED_MENUS[role]
    assert f"Signed in as **{role}** ({role})" in [caption.value for caption in app.sidebar.caption]


@pytest.mark.parametrize("role", ["admin", "manager", "analyst", "agent"])
def test_each_role_holds_exactly_the_permissions_of_the_role_matrix(role: str) -> None:
    assert {permission for permission in Permission if allowed(role, permission)} == EXPECTED_PERMISSIONS[role]


def _one_ticket_edit(engine: Engine, actor: Actor) -> object:
    shown = list_records(engine, "tickets", RecordQuery(sort_by="id", page_size=1)).rows
    changes = {"edited_rows": {0: {"subject": "Urgent: parcel lost"}}, "added_rows": [], "deleted_rows": []}
    return apply_edits(engine, "tickets", shown, changes, actor)


def test_ticket_edits_need_manage_tickets_beyond_editing_records(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url)
    assert _one_ticket_edit(engine, active_actor(engine, "agent")).ok
    with pytest.raises(PermissionDeniedError, match="edit records"):
        _one_ticket_edit(engine, active_actor(engine, "analyst"))
    # A role that edits records but does not handle tickets (none ships; the check must hold).
    monkeypatch.setitem(ROLE_PERMISSIONS, "clerk", frozenset({Permission.VIEW_RECORDS, Permission.EDIT_RECORDS}))
    clerk = Actor(user_id=None, username="clerk", role="clerk")
    with pytest.raises(PermissionDeniedError, match="manage tickets"):
        _one_ticket_edit(engine, clerk)
    customers_page = list_records(engine, "customers", RecordQuery(sort_by="id", page_size=1)).rows
    changes = {"edited_rows": {0: {"city": "Bergen"}}, "added_rows": [], "deleted_rows": []}
    assert apply_edits(engine, "customers", customers_page, changes, clerk).ok


@pytest.mark.parametrize(
    ("role", "first_page", "title"),
    [("admin", "overview", "Overview"), ("analyst", "overview", "Overview"), ("agent", "my_work", "My work")],
)
def test_the_root_address_forwards_to_the_roles_first_page_at_its_own_address(
    database_url: str, role: str, first_page: str, title: str
) -> None:
    app = app_as(database_url, role).run()
    assert not app.exception
    assert app.current_page_url_path() == first_page  # not "" (served only at /)
    assert app.title[0].value == title
    # The same page opened by its address (a bookmark, a reload) is that page, not "page not found".
    app.switch_page(f"pages/{first_page}.py").run()
    assert app.current_page_url_path() == first_page
    assert app.title[0].value == title


def test_a_crafted_role_in_session_state_grants_nothing(database_url: str) -> None:
    app = app_as(database_url, "agent")
    app.session_state["roles"] = ["admin"]  # streamlit-authenticator's key; never read for permissions
    app.session_state["role"] = "admin"
    app.run()
    assert not ADMIN_PAGES & set(app.navigation_titles())
    app.switch_page("pages/users.py").run()
    assert "Your role (agent) may not open this page." in _errors(app)
    assert not app.dataframe


@pytest.mark.parametrize(
    ("username", "page"),
    [("agent", "pages/users.py"), ("analyst", "pages/users.py"), ("manager", "pages/audit.py")],
)
def test_opening_an_admin_page_without_the_role_is_refused_by_the_page_itself(
    database_url: str, username: str, page: str
) -> None:
    app = app_as(database_url, username).run()
    app.switch_page(page).run()
    assert f"Your role ({username}) may not open this page." in _errors(app)
    assert not app.dataframe  # neither the user list nor the log was read
    assert not app.exception


def test_a_deactivated_users_open_session_is_signed_out_on_its_next_run(database_url: str) -> None:
    app = app_as(database_url, "manager")  # a live session, as the sign-in form leaves it
    deactivate_user(make_engine(database_url), Actor.system(), "manager")
    app.run()
    assert _shows_sign_in_form(app)
    assert app.session_state["authentication_status"] is None
    assert app.session_state["username"] is None


@pytest.mark.parametrize("username", ["admin", "mallory"])
def test_crafted_sign_in_state_without_a_session_token_signs_nobody_in(database_url: str, username: str) -> None:
    # streamlit-authenticator's keys alone, for an active admin and for an unknown name.
    app = app_as(database_url, username, with_session=False).run()
    assert _shows_sign_in_form(app)
    assert not app.sidebar.button  # no "Sign out": nobody is signed in
    assert app.session_state["authentication_status"] is None
    assert not [caption for caption in app.sidebar.caption if "Signed in as" in caption.value]
    crafted = app_as(database_url, username, with_session=False).run()
    crafted.switch_page("pages/users.py").run()
    assert _errors(crafted) == ["Please sign in."]
    assert not crafted.dataframe


def test_a_made_up_or_someone_elses_session_token_signs_nobody_in(database_url: str) -> None:
    made_up = app_as(database_url, "admin", with_session=False)
    made_up.session_state["pulse_session_token"] = "not-a-token-the-server-issued"
    made_up.run()
    assert _shows_sign_in_form(made_up)
    # The agent's real token does not make the state's username (admin) signed in either.
    borrowed = app_as(database_url, "admin", with_session=False)
    borrowed.session_state["pulse_session_token"] = start_test_session(database_url, "agent")
    borrowed.run()
    assert _shows_sign_in_form(borrowed)
    assert not borrowed.sidebar.button


def test_a_role_change_applies_on_the_next_run_without_signing_in_again(database_url: str) -> None:
    app = app_as(database_url, "analyst").run()
    assert "Users" not in app.navigation_titles()
    set_role(make_engine(database_url), Actor.system(), "analyst", "admin")
    app.run()
    assert "Users" in app.navigation_titles()


@pytest.mark.parametrize("role", ["analyst", "agent"])
def test_write_and_audit_functions_refuse_the_actor_the_app_builds_for_non_admins(database_url: str, role: str) -> None:
    engine = make_engine(database_url)
    actor = active_actor(engine, role)  # exactly how crm.ui.session builds the actor: role from the database
    assert actor is not None and actor.role == role
    with pytest.raises(PermissionDeniedError):
        create_user(engine, actor, "eve", "long-enough-1", "admin")
    with pytest.raises(PermissionDeniedError):
        set_role(engine, actor, role, "admin")
    with pytest.raises(PermissionDeniedError):
        export_audit_csv(engine, actor)
    assert active_actor(engine, role).role == role


# --- sign-in form -----------------------------------------------------------------------


def test_signing_in_with_the_form_opens_the_first_page_and_records_a_session(database_url: str) -> None:
    app = app_as(database_url, None).run()
    assert _shows_sign_in_form(app)
    _sign_in(app, "Manager ", "demo-manager")  # typed with a capital and a trailing space
    assert not _shows_sign_in_form(app)
    assert app.navigation_titles()[0] == "Overview"
    token = app.session_state["pulse_session_token"]
    engine = make_engine(database_url)
    assert actor_for_session(engine, token, TEST_COOKIE_KEY).username == "manager"
    with engine.connect() as connection:
        assert connection.execute(select(users.c.last_login_at).where(users.c.username == "manager")).scalar()


def _cookies_written(app: FrameAppTest) -> dict[str, dict]:
    """The cookies the cookie component was asked to set on the last run: name -> options."""
    calls = [json.loads(element.proto.json_args) for element in app.get("component_instance")]
    return {call["cookie"]: call["options"] for call in calls if call.get("method") == "set"}


@pytest.mark.parametrize("cookie_secure", [True, False])
def test_crm_cookie_secure_marks_both_cookies_secure_even_when_the_app_sees_plain_http(
    database_url: str, cookie_secure: bool
) -> None:
    # AppTest, like a server behind a TLS-terminating proxy, has no https:// address of its own.
    app = app_as(database_url, None, cookie_secure=cookie_secure).run()
    _sign_in(app, "agent", "demo-agent")
    written = _cookies_written(app)
    assert set(written) == {"pulse_crm_session", "pulse_crm_device"}
    assert {name: options["secure"] for name, options in written.items()} == {
        "pulse_crm_session": cookie_secure,
        "pulse_crm_device": cookie_secure,
    }
    assert {options["sameSite"] for options in written.values()} == {"strict"}


def test_with_no_users_yet_the_sign_in_page_explains_how_to_create_the_admin(sqlite_engine: Engine) -> None:
    app = app_as(sqlite_engine.url.render_as_string(hide_password=False), None).run()
    assert not app.exception
    assert "python -m crm users add <username>" in app.warning[0].value
    assert not app.text_input


def test_a_wrong_password_is_refused(database_url: str) -> None:
    app = _sign_in(app_as(database_url, None).run(), "manager", "demo-admin")
    assert "Username or password is incorrect." in _errors(app)
    assert _shows_sign_in_form(app)


def test_after_five_failures_even_the_right_password_waits_for_the_window(database_url: str) -> None:
    app = app_as(database_url, None).run()
    for attempt in range(5):
        _sign_in(app, "analyst", f"wrong-password-{attempt}")
        assert "Username or password is incorrect." in _errors(app)
    _sign_in(app, "analyst", "demo-analyst")
    assert any(error.startswith("Too many failed sign-ins") for error in _errors(app))
    assert _shows_sign_in_form(app)
    # Other users are not affected.
    _sign_in(app, "agent", "demo-agent")
    assert not _shows_sign_in_form(app)


def test_a_browser_that_signed_in_before_is_not_locked_out_by_someone_elses_failures(database_url: str) -> None:
    laptop = _sign_in(app_as(database_url, None).run(), "analyst", "demo-analyst")
    device_token = laptop.session_state["pulse_device_token"]  # issued at sign-in, written as a cookie
    next(button for button in laptop.sidebar.button if button.label == "Sign out").click()
    laptop.run()
    # Someone else (same address in AppTest: "local") fails five times on analyst.
    attacker = app_as(database_url, None).run()
    for attempt in range(5):
        _sign_in(attacker, "analyst", f"wrong-password-{attempt}")
    _sign_in(attacker, "analyst", "demo-analyst")
    assert any(error.startswith("Too many failed sign-ins") for error in _errors(attacker))
    # The laptop's device signed in as analyst: it is not held back.
    _sign_in(laptop, "analyst", "demo-analyst")
    assert not _shows_sign_in_form(laptop)
    assert laptop.session_state["pulse_device_token"] == device_token  # the same device, cookie renewed


def test_sign_out_revokes_the_session_and_shows_the_form(database_url: str) -> None:
    app = _sign_in(app_as(database_url, None).run(), "admin", "demo-admin")
    token = app.session_state["pulse_session_token"]
    next(button for button in app.sidebar.button if button.label == "Sign out").click()
    app.run()
    assert _shows_sign_in_form(app)
    assert actor_for_session(make_engine(database_url), token, TEST_COOKIE_KEY) is None
    logouts = audit_entries(make_engine(database_url), Actor.system(), AuditQuery(action="logout"))
    assert list(logouts["username"]) == ["admin"]


def test_a_session_revoked_elsewhere_signs_this_browser_out_on_its_next_run(database_url: str) -> None:
    app = _sign_in(app_as(database_url, None).run(), "agent", "demo-agent")
    assert not _shows_sign_in_form(app)
    # A password reset (here from the CLI's system actor) ends every session of the user.
    from crm.auth import reset_password

    reset_password(make_engine(database_url), Actor.system(), "agent", "another-password")
    app.run()
    assert _shows_sign_in_form(app)


@pytest.mark.parametrize(("demo_mode", "shown"), [(True, True), (False, False)])
def test_demo_accounts_are_listed_on_the_sign_in_page_only_in_demo_mode(
    database_url: str, demo_mode: bool, shown: bool
) -> None:
    app = app_as(database_url, None, demo_mode=demo_mode).run()
    assert any(expander.label == "Demo accounts" for expander in app.expander) is shown
    signed_in = app_as(database_url, "admin", demo_mode=demo_mode).run()
    assert not any(expander.label == "Demo accounts" for expander in signed_in.expander)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "will not start without a cookie key"),
        ("some_key", "published example key"),
        ("short-key", "at least 32"),
        ("a" * 32, "too predictable"),
    ],
)
def test_the_app_refuses_to_run_with_a_missing_default_short_or_predictable_cookie_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch, key: str, message: str
) -> None:
    app = app_as(database_url, "admin")
    monkeypatch.setenv("CRM_COOKIE_KEY", key)
    app.run()
    assert any(message in error for error in _errors(app))
    assert not _shows_sign_in_form(app)
    assert not app.sidebar.button


def test_the_cookie_key_may_come_from_streamlit_secrets(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_as(database_url, "admin")
    monkeypatch.delenv("CRM_COOKIE_KEY")
    app.secrets["cookie_key"] = "a-secret-from-secrets-toml-0123456789"
    app.run()
    assert not _errors(app)
    assert "Users" in app.navigation_titles()


# --- database errors --------------------------------------------------------------------

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_DATABASE = "postgresql+psycopg2://crm:s3cret-password@127.0.0.1:1/crm"


def _assert_one_line_about_the_lost_connection(app: FrameAppTest, database_url: str) -> None:
    [message] = _errors(app)  # crm.db.describe_database_error's line, not Streamlit's redacted error
    assert message.startswith("Cannot ")
    assert f" the database {database_url}: server closed the connection unexpectedly" in message


def _lost_connection(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@pytest.mark.parametrize("username", [None, "admin"])
def test_an_unreachable_database_at_start_is_one_line_and_the_raw_page_files_stay_hidden(username: str | None) -> None:
    app = app_as(UNREACHABLE_DATABASE, username, with_session=False)
    app.run()
    assert not app.exception
    [message] = _errors(app)
    assert message.startswith("Cannot reach the database postgresql+psycopg2://crm:***@127.0.0.1:1/crm")
    assert "s3cret" not in message
    # The hidden navigation is registered, so Streamlit does not list the pages/ folder in the sidebar.
    assert app.navigation_titles() == [spec.title for spec in PAGES]
    assert not app.text_input and not app.sidebar.button


def test_a_database_that_goes_away_during_sign_in_is_one_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_as(database_url, "admin").run()
    monkeypatch.setattr("crm.ui.session.actor_for_session", _lost_connection)
    app.run()
    assert not app.exception
    _assert_one_line_about_the_lost_connection(app, database_url)
    assert not app.sidebar.button
    # Back again: the browser is still signed in (nothing was forgotten), on the same page.
    monkeypatch.undo()
    app.run()
    assert not _errors(app)
    assert "Signed in as **admin** (admin)" in [caption.value for caption in app.sidebar.caption]


def test_a_database_that_goes_away_while_a_page_runs_is_one_line_under_the_menu(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_as(database_url, "admin").run()
    monkeypatch.setattr("crm.auth.list_users", _lost_connection)
    app.switch_page("pages/users.py").run()
    assert not app.exception
    _assert_one_line_about_the_lost_connection(app, database_url)
    assert app.title[0].value == "Users"
    assert "Audit log" in app.navigation_titles()  # the menu stays, so the user can go elsewhere


# --- every registered page guards itself ---------------------------------------------------


@pytest.mark.parametrize("spec", PAGES, ids=[spec.path for spec in PAGES])
def test_every_page_opened_directly_refuses_visitors_and_roles_without_its_permission(
    database_url: str, spec: PageSpec
) -> None:
    # Runs the page file on its own (as a crafted request would), bypassing Home.py's menu.
    visitor = app_as(database_url, None).run()
    visitor.switch_page(spec.path).run()
    assert _errors(visitor) == ["Please sign in."]
    assert not visitor.dataframe and not visitor.metric
    for role in ROLES:
        if allowed(role, spec.permission):
            continue
        app = app_as(database_url, role).run()
        app.switch_page(spec.path).run()
        assert _errors(app) == [f"Your role ({role}) may not open this page."], role
        assert not app.dataframe and not app.metric
