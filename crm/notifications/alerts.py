"""Alerts: conditions a manager wants to hear about, each with a threshold and a list of recipients.

Kinds and what their threshold means:

* ``low_stock`` — an inventory row whose available stock (on hand − reserved) is below its reorder
  level × threshold % (default 100 %: below the reorder level). Rows with reorder level 0 never fire.
* ``overdue_follow_ups`` — a follow-up (an interaction with ``follow_up_at``, not cancelled) due more
  than threshold days before today (local; default 0: due before today, as on "My work").
* ``sla_breaches`` — an open ticket past its priority's first-response or resolution target
  (``crm.service.sla``) by more than threshold hours (default 0).
* ``revenue_drop`` — yesterday's revenue (local day, counted orders) more than threshold % below the
  average revenue of the same weekday over the 8 weeks before (default 30 %). Days count with their
  zero revenue; without any revenue in those 8 weeks there is nothing to compare and it never fires.

Each run finds the conditions that hold now (one key per inventory row, follow-up, ticket target
or day). A condition without an open episode opens one — the partial unique index lets exactly one
process do that — and only the process that opened it claims and sends its mails. An open episode
whose condition no longer holds is cleared; the same condition later opens a new episode and fires
again. So an alert fires once per condition, not once per run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, and_, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from crm.audit import record_audit
from crm.marketing.mail import MailSessionError, MailSettings, OutgoingMessage, send_messages
from crm.notifications.deliveries import claim_delivery, finish_delivery
from crm.permissions import Actor, Permission, require
from crm.schema import (
    ALERT_KINDS,
    REVENUE_ORDER_STATUSES,
    alert_episodes,
    alert_recipients,
    alert_rules,
    customers,
    interactions,
    inventory,
    orders,
    products,
    tickets,
    users,
    utc_now,
    warehouses,
)

__all__ = [
    "ALERT_DEFAULT_THRESHOLDS",
    "ALERT_TITLES",
    "THRESHOLD_MEANINGS",
    "AlertError",
    "AlertRun",
    "Condition",
    "alert_rules_frame",
    "check_alerts",
    "current_conditions",
    "open_alerts",
    "set_alert",
]

ALERT_TITLES = {
    "low_stock": "Stock below reorder level",
    "overdue_follow_ups": "Follow-ups overdue",
    "sla_breaches": "Tickets past their service targets",
    "revenue_drop": "Revenue drop",
}
THRESHOLD_MEANINGS = {
    "low_stock": "% of the reorder level (100 = below the reorder level)",
    "overdue_follow_ups": "days overdue before it fires (0 = due before today)",
    "sla_breaches": "hours past the target before it fires",
    "revenue_drop": "% below the average of the same weekday over the previous 8 weeks",
}
ALERT_DEFAULT_THRESHOLDS = {
    "low_stock": Decimal("100"),
    "overdue_follow_ups": Decimal("0"),
    "sla_breaches": Decimal("0"),
    "revenue_drop": Decimal("30"),
}
# Weeks of the same weekday a day's revenue is compared with.
REVENUE_DROP_WEEKS = 8
# Conditions listed in one mail at most (the app lists them all).
MAIL_CONDITIONS = 50
ENTITY = "alert_rules"


class AlertError(ValueError):
    """An alert setting that cannot be made: the message names the field."""


@dataclass(frozen=True)
class Condition:
    key: str
    summary: str


@dataclass
class AlertRun:
    """What one ``check_alerts`` call did (the CLI prints it)."""

    opened: list[str] = field(default_factory=list)
    cleared: int = 0
    mailed: int = 0
    failed: list[str] = field(default_factory=list)


# --- settings -------------------------------------------------------------------------------
def set_alert(
    engine: Engine,
    actor: Actor,
    kind: str,
    *,
    threshold: Decimal | float | int | None = None,
    active: bool | None = None,
    recipients: Sequence[str] | None = None,
) -> int:
    """Create or change the rule of ``kind`` (threshold, on/off, recipients by username); audited."""
    require(actor, Permission.MANAGE_ALERTS)
    if kind not in ALERT_KINDS:
        raise AlertError(f"kind: {kind!r} is not one of {', '.join(ALERT_KINDS)}")
    if threshold is not None:
        threshold = Decimal(str(threshold))
        if threshold < 0:
            raise AlertError(f"threshold: {threshold} is below 0")
        if kind in {"low_stock", "revenue_drop"} and threshold > 1000:
            raise AlertError(f"threshold: {threshold} % is not a sensible share (0 to 1000)")
    with engine.begin() as connection:
        row = connection.execute(select(alert_rules).where(alert_rules.c.kind == kind)).first()
        before = None if row is None else {"threshold": row.threshold, "active": row.active}
        if row is None:
            rule_id = connection.execute(
                insert(alert_rules)
                .values(
                    kind=kind,
                    threshold=ALERT_DEFAULT_THRESHOLDS[kind] if threshold is None else threshold,
                    active=True if active is None else active,
                )
                .returning(alert_rules.c.id)
            ).scalar_one()
        else:
            rule_id = row.id
            changes: dict[str, object] = {}
            if threshold is not None:
                changes["threshold"] = threshold
            if active is not None:
                changes["active"] = active
            if changes:
                connection.execute(
                    update(alert_rules)
                    .where(alert_rules.c.id == rule_id)
                    .values(**changes, updated_at=utc_now(), version=alert_rules.c.version + 1)
                )
        before_recipients = _recipient_names(connection, rule_id)
        if recipients is not None:
            wanted = sorted(set(recipients))
            found = dict(
                connection.execute(select(users.c.username, users.c.id).where(users.c.username.in_(wanted))).all()
            )
            unknown = [name for name in wanted if name not in found]
            if unknown:
                raise AlertError(f"recipients: no user named {', '.join(repr(name) for name in unknown)}")
            connection.execute(delete(alert_recipients).where(alert_recipients.c.alert_rule_id == rule_id))
            if wanted:
                connection.execute(
                    insert(alert_recipients), [{"alert_rule_id": rule_id, "user_id": found[name]} for name in wanted]
                )
        after_row = connection.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).one()
        after = {
            "threshold": after_row.threshold,
            "active": after_row.active,
            "recipients": _recipient_names(connection, rule_id),
        }
        record_audit(
            connection,
            actor,
            "create" if before is None else "update",
            ENTITY,
            rule_id,
            before=None if before is None else {**before, "recipients": before_recipients},
            after={"kind": kind, **after},
        )
    return int(rule_id)


def _recipient_names(connection: Connection, rule_id: int) -> list[str]:
    statement = (
        select(users.c.username)
        .join(alert_recipients, alert_recipients.c.user_id == users.c.id)
        .where(alert_recipients.c.alert_rule_id == rule_id)
        .order_by(users.c.username)
    )
    return list(connection.execute(statement).scalars())


def alert_rules_frame(engine: Engine) -> pd.DataFrame:
    """Every kind with its setting: kind, title, threshold, meaning, active, recipients, open (episodes), set_up.

    Kinds never set up (set_up False) show their defaults with active False and no recipients.
    """
    with engine.connect() as connection:
        rules = {row.kind: row for row in connection.execute(select(alert_rules))}
        open_counts = dict(
            connection.execute(
                select(alert_episodes.c.alert_rule_id, func.count())
                .where(alert_episodes.c.cleared_at.is_(None))
                .group_by(alert_episodes.c.alert_rule_id)
            ).all()
        )
        rows = []
        for kind in ALERT_KINDS:
            rule = rules.get(kind)
            rows.append(
                {
                    "kind": kind,
                    "title": ALERT_TITLES[kind],
                    "threshold": float(rule.threshold if rule else ALERT_DEFAULT_THRESHOLDS[kind]),
                    "meaning": THRESHOLD_MEANINGS[kind],
                    "active": bool(rule.active) if rule else False,
                    "recipients": ", ".join(_recipient_names(connection, rule.id)) if rule else "",
                    "open": int(open_counts.get(rule.id, 0)) if rule else 0,
                    "set_up": rule is not None,
                }
            )
    return pd.DataFrame(rows)


# --- conditions -------------------------------------------------------------------------------
def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _low_stock(connection: Connection, threshold: Decimal) -> list[Condition]:
    available = inventory.c.on_hand - inventory.c.reserved
    statement = (
        select(
            inventory.c.id,
            products.c.sku,
            products.c.name,
            warehouses.c.name.label("warehouse"),
            available.label("available"),
            inventory.c.reorder_level,
        )
        .join(products, products.c.id == inventory.c.product_id)
        .join(warehouses, warehouses.c.id == inventory.c.warehouse_id)
        .where(inventory.c.reorder_level > 0, available * 100 < inventory.c.reorder_level * threshold)
        .order_by(inventory.c.id)
    )
    return [
        Condition(
            f"inventory:{row.id}",
            f"{row.name} ({row.sku}) at {row.warehouse}: {row.available} available, reorder level {row.reorder_level}",
        )
        for row in connection.execute(statement)
    ]


def _customer_name() -> object:
    return func.trim(func.coalesce(customers.c.first_name, "") + " " + func.coalesce(customers.c.last_name, ""))


def _overdue_follow_ups(connection: Connection, threshold: Decimal, now: datetime, zone: ZoneInfo) -> list[Condition]:
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    due_before = _utc_midnight(today - timedelta(days=int(threshold)), zone)
    statement = (
        select(
            interactions.c.id,
            interactions.c.subject,
            interactions.c.follow_up_at,
            _customer_name().label("customer"),
            users.c.username,
        )
        .join(customers, customers.c.id == interactions.c.customer_id)
        .outerjoin(users, users.c.id == interactions.c.user_id)
        .where(
            interactions.c.follow_up_at.is_not(None),
            interactions.c.status != "cancelled",
            interactions.c.follow_up_at < due_before,
        )
        .order_by(interactions.c.follow_up_at, interactions.c.id)
    )
    conditions = []
    for row in connection.execute(statement):
        due = row.follow_up_at.replace(tzinfo=UTC).astimezone(zone)
        owner = row.username or "nobody"
        conditions.append(
            Condition(
                f"follow_up:{row.id}", f"{row.subject} with {row.customer}, due {due:%d %b %Y %H:%M}, owner {owner}"
            )
        )
    return conditions


def _sla_breaches(connection: Connection, threshold: Decimal, now: datetime) -> list[Condition]:
    from crm.service.sla import CLOSED_STATUSES, sla_targets

    targets = sla_targets(connection.engine)
    grace = timedelta(hours=float(threshold))
    statement = (
        select(
            tickets.c.id,
            tickets.c.ticket_number,
            tickets.c.subject,
            tickets.c.priority,
            tickets.c.created_at,
            tickets.c.first_response_at,
        )
        .where(tickets.c.status.not_in(CLOSED_STATUSES))
        .order_by(tickets.c.created_at, tickets.c.id)
    )
    conditions = []
    for row in connection.execute(statement):
        if row.priority not in targets:
            continue
        first_response_hours, resolution_hours = targets[row.priority]
        if row.first_response_at is None and row.created_at + timedelta(hours=first_response_hours) + grace < now:
            conditions.append(
                Condition(
                    f"ticket:{row.id}:first_response",
                    f"{row.ticket_number} ({row.priority}) “{row.subject}”: "
                    f"no first response within {first_response_hours} h",
                )
            )
        if row.created_at + timedelta(hours=resolution_hours) + grace < now:
            conditions.append(
                Condition(
                    f"ticket:{row.id}:resolution",
                    f"{row.ticket_number} ({row.priority}) “{row.subject}”: not resolved within {resolution_hours} h",
                )
            )
    return conditions


def _revenue_drop(connection: Connection, threshold: Decimal, now: datetime, zone: ZoneInfo) -> list[Condition]:
    yesterday = now.replace(tzinfo=UTC).astimezone(zone).date() - timedelta(days=1)
    days = [yesterday - timedelta(weeks=weeks) for weeks in range(REVENUE_DROP_WEEKS + 1)]
    counted = orders.c.status.in_(REVENUE_ORDER_STATUSES)
    sums = [
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            orders.c.order_date >= _utc_midnight(day, zone),
                            orders.c.order_date < _utc_midnight(day + timedelta(days=1), zone),
                        ),
                        orders.c.total,
                    ),
                    else_=0,
                )
            ),
            0,
        )
        for day in days
    ]
    window = and_(
        counted,
        orders.c.order_date >= _utc_midnight(days[-1], zone),
        orders.c.order_date < _utc_midnight(yesterday + timedelta(days=1), zone),
    )
    values = [
        Decimal(str(value)).quantize(Decimal("0.01")) for value in connection.execute(select(*sums).where(window)).one()
    ]
    revenue, earlier = values[0], values[1:]
    average = (sum(earlier, Decimal("0")) / len(earlier)).quantize(Decimal("0.01"))
    if average <= 0 or revenue >= average * (1 - threshold / 100):
        return []
    drop = (average - revenue) / average
    weekday = f"{yesterday:%A}s"
    return [
        Condition(
            f"revenue_drop:{yesterday.isoformat()}",
            f"Revenue of {yesterday:%a} {yesterday.day} {yesterday:%b %Y} was ${revenue:,.2f}, {drop:.1%} below the "
            f"average ${average:,.2f} of the previous {REVENUE_DROP_WEEKS} {weekday}",
        )
    ]


def current_conditions(
    connection: Connection, kind: str, threshold: Decimal, *, now: datetime, zone: ZoneInfo
) -> list[Condition]:
    """The conditions of ``kind`` that hold at ``now`` (naive UTC)."""
    if kind == "low_stock":
        return _low_stock(connection, threshold)
    if kind == "overdue_follow_ups":
        return _overdue_follow_ups(connection, threshold, now, zone)
    if kind == "sla_breaches":
        return _sla_breaches(connection, threshold, now)
    if kind == "revenue_drop":
        return _revenue_drop(connection, threshold, now, zone)
    raise AlertError(f"kind: {kind!r} is not one of {', '.join(ALERT_KINDS)}")


# --- running --------------------------------------------------------------------------------
@dataclass
class _NewEpisodes:
    rule_kind: str
    episodes: list[tuple[int, Condition]]
    # user id → (email, [(delivery id, the episode's condition)])
    recipients: dict[int, tuple[str | None, list[tuple[int, Condition]]]]


def _open_and_clear(
    connection: Connection, rule: object, conditions: list[Condition], now: datetime, mail_on: bool
) -> tuple[_NewEpisodes, int]:
    keys = {condition.key for condition in conditions}
    open_rows = connection.execute(
        select(alert_episodes.c.id, alert_episodes.c.condition_key).where(
            alert_episodes.c.alert_rule_id == rule.id,
            alert_episodes.c.cleared_at.is_(None),  # type: ignore[attr-defined]
        )
    ).all()
    gone = [row.id for row in open_rows if row.condition_key not in keys]
    if gone:
        connection.execute(update(alert_episodes).where(alert_episodes.c.id.in_(gone)).values(cleared_at=now))
    already = {row.condition_key for row in open_rows}
    new = _NewEpisodes(rule.kind, [], {})  # type: ignore[attr-defined]
    receivers = connection.execute(
        select(users.c.id, users.c.email)
        .join(alert_recipients, alert_recipients.c.user_id == users.c.id)
        .where(alert_recipients.c.alert_rule_id == rule.id, users.c.is_active.is_(True))  # type: ignore[attr-defined]
    ).all()
    for condition in conditions:
        if condition.key in already:
            continue
        try:
            with connection.begin_nested():
                episode_id = connection.execute(
                    insert(alert_episodes)
                    .values(
                        alert_rule_id=rule.id, condition_key=condition.key, summary=condition.summary, opened_at=now
                    )  # type: ignore[attr-defined]
                    .returning(alert_episodes.c.id)
                ).scalar_one()
        except IntegrityError:
            continue  # another run opened it at the same moment: it mails it
        new.episodes.append((episode_id, condition))
        if not mail_on:
            continue
        for receiver in receivers:
            delivery_id = claim_delivery(connection, kind="alert", reference_id=episode_id, user_id=receiver.id)
            if delivery_id is not None:
                new.recipients.setdefault(receiver.id, (receiver.email, []))[1].append((delivery_id, condition))
    return new, len(gone)


def _alert_mail(email: str, kind: str, conditions: list[Condition], app_url: str) -> OutgoingMessage:
    title = ALERT_TITLES[kind]
    shown = conditions[:MAIL_CONDITIONS]
    more = len(conditions) - len(shown)
    lines = [f"Pulse CRM alert: {title}", "", *[f"- {condition.summary}" for condition in shown]]
    if more:
        lines.append(f"… and {more} more: see the Notifications page.")
    lines += [
        "",
        f"Open alerts in the app: {app_url.rstrip('/')}/notifications",
        "",
        "You receive this alert because a manager listed you; they can change it on the Notifications page.",
    ]
    subject = f"Pulse CRM alert: {title} ({len(conditions)} new)"
    return OutgoingMessage(to=email, subject=subject, text="\n".join(lines) + "\n")


def check_alerts(
    engine: Engine,
    mail: MailSettings | None,
    *,
    now: datetime,
    zone_name: str,
    app_url: str,
    progress: Callable[[str], None] | None = None,
) -> AlertRun:
    """Evaluate every active rule at ``now`` (aware), open and clear episodes, mail the new ones.

    Without mail settings episodes still open and clear (the app shows them), and no mail is claimed.
    """
    zone = ZoneInfo(zone_name)
    now_utc = now.astimezone(UTC).replace(tzinfo=None)
    run = AlertRun()
    with engine.connect() as connection:
        rules = connection.execute(
            select(alert_rules).where(alert_rules.c.active.is_(True)).order_by(alert_rules.c.id)
        ).all()
    for rule in rules:
        with engine.begin() as connection:
            conditions = current_conditions(connection, rule.kind, Decimal(str(rule.threshold)), now=now_utc, zone=zone)
            new, cleared = _open_and_clear(connection, rule, conditions, now_utc, mail is not None)
        run.cleared += cleared
        run.opened += [f"{ALERT_TITLES[rule.kind]}: {condition.summary}" for _id, condition in new.episodes]
        if mail is None:
            continue
        for email, claimed in new.recipients.values():
            episode_conditions = [condition for _delivery_id, condition in claimed]
            error: str | None
            if not email:
                error = "the user has no e-mail address"
            else:
                try:
                    outcomes = send_messages(mail, [_alert_mail(email, rule.kind, episode_conditions, app_url)])
                    error = outcomes[0].error if outcomes else "not sent"
                except MailSessionError as failure:
                    error = f"mail server: {failure}"
            for delivery_id, _condition in claimed:
                finish_delivery(engine, delivery_id, error)
            if error:
                run.failed.append(f"{ALERT_TITLES[rule.kind]} to {email or 'a user without e-mail'}: {error}")
            else:
                run.mailed += 1
            if progress is not None:
                progress(f"{'failed' if error else 'mailed'} {ALERT_TITLES[rule.kind]} to {email}")
    return run


def open_alerts(engine: Engine, *, user_id: int | None = None) -> pd.DataFrame:
    """Open episodes, oldest first: for one recipient, or all (user_id None).

    Columns: kind, title, summary, opened_at (naive UTC).
    """
    statement = (
        select(alert_rules.c.kind, alert_episodes.c.summary, alert_episodes.c.opened_at)
        .join(alert_rules, alert_rules.c.id == alert_episodes.c.alert_rule_id)
        .where(alert_episodes.c.cleared_at.is_(None))
        .order_by(alert_episodes.c.opened_at, alert_episodes.c.id)
    )
    if user_id is not None:
        statement = statement.join(
            alert_recipients,
            and_(alert_recipients.c.alert_rule_id == alert_rules.c.id, alert_recipients.c.user_id == user_id),
        )
    with engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(statement).mappings().all(), columns=["kind", "summary", "opened_at"])
    frame.insert(1, "title", frame["kind"].map(ALERT_TITLES))
    return frame
