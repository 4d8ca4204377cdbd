"""Campaign results on tiny_shop, computed by hand: windows, conversion per group, uplift and its interval,
revenue per recipient, opens and clicks imported from a mail tool's CSV."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from sqlalchemy import Engine

from crm.analytics.campaigns import campaign_results, uplift_of
from crm.marketing.campaigns import launch_campaign
from crm.marketing.engagement import EngagementError, import_engagement
from crm.schema import campaign_recipients
from tests.fixtures.tiny_shop import TinyShop
from tests.marketing.campaign_support import ADMIN, make_campaign, prepare_consent

SENT = datetime(2025, 3, 10, 12)


@pytest.fixture
def sent_campaign(tiny_shop: TinyShop) -> tuple[Engine, int]:
    """Alice sent and Bob failed (contacted group), Dan in the holdout; Chloe and Eve not contactable.

    First delivery 2025-03-10 12:00. Counted orders after it: Dan O7 03-20 50.00, Alice O8 03-28 27.00
    (Dan's O6 03-15 is refunded and Bob's O4 03-03 is before the send and cancelled).
    """
    engine = tiny_shop.engine
    prepare_consent(engine)
    campaign_id = make_campaign(engine)
    launch_campaign(engine, ADMIN, campaign_id)
    with engine.begin() as connection:
        of = campaign_recipients.c.campaign_id == campaign_id
        connection.execute(
            campaign_recipients.update()
            .where(of, campaign_recipients.c.customer_id == 1)
            .values(status="sent", sent_at=SENT)
        )
        connection.execute(
            campaign_recipients.update()
            .where(of, campaign_recipients.c.customer_id == 2)
            .values(status="failed", error="550 mailbox unavailable")
        )
        connection.execute(
            campaign_recipients.update().where(of, campaign_recipients.c.customer_id == 4).values(status="holdout")
        )
    return engine, campaign_id


def test_counts_of_recipients_contacted_not_contactable_and_failures(sent_campaign: tuple[Engine, int]) -> None:
    engine, campaign_id = sent_campaign
    results = campaign_results(engine, campaign_id)
    assert (results.recipients, results.contacted, results.delivered, results.failed, results.holdout) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert results.not_contactable == {"no email address": 1, "no marketing consent": 1}
    assert results.send_time == SENT


def test_a_14_day_window_sees_only_the_holdouts_order(sent_campaign: tuple[Engine, int]) -> None:
    engine, campaign_id = sent_campaign
    results = campaign_results(engine, campaign_id)  # the campaign's default window: 14 days, to 03-24 12:00
    groups = results.groups.set_index("group")
    assert groups.loc["contacted", ["customers", "converted"]].tolist() == [2, 0]
    assert groups.loc["holdout", ["customers", "converted"]].tolist() == [1, 1]  # Dan O7 03-20
    assert groups.loc["contacted", "revenue_per_recipient"] == 0
    assert groups.loc["holdout", "revenue_per_recipient"] == 50.0


def test_a_30_day_window_adds_alices_order_and_the_interval_spans_zero(sent_campaign: tuple[Engine, int]) -> None:
    engine, campaign_id = sent_campaign
    results = campaign_results(engine, campaign_id, window_days=30)
    groups = results.groups.set_index("group")
    assert groups.loc["contacted", "conversion_rate"] == 0.5  # Alice O8 03-28; Bob none
    assert groups.loc["contacted", "revenue_per_recipient"] == 13.5  # 27.00 / 2
    assert groups.loc["holdout", "conversion_rate"] == 1.0
    # d = 0.5 − 1 = −0.5; se = sqrt(0.5 × 0.5 / 2 + 1 × 0 / 1) = 0.353553; ± 1.959964 × se = ± 0.692952
    uplift = results.uplift
    assert uplift is not None
    assert uplift.difference == pytest.approx(-0.5)
    assert (uplift.low, uplift.high) == (pytest.approx(-1.192952, abs=1e-6), pytest.approx(0.192952, abs=1e-6))
    assert not uplift.distinguishable and uplift.rough
    assert "not distinguishable from chance" in results.sentence
    assert "50.0% of the contacted customers converted against 100.0% of the holdout" in results.sentence


def test_uplift_interval_by_the_normal_approximation() -> None:
    # 60/200 vs 30/200: d = 0.15, se = sqrt(0.3·0.7/200 + 0.15·0.85/200) = 0.0410792, half-width 0.0805138.
    clear = uplift_of(60, 200, 30, 200)
    assert clear is not None
    assert (clear.low, clear.high) == (pytest.approx(0.0694862, abs=1e-6), pytest.approx(0.2305138, abs=1e-6))
    assert clear.distinguishable and not clear.rough
    # 30/100 vs 20/100: d = 0.1, se = sqrt(0.0021 + 0.0016) = 0.0608276, the interval includes 0.
    unclear = uplift_of(30, 100, 20, 100)
    assert unclear is not None and not unclear.distinguishable
    assert unclear.low == pytest.approx(0.1 - 1.959964 * math.sqrt(0.0037), abs=1e-6)
    assert uplift_of(3, 10, 0, 0) is None


def test_without_a_send_or_a_holdout_the_sentence_says_what_is_missing(tiny_shop: TinyShop) -> None:
    engine = tiny_shop.engine
    prepare_consent(engine)
    campaign_id = make_campaign(engine)
    launch_campaign(engine, ADMIN, campaign_id)
    assert campaign_results(engine, campaign_id).sentence.startswith("Nothing has been sent yet")
    with engine.begin() as connection:
        connection.execute(
            campaign_recipients.update().where(campaign_recipients.c.campaign_id == campaign_id).values(sent_at=SENT)
        )
    results = campaign_results(engine, campaign_id)
    assert results.uplift is None and "no holdout group" in results.sentence


def test_opens_and_clicks_come_from_the_mail_tools_csv(sent_campaign: tuple[Engine, int]) -> None:
    engine, campaign_id = sent_campaign
    csv = (
        b"Email,opened_at,clicked_at\n"
        b"ALICE@example.com,2025-03-10 14:00:00,\n"
        b"bob@example.com,,2025-03-11T09:30:00Z\n"
        b"stranger@example.com,2025-03-10 15:00:00,\n"
    )
    imported = import_engagement(engine, ADMIN, campaign_id, csv)
    assert (imported.rows, imported.matched, imported.opened, imported.clicked) == (3, 2, 2, 1)
    assert imported.unmatched == ["stranger@example.com"]
    results = campaign_results(engine, campaign_id)
    assert (results.opened, results.clicked) == (2, 1)  # a click implies an open
    # Importing the same file again changes nothing.
    import_engagement(engine, ADMIN, campaign_id, csv)
    assert (campaign_results(engine, campaign_id).opened, campaign_results(engine, campaign_id).clicked) == (2, 1)


def test_an_opens_file_without_the_columns_or_with_a_bad_time_is_refused(sent_campaign: tuple[Engine, int]) -> None:
    engine, campaign_id = sent_campaign
    with pytest.raises(EngagementError, match="needs an email column"):
        import_engagement(engine, ADMIN, campaign_id, b"address,when\nx,y\n")
    with pytest.raises(EngagementError, match="Row 2: opened_at 'soon' is not a date"):
        import_engagement(engine, ADMIN, campaign_id, b"email,opened_at\nalice@example.com,soon\n")
