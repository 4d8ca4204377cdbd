"""Campaigns end to end on both engines: launch freezes recipients, holdout and consent rules hold,
email really goes through a local SMTP server, a crashed send resumes without mailing anyone twice."""

from __future__ import annotations

import io
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from sqlalchemy import Engine, select

import crm.marketing.campaigns as campaigns_module
from crm.marketing.campaigns import (
    INTERRUPTED_ERROR,
    CampaignError,
    contact_reason,
    create_campaign,
    export_campaign_messages,
    get_campaign,
    launch_campaign,
    preview_campaign,
    send_campaign,
)
from crm.marketing.mail import parse_smtp_url
from crm.marketing.templates import Template, TemplateError
from crm.marketing.unsubscribe import verify_unsubscribe_token
from crm.permissions import PermissionDeniedError
from crm.schema import audit_log, customers, utc_now
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer
from tests.marketing.campaign_support import (
    ADMIN,
    AGENT,
    ANALYST,
    APP_URL,
    GREETING,
    MANAGER,
    SECRET,
    make_campaign,
    prepare_consent,
    recipient_statuses,
)


@pytest.fixture
def shop(tiny_shop: TinyShop) -> Engine:
    prepare_consent(tiny_shop.engine)
    return tiny_shop.engine


def _send(engine: Engine, campaign_id: int, server: LocalSmtpServer, **options: object) -> object:
    mail = parse_smtp_url(server.url, "news@shop.test")
    return send_campaign(engine, ADMIN, campaign_id, mail=mail, secret_key=SECRET, app_url=APP_URL, **options)  # type: ignore[arg-type]


def test_launch_freezes_members_with_a_status_and_the_reason_of_each_not_contactable_one(shop: Engine) -> None:
    campaign_id = make_campaign(shop)
    summary = launch_campaign(shop, ADMIN, campaign_id)
    # Eve has no consent, Chloe no email: Alice, Bob and Dan are contacted.
    assert (summary.recipients, summary.to_contact, summary.holdout) == (5, 3, 0)
    assert summary.not_contactable == {"no marketing consent": 1, "no email address": 1}
    assert recipient_statuses(shop, campaign_id) == {
        1: ("pending", None),
        2: ("pending", None),
        3: ("not_contactable", "no email address"),
        4: ("pending", None),
        5: ("not_contactable", "no marketing consent"),
    }
    assert get_campaign(shop, campaign_id).status == "launched"
    with pytest.raises(CampaignError, match="only a draft can be launched"):
        launch_campaign(shop, ADMIN, campaign_id)


def test_sms_needs_a_phone_number_and_consent_comes_first(shop: Engine) -> None:
    with shop.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 2).values(phone=None, phone_normalized=None))
        connection.execute(customers.update().where(customers.c.id == 5).values(phone=None, phone_normalized=None))
    campaign_id = make_campaign(shop, channel="sms")
    summary = launch_campaign(shop, ADMIN, campaign_id)
    # Chloe has a phone (only her email is missing); Eve lacks both consent and phone: consent is the reason.
    assert summary.not_contactable == {"no phone number": 1, "no marketing consent": 1}
    assert recipient_statuses(shop, campaign_id)[2] == ("not_contactable", "no phone number")


def test_a_launched_campaign_keeps_its_recipients_when_the_segment_changes(shop: Engine) -> None:
    website = {"all": [{"field": "source", "op": "=", "value": "website"}]}
    campaign_id = make_campaign(shop, rules=website, segment_name="Website")
    launch_campaign(shop, ADMIN, campaign_id)
    with shop.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 4).values(source="referral"))
    assert sorted(recipient_statuses(shop, campaign_id)) == [1, 4, 5]  # Dan stays in the launched campaign


def test_the_holdout_is_drawn_from_the_contactable_members_by_the_stored_seed(shop: Engine) -> None:
    with shop.begin() as connection:
        connection.execute(customers.update().values(marketing_consent=True, email="x@example.com"))
    first = make_campaign(shop, holdout=40, seed=123)
    second = create_campaign(
        shop, ADMIN, name="Again", segment="Everyone", channel="email", template=GREETING, holdout_percent=40, seed=123
    )
    held = []
    for campaign_id in (first, second):
        summary = launch_campaign(shop, ADMIN, campaign_id)
        assert (summary.to_contact, summary.holdout) == (3, 2)  # round(5 × 40 %) = 2
        held.append(
            sorted(c for c, (status, _) in recipient_statuses(shop, campaign_id).items() if status == "holdout")
        )
    assert held[0] == held[1]  # same seed, same members: same control group
    assert get_campaign(shop, first).seed == 123


