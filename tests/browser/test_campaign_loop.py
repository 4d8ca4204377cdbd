"""The whole loop in a real browser: a rule pasted on the Segments page and saved → a campaign created from a
suggestion → launched → sent by email to a local SMTP server → a recipient unsubscribes through the link."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.db import init_database, make_engine
from crm.demo import DemoSize, generate_demo
from crm.marketing.segments import get_segment, segment_members
from crm.schema import campaign_recipients, campaigns, customers
from tests.browser.conftest import RunningApp, _served, _sign_in, wait_until_idle
from tests.mail_server import LocalSmtpServer

# Website customers with at least 12 counted orders: a few dozen people on the 300-customer demo.
RULE = {"all": [{"field": "source", "op": "=", "value": "website"}, {"field": "orders_count", "op": ">=", "value": 12}]}
SEGMENT = "Loop: loyal website buyers"


@pytest.fixture(scope="module")
def mail_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApp, LocalSmtpServer, int]]:
    """A server of its own with CRM_SMTP_URL pointing at a local aiosmtpd, and the rule's member count."""
    directory = tmp_path_factory.mktemp("campaign-loop")
    database_url = f"sqlite:///{directory / 'crm.db'}"
    engine = make_engine(database_url)
    init_database(engine)
    generate_demo(engine, DemoSize(customers=300, orders=3_000), seed=7, with_demo_accounts=True)
    with engine.begin() as connection:
        connection.execute(customers.update().where(customers.c.email.is_not(None)).values(marketing_consent=True))
    members = len(segment_members(engine, RULE))
    engine.dispose()
    with LocalSmtpServer() as server:
        # The links name the public address; the test opens their path on the served port.
        environment = {"CRM_SMTP_URL": server.url, "CRM_MAIL_FROM": "news@shop.test", "CRM_APP_URL": "https://crm.test"}
        with _served(database_url, directory, environment) as app:
            yield app, server, members


def test_a_rule_becomes_a_sent_campaign_and_the_unsubscribe_link_works(
    mail_app: tuple[RunningApp, LocalSmtpServer, int], page: Page
) -> None:
    app, server, members = mail_app
    assert 5 <= members <= 150
    _sign_in(page, app, "manager", path="segments")
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
    page.get_by_text("Rules as JSON").click()
    page.get_by_label("Paste rules (JSON) to replace the builder").fill(json.dumps(RULE))
    page.get_by_role("button", name="Use these rules").click()
    wait_until_idle(page)
    page.get_by_label("Name", exact=True).fill(SEGMENT)
    page.get_by_label("Name", exact=True).press("Enter")  # commit the text before clicking (no lost click)
    wait_until_idle(page)
    page.get_by_role("button", name="Save as new segment").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    engine = make_engine(app.database_url)
    assert get_segment(engine, SEGMENT).rules == RULE

    page.goto(f"{app.url}/campaigns")
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    page.get_by_text("New campaign").click()
    page.get_by_label("Name").fill("Loop campaign")
    page.get_by_label("Name").press("Enter")
    wait_until_idle(page)
    page.get_by_label("Segment").click()
    page.get_by_role("option", name=SEGMENT).click()
    wait_until_idle(page)
    page.get_by_role("button", name="Use").first.click()
    wait_until_idle(page)
    expect(page.get_by_text(re.compile(r"members today"))).to_be_visible()
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_text(re.compile(r"Campaign #\d+ created as a draft"))).to_be_visible()
    wait_until_idle(page)
    page.get_by_role("button", name="Launch: freeze the recipients").click()
    expect(page.get_by_text(re.compile(r"Launched: \d+ to contact"))).to_be_visible()

    with engine.connect() as connection:
        campaign_id = connection.execute(select(campaigns.c.id).where(campaigns.c.name == "Loop campaign")).scalar_one()
        pending = set(
            connection.execute(
                select(campaign_recipients.c.address).where(
                    campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.status == "pending"
                )
            ).scalars()
        )
    assert pending
    wait_until_idle(page)
    page.get_by_role("button", name=f"Send {len(pending)} messages").click()
    expect(page.get_by_text(f"Sent {len(pending)}, failed 0.")).to_be_visible()
    received = {mail.recipients[0]: mail for mail in server.messages}
    assert set(received) == pending  # everyone to contact, nobody from the holdout or without consent
    expect(page.get_by_text(re.compile(r"Within 14 days"))).to_be_visible()

    # A recipient follows the link in their message: no sign-in, one click, consent cleared.
    address, mail = next(iter(received.items()))
    link = re.search(r"(\S+/unsubscribe\?token=\S+)", mail.part("text/plain"))
    assert link is not None
    token_path = link.group(1).split("/unsubscribe", 1)[1]
    visitor = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        outside = visitor.new_page()
        # A token whose signature was tampered with is refused and changes nothing.
        outside.goto(f"{app.url}/unsubscribe{token_path[:-4]}0000")
        outside.get_by_role("button", name="Unsubscribe me").click()
        expect(outside.get_by_text("This unsubscribe link is not valid")).to_be_visible()
        outside.goto(f"{app.url}/unsubscribe{token_path}")
        expect(outside.get_by_role("heading", name="Unsubscribe")).to_be_visible()
        outside.get_by_role("button", name="Unsubscribe me").click()
        expect(outside.get_by_text("You are unsubscribed")).to_be_visible()
    finally:
        visitor.close()
    with engine.connect() as connection:
        consent = connection.execute(
            select(customers.c.marketing_consent)
            .join(campaign_recipients, campaign_recipients.c.customer_id == customers.c.id)
            .where(campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.address == address)
        ).scalar_one()
    engine.dispose()
    assert consent is False or consent == 0
