"""Digest subscriptions: who gets the Overview by mail, daily or weekly, at which local time.

Every user may subscribe or unsubscribe themselves; administrators (``MANAGE_USERS``) may do it for
anyone. A user has one subscription per view and frequency; subscribing again changes its time.
A digest needs the user's e-mail address, so a user without one is refused with the way to add it.
Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select, update

from crm.audit import record_audit
from crm.filters import Filters
from crm.filters_url import filters_from_query
from crm.notifications.schedule import WEEKDAYS, parse_send_at
from crm.permissions import Actor, Permission, PermissionDeniedError, require
from crm.schema import DIGEST_FREQUENCIES, digest_subscriptions, notification_deliveries, users, utc_now

__all__ = [
    "DigestSubscription",
    "SubscriptionError",
    "active_subscriptions",
    "digest_subscriptions_frame",
    "subscribe_digest",
    "unsubscribe_digest",
]

ENTITY = "digest_subscriptions"


class SubscriptionError(ValueError):
    """A subscription that cannot be made: the message names the field."""


@dataclass(frozen=True)
class DigestSubscription:
    id: int
    user_id: int
    username: str
    email: str | None
    role: str
    frequency: str
    send_at: str
    weekday: int | None
    filters_query: str
    created_at: object


def _user(connection: object, username: str) -> dict[str, object]:
    row = connection.execute(  # type: ignore[attr-defined]
        select(users.c.id, users.c.username, users.c.email, users.c.role, users.c.is_active).where(
            users.c.username == username
        )
    ).first()
    if row is None:
        raise SubscriptionError(f"user {username!r} does not exist")
    return dict(row._mapping)


def _may_change(actor: Actor, username: str) -> None:
    if actor.username != username:
        try:
            require(actor, Permission.MANAGE_USERS)
        except PermissionDeniedError:
            raise PermissionDeniedError("Only administrators may subscribe or unsubscribe other users.") from None


def subscribe_digest(
    engine: Engine,
    actor: Actor,
    *,
    username: str,
    frequency: str,
    send_at: str = "08:00",
    weekday: int | None = None,
    filters_query: str = "",
) -> int:
    """Create or change ``username``'s ``frequency`` digest of the Overview; returns its id."""
    _may_change(actor, username)
    if frequency not in DIGEST_FREQUENCIES:
        raise SubscriptionError(f"every: {frequency!r} is not one of {', '.join(DIGEST_FREQUENCIES)}")
    try:
        send_at = parse_send_at(send_at)
    except ValueError as error:
        raise SubscriptionError(f"at: {error}") from None
    if frequency == "weekly":
        weekday = 0 if weekday is None else weekday
        if not 0 <= weekday <= 6:
            raise SubscriptionError(f"weekday: {weekday} is not one of {', '.join(WEEKDAYS)}")
    else:
        weekday = None
    problems = filters_from_query(dict(_pairs(filters_query)), base=Filters()).problems
    if problems:
        raise SubscriptionError("filters: " + "; ".join(problems))
    values = {"frequency": frequency, "send_at": send_at, "weekday": weekday, "filters_query": filters_query}
    with engine.begin() as connection:
        user = _user(connection, username)
        if not user["email"]:
            raise SubscriptionError(
                f"user {username!r} has no e-mail address: an administrator adds one on the Users page first"
            )
        existing = connection.execute(
            select(digest_subscriptions).where(
                digest_subscriptions.c.user_id == user["id"],
                digest_subscriptions.c.view == "overview",
                digest_subscriptions.c.frequency == frequency,
            )
        ).first()
        if existing is None:
            subscription_id = connection.execute(
                insert(digest_subscriptions)
                .values(user_id=user["id"], view="overview", created_by=actor.user_id, **values)
                .returning(digest_subscriptions.c.id)
            ).scalar_one()
            record_audit(connection, actor, "create", ENTITY, subscription_id, after={"user": username, **values})
        else:
            subscription_id = existing.id
            before = {name: getattr(existing, name) for name in values}
            connection.execute(
                update(digest_subscriptions)
                .where(digest_subscriptions.c.id == subscription_id)
                .values(**values, updated_at=utc_now(), version=digest_subscriptions.c.version + 1)
            )
            record_audit(
                connection, actor, "update", ENTITY, subscription_id, before={"user": username, **before}, after=values
            )
    return int(subscription_id)


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=False)


