"""The admin pages (Users, Audit log) driven through Home.py in AppTest, as the demo admin."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.audit import AuditQuery, audit_entries, record_audit
from crm.auth import active_actor, create_user, deactivate_user, list_users, set_role
from crm.db import make_engine
from crm.permissions import Actor
from crm.ui.navigation import NO_ACCESS_MESSAGE
from tests.ui.apptest_support import FrameAppTest, app_as, copy_database, make_demo_database, shown_text


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("admin-demo") / "demo.db"
    make_demo_database(path, customers=120, orders=900)
    return path


@pytest.fixture
def database_url(demo_template: Path, tmp_path: Path) -> str:
    return copy_database(demo_template, tmp_path)


def _users_page(database_url: str) -> FrameAppTest:
    app = app_as(database_url, "admin").run()
    return app.switch_page("pages/users.py").run()


def _click(app: FrameAppTest, label: str) -> FrameAppTest:
    next(button for button in app.button if button.label == label).click()
    return app.run()


def _listed(app: FrameAppTest) -> dict[str, tuple[str, bool]]:
    frame = app.dataframe[0].value
    return {row.Username: (row.Role, bool(row.Active)) for row in frame.itertuples()}


def test_the_users_page_lists_every_account_with_its_role(database_url: str) -> None:
    engine = make_engine(database_url)
    create_user(engine, Actor.system(), "zoe", "zoe-password-1", "analyst")
    deactivate_user(engine, Actor.system(), "zoe")
    app = _users_page(database_url)
    assert not app.exception
    listed = _listed(app)
    # The demo may add support colleagues; these accounts must be there exactly so.
    assert {name: listed[name] for name in ("admin", "agent", "analyst", "manager", "zoe")} == {
        "admin": ("admin", True),
        "agent": ("agent", True),
        "analyst": ("analyst", True),
        "manager": ("manager", True),
        "zoe": ("analyst", False),
    }
    assert len(listed) == len(list_users(engine, Actor.system()))


def test_adding_a_user_lists_them_and_writes_an_audit_row(database_url: str) -> None:
    app = _users_page(database_url)
    app.text_input(key="new_username").input("Zoe")
    app.text_input(key="new_full_name").input("Zoe Park")
    app.text_input(key="new_password").input("zoe-password-1")
    app.selectbox(key="new_role").select("analyst")
    _click(app, "Add user")
    assert [shown_text(message.value) for message in app.success] == ["Added zoe."]
    assert _listed(app)["zoe"] == ("analyst", True)
    created = audit_entries(make_engine(database_url), Actor.system(), AuditQuery(action="create", entity="user"))
    assert list(created["username"]) == ["admin"]  # who did it


def test_a_refused_new_user_keeps_what_was_typed_and_a_successful_one_clears_the_form(database_url: str) -> None:
    app = _users_page(database_url)
    app.text_input(key="new_username").input("zoe")
    app.text_input(key="new_full_name").input("Zoe Park")
    app.text_input(key="new_email").input("zoe@example.com")
    app.text_input(key="new_password").input("short")
    _click(app, "Add user")
    assert [shown_text(message.value) for message in app.error] == ["The password must have at least 8 characters."]
    assert "zoe" not in _listed(app)
    typed = {key: app.text_input(key=key).value for key in ("new_username", "new_full_name", "new_email")}
    assert typed == {"new_username": "zoe", "new_full_name": "Zoe Park", "new_email": "zoe@example.com"}
    app.text_input(key="new_password").input("zoe-password-1")
    _click(app, "Add user")
    assert [shown_text(message.value) for message in app.success] == ["Added zoe."]
    assert _listed(app)["zoe"] == ("agent", True)
    assert [
        app.text_input(key=key).value for key in ("new_username", "new_full_name", "new_email", "new_password")
    ] == [
        "",
        "",
        "",
        "",
    ]


def test_a_refused_change_shows_its_reason_and_changes_nothing(database_url: str) -> None:
    app = _users_page(database_url)
    app.selectbox(key="role_user").select("admin")
    app.selectbox(key="role_new").select("agent")
    _click(app, "Change role")
    assert [shown_text(message.value) for message in app.error] == [
        "admin is the last active admin; make another user admin first."
    ]
    assert _listed(app)["admin"] == ("admin", True)


def test_deactivating_a_user_signs_their_open_session_out(database_url: str) -> None:
    agent_app = app_as(database_url, "agent").run()
    assert agent_app.navigation_titles()
    app = _users_page(database_url)
    app.selectbox(key="access_user").select("agent")
    _click(app, "Deactivate")
    assert _listed(app)["agent"] == ("agent", False)
    agent_app.run()
    assert [field.label for field in agent_app.text_input] == ["Username", "Password"]


def test_a_password_reset_lets_the_user_sign_in_with_the_new_password_only(database_url: str) -> None:
    app = _users_page(database_url)
    app.selectbox(key="reset_user").select("manager")
    app.text_input(key="reset_password_value").input("fresh-password-7")
    _click(app, "Reset password")
    assert [shown_text(message.value) for message in app.success] == ["New password set for manager."]
    assert app.text_input(key="reset_password_value").value == ""  # not left in the form
    visitor = app_as(database_url, None).run()
    visitor.text_input[0].input("manager")
    visitor.text_input[1].input("demo-manager")
    _click(visitor, "Sign in")
    assert "Username or password is incorrect." in [message.value for message in visitor.error]
    visitor.text_input[1].input("fresh-password-7")
    _click(visitor, "Sign in")
    assert visitor.navigation_titles()[0] == "Overview"


def test_a_write_is_checked_against_the_role_at_click_time_not_at_page_load(database_url: str) -> None:
    engine = make_engine(database_url)
    set_role(engine, Actor.system(), "manager", "admin")  # so the demo admin may lose the role
    app = _users_page(database_url)
    set_role(engine, Actor.system(), "admin", "analyst")  # demoted while the page is open
    app.text_input(key="new_username").input("eve")
    app.text_input(key="new_password").input("eve-password-1")
    # The click's run executes the callback first (refused: role re-read), then Home.py no
    # longer offers the Users page at all.
    _click(app, "Add user")
    assert active_actor(engine, "eve") is None
    assert app.session_state["users_outcome"] == ("error", "Your role (analyst) may not manage users.")
    assert "Users" not in app.navigation_titles()


def test_the_audit_page_filters_by_action(database_url: str) -> None:
    app = _users_page(database_url)
    app.text_input(key="new_username").input("zoe")
    app.text_input(key="new_password").input("zoe-password-1")
    _click(app, "Add user")
    app.switch_page("pages/audit.py").run()
    assert not app.exception
    shown = app.dataframe[0].value
    assert {"create", "import"} <= set(shown["action"])  # the user just added, and the demo load
    app.selectbox[1].select("create")  # Action
    app.run()
    shown = app.dataframe[0].value
    assert set(shown["action"]) == {"create"}
    assert list(shown["after"].str.contains('"username": "zoe"')) == [True]
    assert app.caption[0].value == "1 entry, newest first (times in UTC)."


def test_the_audit_page_filters_by_entity_id(database_url: str) -> None:
    engine = make_engine(database_url)
    zoe = create_user(engine, Actor.system(), "zoe", "zoe-password-1", "analyst")
    set_role(engine, Actor.system(), "zoe", "agent")
    app = app_as(database_url, "admin").run()
    app.switch_page("pages/audit.py").run()
    next(field for field in app.text_input if field.label == "Entity ID").input(f" {zoe} ")
    app.selectbox[2].select("user")  # Entity
    app.run()
    shown = app.dataframe[0].value
    assert list(shown["action"]) == ["update", "create"]  # zoe's role change and creation, newest first
    assert set(shown["entity_id"]) == {str(zoe)}
    assert app.caption[0].value == "2 entries, newest first (times in UTC)."


def test_the_audit_page_counts_every_match_and_says_its_table_shows_the_newest_thousand(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for number in range(1_001):
            record_audit(connection, Actor.system(), "update", "customers", number, after={"note": number})
    app = app_as(database_url, "admin").run()
    app.switch_page("pages/audit.py").run()
    app.selectbox[2].select("customers")
    app.run()
    assert app.caption[0].value == (
        "1,001 entries, newest first (times in UTC). The table shows the newest 1,000; the downloads hold all 1,001."
    )
    assert len(app.dataframe[0].value) == 1_000
    assert [button.label for button in app.get("download_button")] == ["Download CSV", "Download XLSX"]


def test_the_audit_page_opens_on_changes_and_keeps_sign_ins_one_click_away(database_url: str) -> None:
    app = app_as(database_url, "admin").run()  # the test's sign-in writes a login row
    app.switch_page("pages/audit.py").run()
    assert not app.exception
    view = app.segmented_control(key="audit_view")
    assert view.value == "changes"
    assert list(view.options) == ["Changes", "Exports", "Sign-ins", "Everything"]
    shown = set(app.dataframe[0].value["action"])
    assert "import" in shown and not shown & {"login", "logout", "export"}
    assert "login" not in app.selectbox[1].options  # the Action filter offers this view's actions
    view.set_value("sign-ins").run()
    assert set(app.dataframe[0].value["action"]) == {"login"}
    assert app.selectbox[1].options == ["login", "logout"]
    app.segmented_control(key="audit_view").set_value("everything").run()
    assert {"login", "import"} <= set(app.dataframe[0].value["action"])


@pytest.mark.parametrize(("role", "address"), [("agent", "users"), ("agent", "audit"), ("analyst", "import")])
def test_a_page_the_role_may_not_open_says_no_access_at_its_address(database_url: str, role: str, address: str) -> None:
    app = app_as(database_url, role).run()
    app.open_address(address).run()
    assert not app.exception
    assert [error.value for error in app.error] == [NO_ACCESS_MESSAGE]
    assert f"Your role ({role}) may not open this page." in app.caption[0].value
    assert not app.dataframe  # nothing of the page itself ran
    assert address not in [title.lower() for title in app.navigation_titles()]  # and it is not in the menu
