"""``python -m crm digest …``, ``alerts …`` and ``scheduler``: digests and alerts from the command line.

* ``digest subscribe --user NAME --every daily|weekly [--at HH:MM] [--weekday MON..SUN] [--filters QUERY]``
* ``digest list``, ``digest unsubscribe --user NAME [--every daily|weekly]``
* ``digest send --due [--now DATETIME] [--no-charts]`` sends every digest that is due (for cron)
* ``alerts set KIND [--threshold X] [--on|--off] [--recipients a,b]``, ``alerts list``
* ``alerts check [--now DATETIME]`` opens, mails and clears alerts (for cron)
* ``scheduler [--interval SECONDS]`` does both every minute until stopped (docker-compose runs it)

``--now`` is an ISO date and time; without an offset it is read in the app's time zone
(``CRM_TIMEZONE``). The command line acts as the system administrator (audited as ``system``).
A refused command prints one ``error:`` line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from crm.db import init_database
from crm.marketing.mail import MailConfigError, MailSettings, mail_settings
from crm.marketing.unsubscribe import UnsubscribeKeyError, signing_key_from_environment
from crm.notifications.alerts import AlertError, alert_rules_frame, check_alerts, set_alert
from crm.notifications.digests import send_due_digests
from crm.notifications.schedule import WEEKDAYS, parse_send_at, parse_weekday
from crm.notifications.scheduler import DEFAULT_INTERVAL_SECONDS, run_scheduler
from crm.notifications.subscriptions import (
    SubscriptionError,
    digest_subscriptions_frame,
    subscribe_digest,
    unsubscribe_digest,
)
from crm.permissions import Actor
from crm.schema import ALERT_KINDS, DIGEST_FREQUENCIES
from crm.settings import get_settings

__all__ = ["register"]


class _RefusedError(Exception):
    """One line for stderr, exit 2."""


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _RefusedError(f"--now {text!r} is not an ISO date and time (e.g. 2026-12-07T08:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().timezone_name))
    return moment


def _mail() -> MailSettings:
    try:
        settings = mail_settings()
    except MailConfigError as error:
        raise _RefusedError(str(error)) from None
    if settings is None:
        raise _RefusedError("CRM_SMTP_URL is not set: digests are sent by mail (smtp://user:password@host:587)")
    return settings


def _secret_key() -> str:
    try:
        return signing_key_from_environment()
    except UnsubscribeKeyError as error:
        raise _RefusedError(str(error)) from None


def _subscribe(args: argparse.Namespace, engine: Engine) -> int:
    weekday = parse_weekday(args.weekday) if args.weekday else None
    subscription_id = subscribe_digest(
        engine,
        Actor.system(),
        username=args.user,
        frequency=args.every,
        send_at=args.at,
        weekday=weekday,
        filters_query=args.filters or "",
    )
    when = parse_send_at(args.at) + (
        f" on {WEEKDAYS[weekday if weekday is not None else 0]}" if args.every == "weekly" else ""
    )
    print(
        f"{args.user} gets the {args.every} digest at {when} ({get_settings().timezone_name}), "
        f"subscription {subscription_id}."
    )
    return 0


def _list(args: argparse.Namespace, engine: Engine) -> int:
    frame = digest_subscriptions_frame(engine, Actor.system())
    if frame.empty:
        print("No digest subscriptions.")
        return 0
    print(f"{'id':>4}  {'user':<20}{'every':<8}{'at':<7}{'day':<5}{'last sent':<18}{'status':<10}filters")
    for row in frame.itertuples(index=False):
        print(
            f"{row.id:>4}  {row.username:<20}{row.frequency:<8}{row.send_at:<7}{row.weekday or '':<5}"
            f"{row.last_period or '':<18}{row.last_status or '':<10}{row.filters_query}"
        )
    return 0


def _unsubscribe(args: argparse.Namespace, engine: Engine) -> int:
    removed = unsubscribe_digest(engine, Actor.system(), username=args.user, frequency=args.every)
    if not removed:
        raise _RefusedError(f"{args.user} has no {args.every + ' ' if args.every else ''}digest subscription")
    print(f"Removed {removed} digest subscription{'s' if removed != 1 else ''} of {args.user}.")
    return 0


def _send(args: argparse.Namespace, engine: Engine) -> int:
    if not args.due:
        raise _RefusedError("say which digests: --due sends every digest whose time has come")
    settings = get_settings()
    now = _now(args.now)
    run = send_due_digests(
        engine,
        _mail(),
        now=now,
        zone_name=settings.timezone_name,
        app_url=settings.app_url,
        secret_key=_secret_key(),
        with_charts=False if args.no_charts else None,
    )
    for line in run.sent:
        print(f"sent {line}")
    for line in run.failed:
        print(f"failed {line}")
    print(f"{len(run.sent)} digests sent, {len(run.failed)} failed, {run.skipped} not due or already sent.")
    return 1 if run.failed else 0


def _threshold(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _alerts_set(args: argparse.Namespace, engine: Engine) -> int:
    recipients = (
        None if args.recipients is None else [name.strip() for name in args.recipients.split(",") if name.strip()]
    )
    set_alert(engine, Actor.system(), args.kind, threshold=args.threshold, active=args.active, recipients=recipients)
    return _alerts_list(args, engine)


def _alerts_list(args: argparse.Namespace, engine: Engine) -> int:
    for row in alert_rules_frame(engine).itertuples(index=False):
        state = "on " if row.active else "off"
        print(
            f"{row.kind:<20}{state} threshold {row.threshold:g} {row.meaning}; "
            f"recipients: {row.recipients or '—'}; open: {row.open}"
        )
    return 0


def _alerts_check(args: argparse.Namespace, engine: Engine) -> int:
    settings = get_settings()
    mail = None
    try:
        mail = mail_settings()
    except MailConfigError as error:
        raise _RefusedError(str(error)) from None
    run = check_alerts(engine, mail, now=_now(args.now), zone_name=settings.timezone_name, app_url=settings.app_url)
    for line in run.opened:
        print(f"opened {line}")
    for line in run.failed:
        print(f"failed {line}")
    note = "" if mail is not None else " (CRM_SMTP_URL is not set: shown in the app only, nothing mailed)"
    print(f"{len(run.opened)} alerts opened, {run.cleared} cleared, {run.mailed} mails sent{note}.")
    return 1 if run.failed else 0


def _scheduler(args: argparse.Namespace, engine: Engine) -> int:
    settings = get_settings()
    mail, secret_key = _mail(), _secret_key()
    print(
        f"Scheduler started: digests and alerts every {args.interval:g} s ({settings.timezone_name}); stop with Ctrl+C."
    )
    run_scheduler(
        engine,
        mail,
        zone_name=settings.timezone_name,
        app_url=settings.app_url,
        secret_key=secret_key,
        interval_seconds=args.interval,
        rounds=args.rounds,
        log=lambda line: print(line, flush=True),
    )
    return 0


def _guarded(handler: Any) -> Any:
    def run(args: argparse.Namespace, engine: Engine) -> int:
        init_database(engine)
        try:
            return handler(args, engine)
        except (_RefusedError, SubscriptionError, AlertError, ValueError) as error:
            return _refuse(str(error))
        except PermissionError as error:
            return _refuse(str(error))

    return run


def _positive_seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def register(commands: Any, handlers: dict[str, Any]) -> None:
    digest = commands.add_parser("digest", help="daily or weekly digests of the Overview by mail")
    digest_commands = digest.add_subparsers(dest="digest_command", required=True)
    subscribe = digest_commands.add_parser("subscribe", help="subscribe a user (or change the time)")
    subscribe.add_argument("--user", required=True)
    subscribe.add_argument("--every", required=True, choices=DIGEST_FREQUENCIES)
    subscribe.add_argument("--at", default="08:00", help="local time of day, HH:MM (default 08:00)")
    subscribe.add_argument("--weekday", help="weekly digests: MON..SUN (default MON)")
    subscribe.add_argument("--filters", help="the Overview's filters as in its address, e.g. sources=website")
    digest_commands.add_parser("list", help="every subscription and its last delivery")
    unsubscribe = digest_commands.add_parser("unsubscribe", help="remove a user's digests")
    unsubscribe.add_argument("--user", required=True)
    unsubscribe.add_argument("--every", choices=DIGEST_FREQUENCIES, help="only this one (default: all)")
    send = digest_commands.add_parser("send", help="send the digests that are due (for cron)")
    send.add_argument("--due", action="store_true", help="every digest whose time has come and was not sent")
    send.add_argument("--now", help="the time to act as (ISO; local time zone unless an offset is given)")
    send.add_argument("--no-charts", action="store_true", help="leave the charts out (they need chromium)")
    digest_handlers = {"subscribe": _subscribe, "list": _list, "unsubscribe": _unsubscribe, "send": _send}

    alerts = commands.add_parser("alerts", help="alerts: thresholds, recipients, checking")
    alert_commands = alerts.add_subparsers(dest="alerts_command", required=True)
    setting = alert_commands.add_parser("set", help="set an alert's threshold, state and recipients")
    setting.add_argument("kind", choices=ALERT_KINDS)
    setting.add_argument("--threshold", type=_threshold)
    switch = setting.add_mutually_exclusive_group()
    switch.add_argument("--on", dest="active", action="store_const", const=True, default=None)
    switch.add_argument("--off", dest="active", action="store_const", const=False)
    setting.add_argument("--recipients", help="comma-separated usernames (replaces the list)")
    alert_commands.add_parser("list", help="every alert kind with its setting")
    check = alert_commands.add_parser("check", help="open, mail and clear alerts (for cron)")
    check.add_argument("--now", help="the time to act as (ISO; local time zone unless an offset is given)")
    alert_handlers = {"set": _alerts_set, "list": _alerts_list, "check": _alerts_check}

    scheduler = commands.add_parser("scheduler", help="send due digests and check alerts every minute until stopped")
    scheduler.add_argument("--interval", type=_positive_seconds, default=DEFAULT_INTERVAL_SECONDS)
    scheduler.add_argument("--rounds", type=int, default=None, help=argparse.SUPPRESS)

    handlers["digest"] = _guarded(lambda args, engine: digest_handlers[args.digest_command](args, engine))
    handlers["alerts"] = _guarded(lambda args, engine: alert_handlers[args.alerts_command](args, engine))
    handlers["scheduler"] = _guarded(_scheduler)