def unsubscribe_digest(engine: Engine, actor: Actor, *, username: str, frequency: str | None = None) -> int:
    """Remove ``username``'s digests (one frequency, or all); returns how many were removed."""
    _may_change(actor, username)
    with engine.begin() as connection:
        user = _user(connection, username)
        condition = digest_subscriptions.c.user_id == user["id"]
        if frequency is not None:
            condition = condition & (digest_subscriptions.c.frequency == frequency)
        removed = connection.execute(select(digest_subscriptions).where(condition)).all()
        for row in removed:
            connection.execute(delete(digest_subscriptions).where(digest_subscriptions.c.id == row.id))
            record_audit(
                connection,
                actor,
                "delete",
                ENTITY,
                row.id,
                before={"user": username, "frequency": row.frequency, "send_at": row.send_at, "weekday": row.weekday},
            )
    return len(removed)


def active_subscriptions(engine: Engine) -> list[DigestSubscription]:
    """Every subscription of an active user (the scheduler's list)."""
    statement = (
        select(
            digest_subscriptions.c.id,
            digest_subscriptions.c.user_id,
            users.c.username,
            users.c.email,
            users.c.role,
            digest_subscriptions.c.frequency,
            digest_subscriptions.c.send_at,
            digest_subscriptions.c.weekday,
            digest_subscriptions.c.filters_query,
            digest_subscriptions.c.created_at,
        )
        .join(users, users.c.id == digest_subscriptions.c.user_id)
        .where(users.c.is_active.is_(True))
        .order_by(digest_subscriptions.c.id)
    )
    with engine.connect() as connection:
        return [DigestSubscription(**row._mapping) for row in connection.execute(statement)]


def digest_subscriptions_frame(engine: Engine, actor: Actor) -> pd.DataFrame:
    """Subscriptions with their last delivery: all for administrators, the actor's own for everyone else.

    Columns: id, username, frequency, send_at, weekday (MON…SUN or empty), filters_query,
    last_period (the latest occurrence claimed), last_status (sent / failed / claimed = not confirmed).
    """
    last = (
        select(
            notification_deliveries.c.reference_id,
            func.max(notification_deliveries.c.id).label("delivery_id"),
        )
        .where(notification_deliveries.c.kind == "digest")
        .group_by(notification_deliveries.c.reference_id)
        .subquery()
    )
    statement = (
        select(
            digest_subscriptions.c.id,
            users.c.username,
            digest_subscriptions.c.frequency,
            digest_subscriptions.c.send_at,
            digest_subscriptions.c.weekday,
            digest_subscriptions.c.filters_query,
            notification_deliveries.c.period_key.label("last_period"),
            notification_deliveries.c.status.label("last_status"),
        )
        .join(users, users.c.id == digest_subscriptions.c.user_id)
        .outerjoin(last, last.c.reference_id == digest_subscriptions.c.id)
        .outerjoin(notification_deliveries, notification_deliveries.c.id == last.c.delivery_id)
        .order_by(users.c.username, digest_subscriptions.c.frequency)
    )
    try:
        require(actor, Permission.MANAGE_USERS)
    except PermissionDeniedError:
        statement = statement.where(users.c.username == actor.username)
    with engine.connect() as connection:
        frame = pd.DataFrame(
            connection.execute(statement).mappings().all(), columns=list(statement.selected_columns.keys())
        )
    frame["weekday"] = [WEEKDAYS[int(day)] if pd.notna(day) else "" for day in frame["weekday"]]
    return frame
