"""The Campaigns page in AppTest on a demo database: create with a suggestion, launch, export, mail, results."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db import make_engine
from crm.marketing.campaigns import list_campaigns, recipient_status_counts
from crm.schema import customers
from crm.settings import get_settings
from tests.mail_server import LocalSmtpServer
from tests.ui.apptest_support import FrameAppTest, app_as, copy_database, make_demo_database


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("campaigns-demo") / "demo.db"
    make_demo_database(path, customers=120, orders=900)
    return path


@pytest.fixture
def database_url(demo_template: Path, tmp_path: Path) -> Iterator[str]:
    url = copy_database(demo_template, tmp_path)
    engine = make_engine(url)
    with engine.begin() as connection:  # everybody with an email agrees to marketing
        connection.execute(customers.update().where(customers.c.email.is_not(None)).values(marketing_consent=True))
    engine.dispose()
    os.environ.pop("CRM_SMTP_URL", None)
    yield url
    os.environ.pop("CRM_SMTP_URL", None)
    os.environ.pop("CRM_MAIL_FROM", None)
    get_settings.cache_clear()


def _campaigns_page(database_url: str, role: str = "admin") -> FrameAppTest:
    app = app_as(database_url, role).run()
    return app.switch_page("pages/campaigns.py").run()


def _click(app: FrameAppTest, label: str) -> FrameAppTest:
    next(button for button in app.button if button.label == label).click()
    return app.run()


def _create_draft(app: FrameAppTest) -> FrameAppTest:
    app.text_input(key="campaign_name").input("Come back")
    app.number_input(key="campaign_holdout").set_value(20)
    app = app.run()
    app.button(key="campaign_suggestion_0").click()  # fills subject and body from the first suggestion
    app = app.run()
    assert app.text_input(key="campaign_subject").value
    return app.button(key="campaign_create").click().run()


def test_the_demo_campaigns_are_listed_with_results(database_url: str) -> None:
    app = _campaigns_page(database_url)
    assert not app.exception
    assert app.title[0].value == "Campaigns"
    names = set(app.dataframe[0].value["name"])
    assert {"Spring refresh", "Weekend flash sale"} <= names
    assert "Results" in [header.value for header in app.subheader]
    assert not app.get("plotly_chart")  # the newest demo campaign is still planned: nothing sent, no chart
    sent = app.dataframe[0].value.query("name == 'Weekend flash sale'")["id"].iloc[0]
    app = app.selectbox(key="campaign_selected").set_value(int(sent)).run()
    assert not app.exception
    assert app.get("plotly_chart")  # conversion per group with each rate's interval


def test_a_campaign_is_created_from_a_suggestion_launched_and_exported_without_smtp(database_url: str) -> None:
    app = _create_draft(_campaigns_page(database_url))
    assert not app.exception
    engine = make_engine(database_url)
    created = list_campaigns(engine)[0]
    assert (created.name, created.status, created.holdout_percent) == ("Come back", "draft", 20)
    assert any("created as a draft" in message.value for message in app.success)
    app = _click(app, "Launch: freeze the recipients")
    assert not app.exception
    counts = recipient_status_counts(engine, created.id)
    assert counts.get("pending", 0) > 0 and counts.get("holdout", 0) > 0
    assert any("No SMTP server is configured" in message.value for message in app.info)
    app = _click(app, "Prepare the CSV of messages")
    assert not app.exception
    assert recipient_status_counts(engine, created.id).get("exported") == counts["pending"]
    engine.dispose()


def test_a_launched_email_campaign_is_sent_through_smtp_from_the_page(database_url: str) -> None:
    app = _create_draft(_campaigns_page(database_url))
    app = _click(app, "Launch: freeze the recipients")
    engine = make_engine(database_url)
    campaign = list_campaigns(engine)[0]
    pending = recipient_status_counts(engine, campaign.id)["pending"]
    assert pending > 10  # the demo segment has real members to mail
    with LocalSmtpServer() as server:
        os.environ["CRM_SMTP_URL"] = server.url
        os.environ["CRM_MAIL_FROM"] = "news@shop.test"
        get_settings.cache_clear()
        app = app.run()
        app = _click(app, f"Send {pending} messages")
        assert not app.exception
        assert len(server.messages) == pending
    assert recipient_status_counts(engine, campaign.id).get("sent") == pending
    with engine.connect() as connection:
        addresses = set(connection.execute(select(customers.c.email)).scalars())
    assert all(mail.recipients[0] in addresses for mail in server.messages)
    engine.dispose()


def test_analysts_see_results_but_cannot_create_or_launch(database_url: str) -> None:
    app = _campaigns_page(database_url, "analyst")
    assert not app.exception
    assert not [button for button in app.button if button.label in ("Create campaign", "Launch: freeze the recipients")]
    assert "Results" in [header.value for header in app.subheader]