def test_email_is_sent_over_smtp_personalised_with_plain_text_html_and_an_unsubscribe_link(
    shop: Engine, smtp_server: LocalSmtpServer
) -> None:
    campaign_id = make_campaign(shop)
    launch_campaign(shop, ADMIN, campaign_id)
    summary = _send(shop, campaign_id, smtp_server, batch_size=2)
    assert (summary.sent, summary.failed, summary.finished) == (3, 0, True)  # type: ignore[attr-defined]
    received = {mail.recipients[0]: mail for mail in smtp_server.messages}
    assert sorted(received) == ["alice@example.com", "bob@example.com", "dan@example.com"]
    alice = received["alice@example.com"]
    assert alice.sender == "news@shop.test"
    assert alice.subject == "Hello Alice"
    text = alice.part("text/plain")
    assert "Dear Alice Kim,\nyou have 1,200 points (silver)." in text
    assert "Favourite: Apparel. Last order: 2025-03-28." in text
    assert "Dear Dan Moss,\nyou have 6,000 points (gold)." in received["dan@example.com"].part("text/plain")
    assert "Favourite: Home. Last order: 2025-03-20." in received["dan@example.com"].part("text/plain")
    link = text.rsplit("Unsubscribe: ", 1)[1].strip()
    assert link.startswith(f"{APP_URL}/unsubscribe?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert verify_unsubscribe_token(SECRET, token) == (1, campaign_id)
    assert f'<a href="{link}">' in alice.part("text/html")
    assert str(alice.message["List-Unsubscribe"]).strip() == f"<{link}>"
    assert {status for status, _ in recipient_statuses(shop, campaign_id).values()} == {"sent", "not_contactable"}
    assert get_campaign(shop, campaign_id).status == "sent"


def test_the_holdout_is_never_mailed(shop: Engine, smtp_server: LocalSmtpServer) -> None:
    campaign_id = make_campaign(shop, holdout=50, seed=5)
    launch_campaign(shop, ADMIN, campaign_id)
    _send(shop, campaign_id, smtp_server)
    statuses = recipient_statuses(shop, campaign_id)
    holdout_emails = {
        f"{name}@example.com" for cid, name in ((1, "alice"), (2, "bob"), (4, "dan")) if statuses[cid][0] == "holdout"
    }
    mailed = {mail.recipients[0] for mail in smtp_server.messages}
    assert len(holdout_emails) == 2  # round(3 × 50 %) = 2 (round half to even)
    assert len(mailed) == 1 and not mailed & holdout_emails


def test_a_refused_recipient_is_marked_failed_with_the_server_error_and_the_others_go_out(
    shop: Engine, smtp_server: LocalSmtpServer
) -> None:
    smtp_server.refuse("bob@example.com")
    campaign_id = make_campaign(shop)
    launch_campaign(shop, ADMIN, campaign_id)
    summary = _send(shop, campaign_id, smtp_server)
    assert (summary.sent, summary.failed) == (2, 1)  # type: ignore[attr-defined]
    status, error = recipient_statuses(shop, campaign_id)[2]
    assert status == "failed" and error is not None and "550" in error


def test_a_send_that_crashes_mid_batch_resumes_without_mailing_anyone_twice(
    shop: Engine, smtp_server: LocalSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = make_campaign(shop)
    launch_campaign(shop, ADMIN, campaign_id)
    real_record = campaigns_module._record_outcome
    calls = {"count": 0}

    def crash_on_second(engine: Engine, recipient_id: int, error: str | None) -> None:
        calls["count"] += 1
        if calls["count"] == 2:
            raise RuntimeError("power cut")  # the 2nd message left, its "sent" was never written
        real_record(engine, recipient_id, error)

    monkeypatch.setattr(campaigns_module, "_record_outcome", crash_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        _send(shop, campaign_id, smtp_server)
    monkeypatch.setattr(campaigns_module, "_record_outcome", real_record)
    assert len(smtp_server.messages) == 2
    assert sorted(
        status for status, _ in recipient_statuses(shop, campaign_id).values() if status != "not_contactable"
    ) == [
        "pending",
        "sending",
        "sent",
    ]

    resumed = _send(shop, campaign_id, smtp_server)
    mailed = [mail.recipients[0] for mail in smtp_server.messages]
    assert sorted(mailed) == ["alice@example.com", "bob@example.com", "dan@example.com"]  # each once
    assert (resumed.sent, resumed.finished) == (1, False)  # type: ignore[attr-defined]

    # Ten minutes later the dead run's claim is given up: failed, delivery unknown, never resent.
    later = _send(shop, campaign_id, smtp_server, now=lambda: utc_now() + timedelta(minutes=11))
    assert (later.sent, later.interrupted, later.finished) == (0, 1, True)  # type: ignore[attr-defined]
    assert len(smtp_server.messages) == 3
    assert (("failed", INTERRUPTED_ERROR)) in recipient_statuses(shop, campaign_id).values()


def test_an_unknown_placeholder_is_refused_at_creation_naming_it(shop: Engine) -> None:
    with pytest.raises(TemplateError, match=r"Unknown placeholder \{nickname\} in the body"):
        make_campaign(shop, template=Template("Hi", "Hello {nickname}"))


def test_an_empty_render_refuses_the_launch_naming_the_customer(shop: Engine) -> None:
    campaign_id = make_campaign(shop, template=Template("{company}", "Hello"))
    with pytest.raises(CampaignError, match=r"subject renders empty for customer #1"):
        launch_campaign(shop, ADMIN, campaign_id)
    assert recipient_statuses(shop, campaign_id) == {}
    assert get_campaign(shop, campaign_id).status == "draft"


def test_preview_renders_for_real_recipients(shop: Engine) -> None:
    campaign_id = make_campaign(shop)
    previews = preview_campaign(shop, campaign_id, app_url=APP_URL, limit=2)
    assert [(p.customer_id, p.to, p.subject) for p in previews] == [
        (1, "alice@example.com", "Hello Alice"),
        (2, "bob@example.com", "Hello Bob"),
    ]
    assert "you have 300 points (bronze)" in previews[1].body


def test_sms_is_exported_as_a_formula_safe_csv_of_rendered_messages(shop: Engine) -> None:
    with shop.begin() as connection:
        connection.execute(customers.update().where(customers.c.id == 1).values(first_name="=HYPERLINK(1)"))
    campaign_id = make_campaign(shop, channel="sms", template=Template("Hi", "Hi {first_name}, {loyalty_points} pts"))
    launch_campaign(shop, ADMIN, campaign_id)
    with pytest.raises(CampaignError, match="export it as CSV"):
        send_campaign(shop, ADMIN, campaign_id, mail=None, secret_key=SECRET, app_url=APP_URL)
    data = export_campaign_messages(shop, ADMIN, campaign_id, secret_key=SECRET, app_url=APP_URL)
    frame = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig")
    assert list(frame["customer_id"]) == ["1", "2", "3", "4"]  # Chloe has a phone; Eve no consent
    assert list(frame["to"]) == ["010-0000-0001", "010-0000-0002", "010-0000-0003", "010-0000-0004"]
    assert frame.loc[1, "message"] == "Hi Bob, 300 pts"
    assert frame.loc[0, "first_name"].startswith("'=")  # neutralised for spreadsheets
    assert {status for status, _ in recipient_statuses(shop, campaign_id).values()} == {"exported", "not_contactable"}
    assert get_campaign(shop, campaign_id).status == "sent"


def test_managers_launch_analysts_and_agents_may_not(shop: Engine) -> None:
    campaign_id = make_campaign(shop)
    for actor in (ANALYST, AGENT):
        with pytest.raises(PermissionDeniedError):
            launch_campaign(shop, actor, campaign_id)
        with pytest.raises(PermissionDeniedError):
            create_campaign(shop, actor, name="x", segment="Everyone", channel="email", template=GREETING)
    assert launch_campaign(shop, MANAGER, campaign_id).to_contact == 3


def test_create_launch_and_send_are_in_the_audit_log(shop: Engine, smtp_server: LocalSmtpServer) -> None:
    campaign_id = make_campaign(shop)
    launch_campaign(shop, ADMIN, campaign_id)
    _send(shop, campaign_id, smtp_server)
    with shop.connect() as connection:
        rows = connection.execute(
            select(audit_log.c.action, audit_log.c.after_json)
            .where(audit_log.c.entity == "campaigns", audit_log.c.entity_id == str(campaign_id))
            .order_by(audit_log.c.id)
        ).all()
    assert [row.action for row in rows] == ["create", "update", "update", "update"]
    assert ['"event": "launch"' in rows[1].after_json, '"send started"' in rows[2].after_json] == [True, True]
    assert '"sent": 3' in rows[3].after_json


def test_an_unreachable_mail_server_stops_the_send_and_leaves_everyone_waiting_for_the_next_run(
    shop: Engine, smtp_server: LocalSmtpServer
) -> None:
    campaign_id = make_campaign(shop)
    launch_campaign(shop, ADMIN, campaign_id)
    closed = parse_smtp_url(f"smtp://127.0.0.1:{_closed_port()}", "news@shop.test")
    with pytest.raises(CampaignError, match=r"mail server failed .*Sent 0, failed 0; 3 still waiting"):
        send_campaign(shop, ADMIN, campaign_id, mail=closed, secret_key=SECRET, app_url=APP_URL)
    assert sorted(status for status, _ in recipient_statuses(shop, campaign_id).values()) == [
        "not_contactable",
        "not_contactable",
        "pending",
        "pending",
        "pending",
    ]
    assert _send(shop, campaign_id, smtp_server).sent == 3  # type: ignore[attr-defined]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # released on return: nothing listens there


def test_contact_reasons_check_consent_first_then_the_channels_address() -> None:
    assert contact_reason("email", False, "a@b.test", "1") == "no marketing consent"
    assert contact_reason("email", True, "  ", "1") == "no email address"
    assert contact_reason("email", True, "not-an-address", "1") == "invalid email address"
    assert contact_reason("email", True, "a@b.test", None) is None
    assert contact_reason("sms", True, "a@b.test", "") == "no phone number"
    assert contact_reason("export", True, None, None) == "no email address or phone number"
    assert contact_reason("export", True, None, "010") is None
