"""Campaign results: who was reached, who converted, and whether contacting them made a difference.

Definitions (DESIGN.md "Campaigns and mail"):
* **contacted group** = the recipients chosen for contact (pending, sending, sent, failed, exported):
  intent to treat, so delivery failures stay in the group and the comparison with the holdout is fair;
  **holdout** = the control group, never contacted; not-contactable members are in neither.
* **send time** = the campaign's first delivery (earliest ``sent_at`` of its recipients); the same
  window applies to both groups: ``send time <= order_date < send time + N days``.
* **conversion** = at least one counted order (status in REVENUE_ORDER_STATUSES) in the window;
  **revenue per recipient** = counted order totals in the window ÷ the group's size.
* **uplift** = conversion rate (contacted) − conversion rate (holdout), with a 95 % confidence
  interval by the normal approximation to the difference of two proportions (unpooled):
  ``d ± 1.96 × sqrt(p1(1−p1)/n1 + p2(1−p2)/n2)``. The difference is *distinguishable from chance*
  when the interval excludes 0. The approximation is rough when a group has fewer than 5
  conversions or non-conversions; the sentence says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine, and_, case, func, literal, select

from crm.schema import REVENUE_ORDER_STATUSES, campaign_recipients, campaigns, orders

__all__ = ["CONTACTED_STATUSES", "CampaignResults", "Uplift", "campaign_results", "uplift_of"]

CONTACTED_STATUSES = ("pending", "sending", "sent", "failed", "exported")
Z_95 = 1.959963984540054
# Below this many conversions (or non-conversions) in a group the normal approximation is rough.
MIN_EVENTS_FOR_APPROXIMATION = 5


@dataclass(frozen=True)
class Uplift:
    difference: float
    low: float
    high: float
    distinguishable: bool
    # True when a group has fewer than MIN_EVENTS_FOR_APPROXIMATION conversions or non-conversions.
    rough: bool


@dataclass(frozen=True)
class CampaignResults:
    campaign_id: int
    window_days: int
    # First delivery of the campaign (None: nothing sent or exported yet).
    send_time: datetime | None
    recipients: int
    contacted: int
    delivered: int
    failed: int
    pending: int
    holdout: int
    not_contactable: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    clicked: int = 0
    # One row per group ("contacted", "holdout"): customers, converted, conversion_rate, revenue,
    # revenue_per_recipient (NaN rates for an empty group).
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    uplift: Uplift | None = None
    sentence: str = ""


def uplift_of(converted_a: int, size_a: int, converted_b: int, size_b: int) -> Uplift | None:
    """Difference of two proportions (a − b) with its 95 % normal-approximation interval; None if a group is empty."""
    if size_a == 0 or size_b == 0:
        return None
    rate_a, rate_b = converted_a / size_a, converted_b / size_b
    difference = rate_a - rate_b
    error = math.sqrt(rate_a * (1 - rate_a) / size_a + rate_b * (1 - rate_b) / size_b)
    low, high = difference - Z_95 * error, difference + Z_95 * error
    events = (converted_a, size_a - converted_a, converted_b, size_b - converted_b)
    return Uplift(
        difference=difference,
        low=low,
        high=high,
        distinguishable=low > 0 or high < 0,
        rough=min(events) < MIN_EVENTS_FOR_APPROXIMATION,
    )


def _points(value: float) -> str:
    return f"{value * 100:+.1f} percentage points"


def _sentence(uplift: Uplift | None, groups: pd.DataFrame, send_time: datetime | None, window_days: int) -> str:
    if send_time is None:
        return "Nothing has been sent yet, so there is no result to compare."
    if uplift is None:
        return "There is no holdout group (or nobody was contacted), so the effect of the campaign cannot be measured."
    rates = groups.set_index("group")["conversion_rate"]
    head = (
        f"Within {window_days} days, {rates['contacted']:.1%} of the contacted customers converted "
        f"against {rates['holdout']:.1%} of the holdout ({_points(uplift.difference)}; 95 % interval "
        f"{_points(uplift.low)} to {_points(uplift.high)}). "
    )
    if uplift.distinguishable:
        verdict = "The difference is distinguishable from chance at the 95 % level."
    else:
        verdict = "The difference is not distinguishable from chance: it could be luck of the draw."
    if uplift.rough:
        verdict += " The groups have few conversions, so treat the interval as rough."
    return head + verdict


def campaign_results(engine: Engine, campaign_id: int, *, window_days: int | None = None) -> CampaignResults:
    """Results of one campaign (window default: the campaign's conversion window, 14 days).

    ``groups`` columns: group (contacted | holdout), customers (recipients in the group),
    converted (customers with a counted order in the window), conversion_rate (converted ÷ customers),
    revenue (counted order totals in the window), revenue_per_recipient (revenue ÷ customers).
    """
    with engine.connect() as connection:
        stored_window = connection.execute(
            select(campaigns.c.conversion_window_days).where(campaigns.c.id == campaign_id)
        ).scalar_one_or_none()
        if stored_window is None:
            raise LookupError(f"No campaign #{campaign_id}.")
        window = int(window_days or stored_window)
        if not 1 <= window <= 365:
            raise ValueError("The conversion window must be between 1 and 365 days.")
        of_campaign = campaign_recipients.c.campaign_id == campaign_id
        status = campaign_recipients.c.status
        counts = connection.execute(
            select(
                func.count(),
                func.count().filter(status.in_(CONTACTED_STATUSES)),
                func.count().filter(status.in_(("sent", "exported"))),
                func.count().filter(status == "failed"),
                func.count().filter(status.in_(("pending", "sending"))),
                func.count().filter(status == "holdout"),
                func.count(campaign_recipients.c.opened_at).filter(status.in_(CONTACTED_STATUSES)),
                func.count(campaign_recipients.c.clicked_at).filter(status.in_(CONTACTED_STATUSES)),
                func.min(campaign_recipients.c.sent_at),
            ).where(of_campaign)
        ).one()
        reasons = connection.execute(
            select(campaign_recipients.c.reason, func.count())
            .where(of_campaign, status == "not_contactable")
            .group_by(campaign_recipients.c.reason)
            .order_by(func.count().desc(), campaign_recipients.c.reason)
        ).all()
        send_time = counts[8]
        if isinstance(send_time, str):  # SQLite may return MIN() over datetimes as text
            send_time = datetime.fromisoformat(send_time)
        group = case((status == "holdout", literal("holdout")), else_=literal("contacted")).label("group")
        if send_time is None:
            rows = []
        else:
            in_window = and_(
                orders.c.customer_id == campaign_recipients.c.customer_id,
                orders.c.status.in_(REVENUE_ORDER_STATUSES),
                orders.c.order_date >= send_time,
                orders.c.order_date < send_time + timedelta(days=window),
            )
            rows = connection.execute(
                select(
                    group,
                    func.count(func.distinct(campaign_recipients.c.customer_id)),
                    func.count(func.distinct(orders.c.customer_id)),
                    func.coalesce(func.sum(orders.c.total), 0),
                )
                .select_from(campaign_recipients.outerjoin(orders, in_window))
                .where(of_campaign, status.in_((*CONTACTED_STATUSES, "holdout")))
                .group_by(group)
            ).all()
    by_group = {row[0]: row for row in rows}
    records = []
    for name in ("contacted", "holdout"):
        row = by_group.get(name)
        customers = int(row[1]) if row else 0
        converted = int(row[2]) if row else 0
        revenue = Decimal(str(row[3])).quantize(Decimal("0.01")) if row else Decimal("0.00")
        records.append(
            {
                "group": name,
                "customers": customers,
                "converted": converted,
                "conversion_rate": converted / customers if customers else math.nan,
                "revenue": revenue,
                "revenue_per_recipient": float(revenue) / customers if customers else math.nan,
            }
        )
    groups = pd.DataFrame(records)
    contacted_row, holdout_row = records
    uplift = (
        uplift_of(
            contacted_row["converted"], contacted_row["customers"], holdout_row["converted"], holdout_row["customers"]
        )
        if send_time is not None
        else None
    )
    return CampaignResults(
        campaign_id=campaign_id,
        window_days=window,
        send_time=send_time,
        recipients=int(counts[0]),
        contacted=int(counts[1]),
        delivered=int(counts[2]),
        failed=int(counts[3]),
        pending=int(counts[4]),
        holdout=int(counts[5]),
        not_contactable={str(reason or "unknown"): int(count) for reason, count in reasons},
        opened=int(counts[6]),
        clicked=int(counts[7]),
        groups=groups,
        uplift=uplift,
        sentence=_sentence(uplift, groups, send_time, window),
    )
