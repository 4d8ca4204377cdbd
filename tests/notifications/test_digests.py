"""Digest mails over a real SMTP server: the Overview's numbers, charts as PNGs, links, roles, once per period.

tiny_shop, week of Mon 17 – Sun 23 Mar 2025 (a weekly Monday digest sent on Mon 24 Mar):
  O7 Dan 20 Mar pending 50.00 → revenue 50.00, 1 order, 1 buying customer, AOV 50.00; no new customers.
  The week before (10–16 Mar): O6 Dan 15 Mar refunded → 1 order, revenue 0.00.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from crm.marketing.mail import parse_smtp_url
from crm.notifications.digests import send_due_digests
from crm.notifications.links import stop_digest_by_token, verify_digest_token
from crm.notifications.subscriptions import SubscriptionError, subscribe_digest, unsubscribe_digest
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log, digest_subscriptions, notification_deliveries
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer
from tests.notifications.conftest import APP_URL, SECRET_KEY, charts_expected

ADMIN = Actor(user_id=1, username="ada", role="admin")
AGENT = Actor(user_id=2, username="sam", role="agent")
MONDAY_MORNING = datetime(2025, 3, 24, 8, 5, tzinfo=UTC)
# Subscriptions are made "now"; backdate them so the March 2025 occurrences count as after subscribing.
LONG_AGO = datetime(2025, 1, 1)


def _send(shop: TinyShop, server: LocalSmtpServer, now: datetime = MONDAY_MORNING, *, charts: bool = False):  # type: ignore[no-untyped-def]
    """Charts only where a test looks at them: each drawing starts a browser (seconds on two busy cores)."""
    return send_due_digests(
        shop.engine,
        parse_smtp_url(server.url, "crm@shop.test"),
        now=now,
        zone_name="UTC",
        app_url=APP_URL,
        secret_key=SECRET_KEY,
        with_charts=charts and charts_expected(),
    )


def _subscribe(shop: TinyShop, actor: Actor, username: str, **options: object) -> int:
    subscription_id = subscribe_digest(shop.engine, actor, username=username, **options)  # type: ignore[arg-type]
    with shop.engine.begin() as connection:
        made = digest_subscriptions.c.id == subscription_id
        connection.execute(digest_subscriptions.update().where(made).values(created_at=LONG_AGO))
    return subscription_id


def _png_sizes(mail) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    sizes = []
    for part in mail.message.walk():
        if part.get_content_type() == "image/png":
            data = part.get_content()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk follows the signature
            sizes.append((width, height))
    return sizes


def test_a_weekly_digest_carries_the_weeks_kpis_against_the_week_before(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    _subscribe(shop_with_mail, ADMIN, "ada", frequency="weekly", weekday=0, send_at="08:00")
    run = _send(shop_with_mail, smtp_server, charts=True)
    assert run.sent == ["ada (weekly, 2025-03-24 08:00)"]
    (mail,) = smtp_server.messages
    assert mail.recipients == ["ada@shop.test"]
    assert mail.subject == "Pulse CRM weekly digest: Mon 17 Mar 2025 – Sun 23 Mar 2025"
    text = mail.part("text/plain")
    assert "Orders from 17 Mar to 23 Mar 2025" in text
    assert "Revenue: $50.00 (nothing to compare: none the week before)" in text
    assert "Orders: 1 (+0.0% vs the week before)" in text
    assert "Buying customers: 1 (nothing to compare: none the week before)" in text
    assert "Average order value: $50.00" in text
    assert "New customers: 0" in text
    # The admin may see personal data: the week's largest order names its customer.
    assert "O7  Dan Moss  $50.00" in text
    assert f"Open the Overview with these filters: {APP_URL}/overview?start=2025-03-17&end=2025-03-23" in text
    html_part = mail.part("text/html")
    assert "<td" in html_part and "Dan Moss" in html_part
    if charts_expected():
        assert 'src="cid:revenue_trend"' in html_part and 'src="cid:growth"' in html_part
        assert len(_png_sizes(mail)) == 2 and all(width >= 640 for width, _height in _png_sizes(mail))


def test_an_agents_digest_carries_no_personal_data(shop_with_mail: TinyShop, smtp_server: LocalSmtpServer) -> None:
    _subscribe(shop_with_mail, AGENT, "sam", frequency="weekly", weekday=0)
    _send(shop_with_mail, smtp_server)
    (mail,) = smtp_server.messages
    for part in ("text/plain", "text/html"):
        assert "Dan" not in mail.part(part) and "Largest orders" not in mail.part(part)
    assert "Revenue: $50.00" in mail.part("text/plain")


def test_the_digest_follows_the_subscriptions_filters(shop_with_mail: TinyShop, smtp_server: LocalSmtpServer) -> None:
    # Only Aurora: Dan's pending order O7 is Boreal, so the Aurora week had no revenue.
    _subscribe(shop_with_mail, ADMIN, "ada", frequency="weekly", weekday=0, filters_query="brands=Aurora")
    _send(shop_with_mail, smtp_server)
    text = smtp_server.messages[0].part("text/plain")
    assert "brand: Aurora" in text
    assert "Revenue: $0.00" in text
    assert "overview?start=2025-03-17&end=2025-03-23&brands=Aurora" in text


def test_each_period_is_sent_once_however_often_the_command_runs(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    _subscribe(shop_with_mail, ADMIN, "ada", frequency="daily", send_at="07:30")
    first = _send(shop_with_mail, smtp_server)
    again = _send(shop_with_mail, smtp_server, datetime(2025, 3, 24, 21, 0, tzinfo=UTC))
    next_day = _send(shop_with_mail, smtp_server, datetime(2025, 3, 25, 7, 31, tzinfo=UTC))
    assert (len(first.sent), len(again.sent), again.skipped, len(next_day.sent)) == (1, 0, 1, 1)
    assert [mail.subject for mail in smtp_server.messages] == [
        "Pulse CRM daily digest: Sun 23 Mar 2025",
        "Pulse CRM daily digest: Mon 24 Mar 2025",
    ]
    with shop_with_mail.engine.connect() as connection:
        statuses = connection.execute(select(notification_deliveries.c.status)).scalars().all()
    assert statuses == ["sent", "sent"]


def test_a_digest_made_after_its_time_waits_for_the_next_occurrence(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    subscribe_digest(shop_with_mail.engine, ADMIN, username="ada", frequency="daily", send_at="08:00")
    # Subscribed today (2026 and later): the March 2025 occurrence was before it, so nothing is sent.
    run = _send(shop_with_mail, smtp_server)
    assert (run.sent, run.skipped) == ([], 1)
    assert smtp_server.messages == []


def test_a_refused_recipient_is_recorded_as_failed_and_not_retried(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    smtp_server.refuse("ada@shop.test")
    _subscribe(shop_with_mail, ADMIN, "ada", frequency="weekly", weekday=0)
    run = _send(shop_with_mail, smtp_server)
    assert len(run.failed) == 1 and "550" in run.failed[0]
    assert _send(shop_with_mail, smtp_server).failed == []  # claimed once: never sent twice
    with shop_with_mail.engine.connect() as connection:
        row = connection.execute(select(notification_deliveries)).one()
    assert row.status == "failed" and "550" in row.error


def test_the_unsubscribe_link_stops_that_digest_and_a_forged_one_does_nothing(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    subscription_id = _subscribe(shop_with_mail, AGENT, "sam", frequency="weekly", weekday=0)
    _send(shop_with_mail, smtp_server)
    text = smtp_server.messages[0].part("text/plain")
    link = next(line for line in text.splitlines() if line.startswith("Stop this digest: ")).split(": ", 1)[1]
    token = link.split("digest=", 1)[1].replace("%2E", ".")
    assert link.startswith(f"{APP_URL}/unsubscribe-digest?digest=")
    assert smtp_server.messages[0].message["List-Unsubscribe"] == f"<{link}>"
    assert verify_digest_token(SECRET_KEY, token) == (subscription_id, 2)
    forged = f"{subscription_id + 1}.2.{token.rsplit('.', 1)[1]}"
    assert not stop_digest_by_token(shop_with_mail.engine, SECRET_KEY, forged).valid
    result = stop_digest_by_token(shop_with_mail.engine, SECRET_KEY, token)
    assert result.valid and result.removed
    assert stop_digest_by_token(shop_with_mail.engine, SECRET_KEY, token).removed is False
    with shop_with_mail.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(digest_subscriptions)).scalar_one() == 0
        last = connection.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).one()
    assert (last.username, last.action, last.entity) == ("unsubscribe-link", "delete", "digest_subscriptions")


def test_users_subscribe_themselves_and_only_admins_subscribe_others(shop_with_mail: TinyShop) -> None:
    engine = shop_with_mail.engine
    own = subscribe_digest(engine, AGENT, username="sam", frequency="daily", send_at="9:15")
    with pytest.raises(PermissionDeniedError, match="administrators"):
        subscribe_digest(engine, AGENT, username="ada", frequency="daily")
    again = subscribe_digest(engine, AGENT, username="sam", frequency="daily", send_at="10:00")
    assert again == own  # one daily digest per user: a second subscription changes its time
    with engine.connect() as connection:
        assert connection.execute(select(digest_subscriptions.c.send_at)).scalar_one() == "10:00"
        actions = (
            connection.execute(
                select(audit_log.c.action).where(audit_log.c.entity == "digest_subscriptions").order_by(audit_log.c.id)
            )
            .scalars()
            .all()
        )
    assert actions == ["create", "update"]
    assert unsubscribe_digest(engine, ADMIN, username="sam") == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"username": "nobody", "frequency": "daily"}, "user 'nobody' does not exist"),
        ({"username": "ada", "frequency": "hourly"}, "every: 'hourly'"),
        ({"username": "ada", "frequency": "daily", "send_at": "25:00"}, "at: time of day '25:00'"),
        ({"username": "ada", "frequency": "weekly", "weekday": 9}, "weekday: 9"),
        ({"username": "ada", "frequency": "daily", "filters_query": "start=yesterday"}, "filters: start='yesterday'"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(
    shop_with_mail: TinyShop, options: dict[str, object], message: str
) -> None:
    with pytest.raises(SubscriptionError, match=message.replace("(", r"\(")):
        subscribe_digest(shop_with_mail.engine, ADMIN, **options)  # type: ignore[arg-type]


def test_a_user_without_an_email_address_cannot_subscribe(tiny_shop: TinyShop) -> None:
    with pytest.raises(SubscriptionError, match="no e-mail address"):
        subscribe_digest(tiny_shop.engine, ADMIN, username="ada", frequency="daily")
