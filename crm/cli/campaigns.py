"""``python -m crm campaign create|launch|send|results``: the campaign loop for scripts (same code as the app).

* ``create --name N --segment NAME --channel email|sms|export --template FILE [--holdout PCT] [--seed S]``
  prints the new campaign's id. The template FILE: first line ``Subject: ...``, one blank line, then
  the body (UTF-8), placeholders like ``{first_name}`` or ``{first_name|there}``.
* ``launch ID`` freezes the recipients; ``send ID`` mails them over CRM_SMTP_URL (needs CRM_MAIL_FROM
  and CRM_COOKIE_KEY, which signs the unsubscribe links), or with ``--out FILE`` writes the CSV of
  rendered messages (SMS, export, or email without SMTP).
* ``results ID [--window DAYS] [--json]``.

Any refusal prints one line ``error: ...`` and exits 2. Writes act as the system administrator unless
``--as USER``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crm.analytics.campaigns import CampaignResults, campaign_results
from crm.auth import active_actor
from crm.db import init_database
from crm.marketing.campaigns import (
    APP_CHANNELS,
    DEFAULT_HOLDOUT_PERCENT,
    CampaignError,
    SendProgress,
    create_campaign,
    export_campaign_messages,
    get_campaign,
    launch_campaign,
    send_campaign,
)
from crm.marketing.mail import MailConfigError, mail_settings
from crm.marketing.segments import SegmentError
from crm.marketing.templates import TemplateError, parse_template_file
from crm.marketing.unsubscribe import UnsubscribeKeyError, signing_key_from_environment
from crm.permissions import Actor, PermissionDeniedError
from crm.settings import get_settings

__all__ = ["register"]


class _RefusedError(Exception):
    """A problem reported as one ``error:`` line with exit code 2."""


def _actor(engine: Engine, username: str | None) -> Actor:
    if not username:
        return Actor.system()
    actor = active_actor(engine, username.strip().lower())
    if actor is None:
        raise _RefusedError(f"no active user {username!r}")
    return actor


def _whole_number(text: str | None, what: str, default: int | None = None) -> int | None:
    # Parsed here rather than by argparse, whose refusals print the usage on several lines.
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise _RefusedError(f"{what} must be a whole number (got {text!r})") from None


def _create(args: argparse.Namespace, engine: Engine) -> int:
    if args.channel not in APP_CHANNELS:
        raise _RefusedError(f"--channel must be one of {', '.join(APP_CHANNELS)} (got {args.channel!r})")
    try:
        text = Path(args.template).read_text(encoding="utf-8")
    except OSError as error:
        raise _RefusedError(f"cannot read the template file {args.template}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise _RefusedError(f"the template file {args.template} is not UTF-8 text") from None
    try:
        template = parse_template_file(text)
    except TemplateError as error:
        raise _RefusedError(f"{args.template}: {error}") from None
    campaign_id = create_campaign(
        engine,
        _actor(engine, args.as_user),
        name=args.name,
        segment=args.segment,
        channel=args.channel,
        template=template,
        holdout_percent=_whole_number(args.holdout, "--holdout", DEFAULT_HOLDOUT_PERCENT),  # type: ignore[arg-type]
        seed=_whole_number(args.seed, "--seed"),
    )
    print(campaign_id)
    return 0


def _campaign_id(text: str) -> int:
    value = _whole_number(text, "the campaign id")
    assert value is not None
    return value


def _launch(args: argparse.Namespace, engine: Engine) -> int:
    summary = launch_campaign(engine, _actor(engine, args.as_user), _campaign_id(args.id))
    reasons = ", ".join(f"{count} {reason}" for reason, count in summary.not_contactable.items()) or "none"
    print(
        f"Launched: {summary.recipients} recipients, {summary.to_contact} to contact, "
        f"{summary.holdout} in the holdout, not contactable: {reasons}."
    )
    return 0


def _send(args: argparse.Namespace, engine: Engine) -> int:
    campaign_id = _campaign_id(args.id)
    actor = _actor(engine, args.as_user)
    campaign = get_campaign(engine, campaign_id)
    key = signing_key_from_environment()
    app_url = get_settings().app_url
    mail = mail_settings() if campaign.channel == "email" and not args.out else None
    if args.out or campaign.channel != "email" or mail is None:
        if not args.out:
            why = "no SMTP server is configured (CRM_SMTP_URL)" if campaign.channel == "email" else campaign.channel
            raise _RefusedError(f"campaign #{campaign_id} cannot be mailed ({why}); use --out FILE to export the CSV")
        data = export_campaign_messages(engine, actor, campaign_id, secret_key=key, app_url=app_url)
        Path(args.out).write_bytes(data)
        print(f"Wrote the messages of campaign #{campaign_id} to {args.out}.")
        return 0

    def show(progress: SendProgress) -> None:
        if progress.done % 100 == 0 or progress.done == progress.total:
            print(f"{progress.done}/{progress.total} ({progress.failed} failed)", file=sys.stderr)

    summary = send_campaign(engine, actor, campaign_id, mail=mail, secret_key=key, app_url=app_url, progress=show)
    state = "finished" if summary.finished else f"{summary.remaining} still pending"
    print(f"Sent {summary.sent}, failed {summary.failed}, interrupted {summary.interrupted}; {state}.")
    return 0


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def results_json(campaign: Any, results: CampaignResults) -> dict[str, Any]:
    """The ``--json`` document of ``campaign results`` (keys are part of the CLI contract)."""
    groups = {
        row["group"]: {
            "customers": int(row["customers"]),
            "converted": int(row["converted"]),
            "conversion_rate": _number(float(row["conversion_rate"])),
            "revenue": str(row["revenue"]),
            "revenue_per_recipient": _number(float(row["revenue_per_recipient"])),
        }
        for row in results.groups.to_dict("records")
    }
    uplift = results.uplift
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "channel": campaign.channel,
        "status": campaign.status,
        "window_days": results.window_days,
        "send_time": results.send_time.isoformat() if results.send_time else None,
        "recipients": results.recipients,
        "contacted": results.contacted,
        "delivered": results.delivered,
        "failed": results.failed,
        "pending": results.pending,
        "holdout": results.holdout,
        "not_contactable": results.not_contactable,
        "opened": results.opened,
        "clicked": results.clicked,
        "groups": groups,
        "uplift": None
        if uplift is None
        else {
            "difference": round(uplift.difference, 6),
            "ci_low": round(uplift.low, 6),
            "ci_high": round(uplift.high, 6),
            "distinguishable": uplift.distinguishable,
        },
        "sentence": results.sentence,
    }


def _results(args: argparse.Namespace, engine: Engine) -> int:
    campaign = get_campaign(engine, _campaign_id(args.id))
    window = _whole_number(args.window, "--window")
    try:
        results = campaign_results(engine, campaign.id, window_days=window)
    except ValueError as error:
        raise _RefusedError(str(error)) from None
    if args.json:
        print(json.dumps(results_json(campaign, results), ensure_ascii=False))
        return 0
    print(f"Campaign #{campaign.id} {campaign.name} ({campaign.channel}, {campaign.status})")
    reasons = ", ".join(f"{count} {reason}" for reason, count in results.not_contactable.items()) or "none"
    print(
        f"recipients {results.recipients}, contacted {results.contacted} (delivered {results.delivered}, "
        f"failed {results.failed}), holdout {results.holdout}, not contactable: {reasons}"
    )
    print(f"opened {results.opened}, clicked {results.clicked}")
    for row in results.groups.to_dict("records"):
        rate = "n/a" if math.isnan(row["conversion_rate"]) else f"{row['conversion_rate']:.1%}"
        per = "n/a" if math.isnan(row["revenue_per_recipient"]) else f"{row['revenue_per_recipient']:,.2f}"
        print(f"{row['group']:<10} {row['customers']:>6} customers, {rate} converted, {per} revenue per recipient")
    print(results.sentence)
    return 0


def _campaign(args: argparse.Namespace, engine: Engine) -> int:
    init_database(engine)
    try:
        return int(args.campaign_handler(args, engine))
    except (
        _RefusedError,
        CampaignError,
        TemplateError,
        SegmentError,
        PermissionDeniedError,
        MailConfigError,
        UnsubscribeKeyError,
        LookupError,
    ) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


def register(commands: Any, handlers: dict[str, Any]) -> None:
    campaign = commands.add_parser("campaign", help="create, launch, send campaigns and read their results")
    actions = campaign.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="a draft campaign; prints its id")
    create.add_argument("--name", required=True)
    create.add_argument("--segment", required=True, help="saved segment name (or id)")
    create.add_argument("--channel", required=True, help="email, sms or export")
    create.add_argument("--template", required=True, metavar="FILE", help="'Subject: ...', blank line, body")
    create.add_argument(
        "--holdout", metavar="PCT", help=f"control group share, 0-90 (default {DEFAULT_HOLDOUT_PERCENT})"
    )
    create.add_argument("--seed", metavar="S", help="seed of the holdout draw (default: random, stored)")
    create.add_argument("--as", dest="as_user", metavar="USER", help="act as this user (default: system)")
    create.set_defaults(campaign_handler=_create)

    launch = actions.add_parser("launch", help="freeze the segment's members as recipients")
    launch.add_argument("id")
    launch.add_argument("--as", dest="as_user", metavar="USER")
    launch.set_defaults(campaign_handler=_launch)

    send = actions.add_parser("send", help="mail the pending recipients (or --out FILE: export the CSV)")
    send.add_argument("id")
    send.add_argument("--out", metavar="FILE", help="write the rendered messages as CSV instead of mailing")
    send.add_argument("--as", dest="as_user", metavar="USER")
    send.set_defaults(campaign_handler=_send)

    results = actions.add_parser("results", help="contacted vs holdout conversion, uplift with its 95 % interval")
    results.add_argument("id")
    results.add_argument("--window", metavar="DAYS", help="conversion window (default: the campaign's, 14)")
    results.add_argument("--json", action="store_true")
    results.set_defaults(campaign_handler=_results)

    handlers["campaign"] = _campaign
