"""Alerts fire once per condition, clear when it is gone and fire again after; recipients get one mail.

tiny_shop's stock (available = on hand − reserved vs reorder level):
  row 1 T-shirt 50 − 1 = 49 vs 10 · row 2 Mug 8 − 5 = 3 vs 10 · row 3 Jacket 0 − 0 = 0 vs 2.
Its follow-up: interaction 2 "Bulk pricing" with Dan, due 1 Apr 2025 09:00 (UTC), owner sam.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, update

from crm.marketing.mail import parse_smtp_url
from crm.notifications.alerts import AlertError, alert_rules_frame, check_alerts, open_alerts, set_alert
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import alert_episodes, audit_log, inventory, notification_deliveries, orders, tickets
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer
from tests.notifications.conftest import APP_URL

MANAGER = Actor(user_id=None, username="system", role="manager")
ANALYST = Actor(user_id=None, username="ann", role="analyst")
NOW = datetime(2025, 4, 3, 9, 0, tzinfo=UTC)


def _check(shop: TinyShop, server: LocalSmtpServer | None, now: datetime = NOW):  # type: ignore[no-untyped-def]
    mail = parse_smtp_url(server.url, "crm@shop.test") if server else None
    return check_alerts(shop.engine, mail, now=now, zone_name="UTC", app_url=APP_URL)


def _deliveries(shop: TinyShop) -> int:
    with shop.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(notification_deliveries)).scalar_one()


def test_low_stock_fires_once_per_item_and_again_only_after_it_cleared(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    set_alert(shop_with_mail.engine, MANAGER, "low_stock", recipients=["ada", "sam"])
    first = _check(shop_with_mail, smtp_server)
    assert [line.split(": ", 1)[1] for line in first.opened] == [
        "Mug (MUG-1) at Main: 3 available, reorder level 10",
        "Jacket (JK-1) at Main: 0 available, reorder level 2",
    ]
    assert sorted(mail.recipients[0] for mail in smtp_server.messages) == ["ada@shop.test", "sam@shop.test"]
    mail = smtp_server.messages[0]
    assert mail.subject == "Pulse CRM alert: Stock below reorder level (2 new)"
    assert "- Mug (MUG-1) at Main: 3 available, reorder level 10" in mail.part("text/plain")
    assert f"{APP_URL}/notifications" in mail.part("text/plain")

    again = _check(shop_with_mail, smtp_server, NOW + timedelta(hours=1))
    assert (again.opened, again.cleared, len(smtp_server.messages)) == ([], 0, 2)

    with shop_with_mail.engine.begin() as connection:  # the mugs are restocked: that condition clears
        connection.execute(update(inventory).where(inventory.c.id == 2).values(on_hand=30))
    restocked = _check(shop_with_mail, smtp_server, NOW + timedelta(hours=2))
    assert (restocked.opened, restocked.cleared) == ([], 1)
    assert open_alerts(shop_with_mail.engine)["summary"].tolist() == [
        "Jacket (JK-1) at Main: 0 available, reorder level 2"
    ]

    with shop_with_mail.engine.begin() as connection:  # sold out again: it fires again
        connection.execute(update(inventory).where(inventory.c.id == 2).values(on_hand=5))
    refired = _check(shop_with_mail, smtp_server, NOW + timedelta(hours=3))
    assert len(refired.opened) == 1 and len(smtp_server.messages) == 4
    assert smtp_server.messages[-1].subject == "Pulse CRM alert: Stock below reorder level (1 new)"


def test_the_threshold_is_a_share_of_the_reorder_level(shop_with_mail: TinyShop) -> None:
    # 10 %: fires when available × 100 < reorder level × 10 — the jacket (0 < 20), not the mugs (300 ≥ 100).
    set_alert(shop_with_mail.engine, MANAGER, "low_stock", threshold=10)
    run = _check(shop_with_mail, None)
    assert [line.split(": ", 1)[1] for line in run.opened] == ["Jacket (JK-1) at Main: 0 available, reorder level 2"]


def test_follow_ups_are_overdue_from_the_day_after_they_were_due(shop_with_mail: TinyShop) -> None:
    set_alert(shop_with_mail.engine, MANAGER, "overdue_follow_ups")
    due_day = _check(shop_with_mail, None, datetime(2025, 4, 1, 18, 0, tzinfo=UTC))
    next_day = _check(shop_with_mail, None, datetime(2025, 4, 2, 0, 30, tzinfo=UTC))
    assert due_day.opened == []
    assert next_day.opened == ["Follow-ups overdue: Bulk pricing with Dan Moss, due 01 Apr 2025 09:00, owner sam"]


def test_a_follow_up_threshold_in_days_waits_that_long(shop_with_mail: TinyShop) -> None:
    set_alert(shop_with_mail.engine, MANAGER, "overdue_follow_ups", threshold=3)
    assert _check(shop_with_mail, None, datetime(2025, 4, 4, 12, tzinfo=UTC)).opened == []
    assert len(_check(shop_with_mail, None, datetime(2025, 4, 5, 12, tzinfo=UTC)).opened) == 1


def _daily_orders(shop: TinyShop, totals: dict[datetime, str]) -> None:
    with shop.engine.begin() as connection:
        connection.execute(
            insert(orders),
            [
                {
                    "order_number": f"R{index}",
                    "customer_id": 1,
                    "status": "delivered",
                    "order_date": moment,
                    "subtotal": Decimal(total),
                    "total": Decimal(total),
                    "created_at": moment,
                    "updated_at": moment,
                }
                for index, (moment, total) in enumerate(totals.items())
            ],
        )


def test_a_day_far_below_its_weekdays_average_fires_a_revenue_drop(shop_with_mail: TinyShop) -> None:
    # Mondays 2 Jun – 21 Jul 2025 sold 100.00 each (average 100.00); Monday 28 Jul sold 60.00: 40 % below.
    mondays = [datetime(2025, 6, 2, 12) + timedelta(weeks=week) for week in range(8)]
    _daily_orders(shop_with_mail, {**{day: "100.00" for day in mondays}, datetime(2025, 7, 28, 15): "60.00"})
    tuesday = datetime(2025, 7, 29, 6, tzinfo=UTC)
    set_alert(shop_with_mail.engine, MANAGER, "revenue_drop", threshold=45)
    assert _check(shop_with_mail, None, tuesday).opened == []  # 40 % is not more than 45 %
    set_alert(shop_with_mail.engine, MANAGER, "revenue_drop", threshold=30)
    assert _check(shop_with_mail, None, tuesday).opened == [
        "Revenue drop: Revenue of Mon 28 Jul 2025 was $60.00, 40.0% below the average $100.00 of the previous 8 Mondays"
    ]
    # The next day is compared with its own weekday (no Tuesday sales at all): the Monday alert clears.
    assert _check(shop_with_mail, None, tuesday + timedelta(days=1)).cleared == 1


def test_without_sales_on_that_weekday_there_is_nothing_to_compare(shop_with_mail: TinyShop) -> None:
    set_alert(shop_with_mail.engine, MANAGER, "revenue_drop", threshold=0)
    assert _check(shop_with_mail, None, datetime(2025, 7, 29, 6, tzinfo=UTC)).opened == []


def test_a_switched_off_alert_does_not_run(shop_with_mail: TinyShop, smtp_server: LocalSmtpServer) -> None:
    set_alert(shop_with_mail.engine, MANAGER, "low_stock", active=False, recipients=["ada"])
    assert _check(shop_with_mail, smtp_server).opened == []
    assert smtp_server.messages == []


def test_without_a_mail_server_alerts_still_open_for_the_app_and_nothing_is_claimed(shop_with_mail: TinyShop) -> None:
    set_alert(shop_with_mail.engine, MANAGER, "low_stock", recipients=["ada"])
    assert len(_check(shop_with_mail, None).opened) == 2
    assert _deliveries(shop_with_mail) == 0
    assert len(open_alerts(shop_with_mail.engine, user_id=1)) == 2
    assert len(open_alerts(shop_with_mail.engine, user_id=2)) == 0  # sam is not a recipient


def test_alert_settings_are_for_managers_audited_and_checked(shop_with_mail: TinyShop) -> None:
    engine = shop_with_mail.engine
    with pytest.raises(PermissionDeniedError):
        set_alert(engine, ANALYST, "low_stock", threshold=50)
    with pytest.raises(AlertError, match="recipients: no user named 'zed'"):
        set_alert(engine, MANAGER, "low_stock", recipients=["ada", "zed"])
    with pytest.raises(AlertError, match="threshold: -1 is below 0"):
        set_alert(engine, MANAGER, "low_stock", threshold=-1)
    set_alert(engine, MANAGER, "sla_breaches", threshold=2, recipients=["sam"])
    frame = alert_rules_frame(engine).set_index("kind")
    assert frame.loc["sla_breaches", ["threshold", "active", "recipients"]].tolist() == [2.0, True, "sam"]
    assert frame.loc["low_stock", "active"] == False  # noqa: E712 (never set up: shown with its default, off)
    with engine.connect() as connection:
        logged = (
            connection.execute(select(audit_log.c.after_json).where(audit_log.c.entity == "alert_rules"))
            .scalars()
            .all()
        )
        episodes = connection.execute(select(func.count()).select_from(alert_episodes)).scalar_one()
    assert len(logged) == 1 and '"recipients": ["sam"]' in logged[0]
    assert episodes == 0


def test_tickets_past_their_priority_targets_fire_per_target(shop_with_mail: TinyShop) -> None:
    # Targets (first response / resolution): urgent 1 h / 24 h, high 4 h / 48 h, low 24 h / 168 h.
    # Ticket 2 (high, open, answered) was due resolved on 6 Mar 12:00; ticket 4 (low, waiting) on 1 Apr 10:00.
    # A new urgent ticket 5 opened 30 Mar 10:00 with no answer: first response due at 11:00.
    with shop_with_mail.engine.begin() as connection:
        connection.execute(
            insert(tickets),
            [
                {
                    "id": 5,
                    "ticket_number": "CS202503300001",
                    "customer_id": 3,
                    "subject": "Broken mug",
                    "category": "returns",
                    "priority": "urgent",
                    "status": "open",
                    "created_at": datetime(2025, 3, 30, 10),
                    "updated_at": datetime(2025, 3, 30, 10),
                }
            ],
        )
    set_alert(shop_with_mail.engine, MANAGER, "sla_breaches")
    assert _check(shop_with_mail, None, datetime(2025, 3, 30, 12, tzinfo=UTC)).opened == [
        "Tickets past their service targets: CS202503040001 (high) “Cancel my order”: not resolved within 48 h",
        "Tickets past their service targets: CS202503300001 (urgent) “Broken mug”: no first response within 1 h",
    ]
    # An hour's grace: at 1 Apr 10:30 ticket 4 is only half an hour past its target.
    set_alert(shop_with_mail.engine, MANAGER, "sla_breaches", threshold=1)
    later = _check(shop_with_mail, None, datetime(2025, 4, 1, 10, 30, tzinfo=UTC))
    assert [line.split(": ", 1)[1].split(" ", 1)[0] for line in later.opened] == [
        "CS202503300001"
    ]  # now unresolved too
    assert open_alerts(shop_with_mail.engine)["summary"].str.split(" ").str[0].tolist() == [
        "CS202503040001",
        "CS202503300001",
        "CS202503300001",
    ]
