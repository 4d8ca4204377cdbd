"""The Notifications page: my digests and alerts for every role, alert settings for managers, the stop link."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from streamlit.testing.v1 import AppTest

from crm.notifications.alerts import check_alerts, set_alert
from crm.notifications.links import digest_unsubscribe_url
from crm.notifications.subscriptions import subscribe_digest
from crm.permissions import Actor
from crm.schema import alert_rules, digest_subscriptions, users
from tests.fixtures.tiny_shop import load_tiny_shop
from tests.ui.apptest_support import TEST_COOKIE_KEY, FrameAppTest, app_as, shown_text, use_database

PAGE = "pages/notifications.py"
ROOT = Path(__file__).resolve().parents[2]


def _shop(sqlite_engine: Engine) -> str:
    load_tiny_shop(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(update(users).values(email=users.c.username + "@shop.test"))
    return sqlite_engine.url.render_as_string(hide_password=False)


def _page(url: str, username: str) -> FrameAppTest:
    app = app_as(url, username).run()
    return app.switch_page(PAGE).run()


def _subheaders(app: FrameAppTest) -> list[str]:
    return [element.value for element in app.subheader]


def test_an_agent_subscribes_to_a_weekly_digest_and_sees_no_alert_settings(sqlite_engine: Engine) -> None:
    url = _shop(sqlite_engine)
    app = _page(url, "sam")
    assert not app.exception
    assert _subheaders(app) == ["Open alerts", "My digests"]
    form_every = next(radio for radio in app.radio if radio.key == "my_digest_form_every")
    form_every.set_value("weekly")
    next(select_box for select_box in app.selectbox if select_box.key == "my_digest_form_weekday").set_value("FRI")
    app = next(button for button in app.button if button.label == "Subscribe").click().run()
    assert not app.exception
    with sqlite_engine.connect() as connection:
        row = connection.execute(select(digest_subscriptions)).one()
    assert (row.user_id, row.frequency, row.weekday, row.send_at) == (2, "weekly", 4, "08:00")
    assert any("Weekly at 08:00 on FRI" in shown_text(element.value) for element in app.markdown)


def test_a_recipient_sees_the_alerts_open_for_them(sqlite_engine: Engine) -> None:
    url = _shop(sqlite_engine)
    set_alert(sqlite_engine, Actor.system(), "low_stock", recipients=["sam"])
    check_alerts(sqlite_engine, None, now=datetime(2025, 4, 1, tzinfo=UTC), zone_name="UTC", app_url="http://app")
    app = _page(url, "sam")
    shown = app.dataframe[0].value
    assert shown["summary"].tolist() == [
        "Mug (MUG-1) at Main: 3 available, reorder level 10",
        "Jacket (JK-1) at Main: 0 available, reorder level 2",
    ]


def test_an_admin_sets_an_alert_and_sees_everyones_digests(sqlite_engine: Engine) -> None:
    url = _shop(sqlite_engine)
    subscribe_digest(sqlite_engine, Actor.system(), username="sam", frequency="daily")
    app = _page(url, "ada")
    assert _subheaders(app) == ["Open alerts", "My digests", "Alert settings", "Everyone's digests"]
    app.selectbox(key="alert_settings_kind").set_value("revenue_drop")
    app = app.run()
    next(number for number in app.number_input if number.label.startswith("Threshold")).set_value(40.0)
    next(box for box in app.multiselect if box.label == "Recipients").set_value(["ada"])
    app = next(button for button in app.button if button.label == "Save alert").click().run()
    assert not app.exception
    with sqlite_engine.connect() as connection:
        rule = connection.execute(select(alert_rules)).one()
    assert (rule.kind, float(rule.threshold), rule.active) == ("revenue_drop", 40.0, True)
    assert "sam" in app.dataframe[-1].value["username"].tolist()


def test_the_stop_link_removes_the_digest_after_one_click_without_signing_in(sqlite_engine: Engine) -> None:
    url = _shop(sqlite_engine)
    subscription_id = subscribe_digest(sqlite_engine, Actor.system(), username="sam", frequency="daily")
    link = digest_unsubscribe_url("http://app", TEST_COOKIE_KEY, subscription_id, 2)
    use_database(url)  # the page alone, as the public link opens it (Home.py routes it before any sign-in)
    app = AppTest.from_file(str(ROOT / "pages" / "unsubscribe_digest.py"), default_timeout=60)
    app.query_params["digest"] = link.split("digest=", 1)[1]
    app = app.run()
    assert not app.exception
    app = next(button for button in app.button if button.label == "Stop this digest").click().run()
    assert any("no longer receive this digest" in element.value for element in app.success)
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(digest_subscriptions)).scalar_one() == 0
