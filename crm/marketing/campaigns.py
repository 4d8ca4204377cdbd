"""Campaigns: create (draft) → launch (members frozen) → send by email or export as CSV → sent.

* **Launch** snapshots the segment's members into ``campaign_recipients``: a later change of the
  segment does not change the campaign. Each member gets one status:
  ``not_contactable`` (reason: no marketing consent, no email address, no phone number), ``holdout``
  (the control group: never contacted) or ``pending`` (to be contacted). The holdout is drawn among
  the contactable members only, so both groups are comparable: the contactable ids in ascending
  order, shuffled by ``random.Random(seed)``, the first ``round(n × holdout %)`` held out. The same
  seed and members always give the same holdout.
* A template is checked before launch for every member to be contacted: an unknown placeholder or
  an empty subject/body (for a named customer) refuses the launch.
* **Send** (email with CRM_SMTP_URL set) works in batches. Each recipient row is *claimed* in its own
  committed transaction (pending → sending) right before its message goes to the SMTP server, and
  marked sent/failed in another one right after. A run that dies between the two leaves that one row
  in ``sending``: a re-run never sends ``sending`` or ``sent`` rows again (at-most-once: a crash may
  lose one message per run, it never duplicates one). Rows left in ``sending`` longer than
  ``STALE_CLAIM`` are marked failed ("delivery unknown") by the next run.
* **Export** (SMS, the export channel, or email without SMTP) produces a formula-safe CSV of the rendered
  messages and marks the pending rows ``exported`` (sent_at = the hand-over, from which the
  conversion window counts).

Every create, launch, send and export needs ``Permission.LAUNCH_CAMPAIGNS`` and is audited.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from crm.audit import record_audit
from crm.exports import export_table
from crm.marketing.mail import MailSessionError, MailSettings, OutgoingMessage, SendOutcome, send_messages
from crm.marketing.segments import get_segment, segment_members
from crm.marketing.templates import (
    Template,
    TemplateError,
    may_render_empty,
    recipient_contexts,
    render_message,
    validate_template,
)
from crm.marketing.unsubscribe import unsubscribe_url
from crm.permissions import Actor, Permission, require
from crm.schema import campaign_recipients, campaigns, customers, segments, utc_now

__all__ = [
    "APP_CHANNELS",
    "Campaign",
    "CampaignError",
    "LaunchSummary",
    "Preview",
    "SendProgress",
    "SendSummary",
    "contact_reason",
    "create_campaign",
    "export_campaign_messages",
    "get_campaign",
    "launch_campaign",
    "list_campaigns",
    "preview_campaign",
    "preview_messages",
    "recipient_status_counts",
    "send_campaign",
]

# Channels a campaign can be created with in the app (push/mail/social are the demo's planned-only ones).
APP_CHANNELS = ("email", "sms", "export")
NO_CONSENT = "no marketing consent"
NO_EMAIL = "no email address"
# Not even user@domain: the server would refuse it, so it is not tried.
BAD_EMAIL = "invalid email address"
NO_PHONE = "no phone number"
NO_ADDRESS = "no email address or phone number"
DEFAULT_HOLDOUT_PERCENT = 10
MAX_HOLDOUT_PERCENT = 90
DEFAULT_BATCH_SIZE = 50
# A claim older than this belongs to a run that died (SMTP timeouts are 30 s): its delivery is unknown.
STALE_CLAIM = timedelta(minutes=10)
INTERRUPTED_ERROR = "interrupted while sending; delivery unknown, not retried so nobody gets it twice"
MEMBER_CHUNK = 500


class CampaignError(ValueError):
    """A campaign action that cannot be done; the message says why."""


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    channel: str
    status: str
    segment_id: int | None
    segment_name: str | None
    template_subject: str | None
    template_body: str | None
    holdout_percent: int
    seed: int
    conversion_window_days: int
    launched_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    version: int

    @property
    def template(self) -> Template | None:
        if self.template_subject is None or self.template_body is None:
            return None
        return Template(subject=self.template_subject, body=self.template_body)

    @property
    def is_app_campaign(self) -> bool:
        """Created in the app (has a template); the demo's planned-only campaigns have none."""
        return self.template is not None


@dataclass(frozen=True)
class LaunchSummary:
    recipients: int
    to_contact: int
    holdout: int
    not_contactable: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SendProgress:
    done: int
    total: int
    sent: int
    failed: int


@dataclass(frozen=True)
class SendSummary:
    sent: int
    failed: int
    # Rows still pending (another run is busy, or the run stopped at max_messages).
    remaining: int
    # Rows a dead run left in "sending" and that this run marked failed (delivery unknown).
    interrupted: int
    finished: bool


@dataclass(frozen=True)
class Preview:
    customer_id: int
    to: str
    subject: str
    body: str


# --- reading -----------------------------------------------------------------------------------
def _campaign_query() -> Any:
    return select(
        campaigns.c.id,
        campaigns.c.name,
        campaigns.c.channel,
        campaigns.c.status,
        campaigns.c.segment_id,
        segments.c.name.label("segment_name"),
        campaigns.c.template_subject,
        campaigns.c.template_body,
        campaigns.c.holdout_percent,
        campaigns.c.seed,
        campaigns.c.conversion_window_days,
        campaigns.c.launched_at,
        campaigns.c.sent_at,
        campaigns.c.created_at,
        campaigns.c.version,
    ).select_from(campaigns.outerjoin(segments, segments.c.id == campaigns.c.segment_id))


def _campaign(row: Any) -> Campaign:
    return Campaign(**{name: getattr(row, name) for name in Campaign.__dataclass_fields__})


def list_campaigns(engine: Engine) -> list[Campaign]:
    """Every campaign, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(_campaign_query().order_by(campaigns.c.id.desc())).all()
    return [_campaign(row) for row in rows]


def get_campaign(engine: Engine, campaign_id: int) -> Campaign:
    with engine.connect() as connection:
        row = connection.execute(_campaign_query().where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignError(f"No campaign #{campaign_id}.")
    return _campaign(row)


def recipient_status_counts(engine: Engine, campaign_id: int) -> dict[str, int]:
    """How many recipients of the campaign are in each status."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(campaign_recipients.c.status, func.count())
            .where(campaign_recipients.c.campaign_id == campaign_id)
            .group_by(campaign_recipients.c.status)
        ).all()
    return {status: int(count) for status, count in rows}


# --- rules of contact --------------------------------------------------------------------------
def _present(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def contact_reason(channel: str, consent: bool, email: str | None, phone: str | None) -> str | None:
    """Why a customer cannot be contacted on ``channel`` (None: contactable)."""
    if not consent:
        return NO_CONSENT
    if channel == "email" and not _present(email):
        return NO_EMAIL
    if channel == "email" and "@" not in str(email).strip()[1:-1]:
        return BAD_EMAIL
    if channel == "sms" and not _present(phone):
        return NO_PHONE
    if channel == "export" and not (_present(email) or _present(phone)):
        return NO_ADDRESS
    return None


def _address(channel: str, email: str | None, phone: str | None) -> str | None:
    if channel == "sms":
        return phone.strip() if _present(phone) else None
    if _present(email):
        return email.strip()  # type: ignore[union-attr]
    return phone.strip() if channel == "export" and _present(phone) else None


def _contact_rows(engine: Engine, customer_ids: Sequence[int]) -> list[Any]:
    rows: list[Any] = []
    with engine.connect() as connection:
        for start in range(0, len(customer_ids), MEMBER_CHUNK):
            chunk = list(customer_ids[start : start + MEMBER_CHUNK])
            rows.extend(
                connection.execute(
                    select(customers.c.id, customers.c.marketing_consent, customers.c.email, customers.c.phone).where(
                        customers.c.id.in_(chunk)
                    )
                ).all()
            )
    return sorted(rows, key=lambda row: row.id)


def _holdout(contactable: Sequence[int], percent: int, seed: int) -> set[int]:
    """The control group: ``round(n × percent / 100)`` of the contactable ids, drawn with ``seed``."""
    ordered = sorted(contactable)
    random.Random(seed).shuffle(ordered)
    return set(ordered[: round(len(ordered) * percent / 100)])


def _preview_values(app_url: str) -> dict[str, str]:
    # Shown instead of a real signed link in previews and in the pre-launch check.
    return {"unsubscribe_url": f"{app_url.rstrip('/')}/unsubscribe?token=…"}


def preview_messages(
    engine: Engine, template: Template, customer_ids: Sequence[int], channel: str, *, app_url: str, limit: int = 5
) -> list[Preview]:
    """The messages the first ``limit`` contactable customers of ``customer_ids`` would get.

    ``TemplateError`` for an unknown placeholder or an empty render (naming the customer).
    """
    validate_template(template)
    chosen: list[Any] = []
    for row in _contact_rows(engine, customer_ids):
        if contact_reason(channel, bool(row.marketing_consent), row.email, row.phone) is None:
            chosen.append(row)
            if len(chosen) >= limit:
                break
    contexts = recipient_contexts(engine, [row.id for row in chosen])
    previews = []
    for row in chosen:
        message = render_message(template, contexts[row.id] | _preview_values(app_url), row.id)
        previews.append(Preview(row.id, _address(channel, row.email, row.phone) or "", message.subject, message.body))
    return previews


def preview_campaign(engine: Engine, campaign_id: int, *, app_url: str, limit: int = 5) -> list[Preview]:
    """Messages for real recipients: the frozen ones after launch, the segment's current members before."""
    campaign = get_campaign(engine, campaign_id)
    if campaign.template is None:
        raise CampaignError(f"Campaign #{campaign_id} has no message template (a planned-only campaign).")
    if campaign.status == "draft":
        members = _segment_member_ids(engine, campaign)
    else:
        with engine.connect() as connection:
            members = list(
                connection.execute(
                    select(campaign_recipients.c.customer_id)
                    .where(
                        campaign_recipients.c.campaign_id == campaign_id,
                        campaign_recipients.c.status.notin_(("holdout", "not_contactable")),
                    )
                    .order_by(campaign_recipients.c.customer_id)
                ).scalars()
            )
    return preview_messages(engine, campaign.template, members, campaign.channel, app_url=app_url, limit=limit)


# --- create and launch -------------------------------------------------------------------------
def _segment_member_ids(engine: Engine, campaign: Campaign) -> list[int]:
    if campaign.segment_id is None:
        raise CampaignError(f"Campaign #{campaign.id} has no segment (it was deleted); create a new campaign.")
    segment = get_segment(engine, campaign.segment_id)
    return segment_members(engine, segment.rules)


def create_campaign(
    engine: Engine,
    actor: Actor,
    *,
    name: str,
    segment: int | str,
    channel: str,
    template: Template,
    holdout_percent: int = DEFAULT_HOLDOUT_PERCENT,
    seed: int | None = None,
    conversion_window_days: int = 14,
) -> int:
    """A draft campaign; returns its id. ``CampaignError``/``TemplateError`` name what is wrong."""
    require(actor, Permission.LAUNCH_CAMPAIGNS)
    clean_name = " ".join(name.split())
    if not clean_name:
        raise CampaignError("A campaign needs a name.")
    if len(clean_name) > 160:
        raise CampaignError("The campaign name is longer than 160 characters.")
    if channel not in APP_CHANNELS:
        raise CampaignError(f"Unknown channel {channel!r}: one of {', '.join(APP_CHANNELS)}.")
    if not 0 <= holdout_percent <= MAX_HOLDOUT_PERCENT:
        raise CampaignError(f"The holdout must be between 0 and {MAX_HOLDOUT_PERCENT} %.")
    if not 1 <= conversion_window_days <= 365:
        raise CampaignError("The conversion window must be between 1 and 365 days.")
    if len(template.subject) > 200:
        raise CampaignError("The subject is longer than 200 characters.")
    validate_template(template)
    try:
        target = get_segment(engine, segment)
    except LookupError as error:
        raise CampaignError(str(error)) from None
    except ValueError as error:
        raise CampaignError(str(error)) from None
    chosen_seed = secrets.randbelow(2**31) if seed is None else seed
    if not 0 <= chosen_seed < 2**31:
        raise CampaignError("The seed must be between 0 and 2147483647.")
    now = utc_now()
    values = {
        "name": clean_name,
        "channel": channel,
        "status": "draft",
        "segment_id": target.id,
        "template_subject": template.subject,
        "template_body": template.body,
        "holdout_percent": holdout_percent,
        "seed": chosen_seed,
        "conversion_window_days": conversion_window_days,
        "budget": 0,
        "created_by": actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as connection:
        campaign_id = int(connection.execute(campaigns.insert().values(**values)).inserted_primary_key[0])
        record_audit(connection, actor, "create", "campaigns", campaign_id, after=values | {"segment": target.name})
    return campaign_id


def launch_campaign(engine: Engine, actor: Actor, campaign_id: int) -> LaunchSummary:
    """Freeze the segment's members as recipients with their status; refuse a template that does not render."""
    require(actor, Permission.LAUNCH_CAMPAIGNS)
    campaign = get_campaign(engine, campaign_id)
    if campaign.status != "draft":
        raise CampaignError(f"Campaign #{campaign_id} is {campaign.status}; only a draft can be launched.")
    template = campaign.template
    if template is None:
        raise CampaignError(f"Campaign #{campaign_id} has no message template.")
    members = _segment_member_ids(engine, campaign)
    if not members:
        raise CampaignError(f"The segment {campaign.segment_name!r} has no members today; nothing to launch.")
    rows = _contact_rows(engine, members)
    reasons = {
        row.id: contact_reason(campaign.channel, bool(row.marketing_consent), row.email, row.phone) for row in rows
    }
    contactable = [row.id for row in rows if reasons[row.id] is None]
    holdout = _holdout(contactable, campaign.holdout_percent, campaign.seed)
    to_contact = [customer_id for customer_id in contactable if customer_id not in holdout]
    # Every message must render before anything is frozen (unknown placeholders were refused at creation);
    # only a template whose parts are nothing but placeholders can render empty, so only then are values read.
    if may_render_empty(template):
        contexts = recipient_contexts(engine, to_contact)
        for customer_id in to_contact:
            try:
                render_message(template, contexts[customer_id] | _preview_values("https://app"), customer_id)
            except TemplateError as error:
                raise CampaignError(f"Not launched: {error}") from None
    recipient_rows = []
    for row in rows:
        reason = reasons[row.id]
        status = "not_contactable" if reason is not None else ("holdout" if row.id in holdout else "pending")
        recipient_rows.append(
            {
                "campaign_id": campaign_id,
                "customer_id": row.id,
                "status": status,
                "reason": reason,
                "address": None if reason is not None else _address(campaign.channel, row.email, row.phone),
            }
        )
    now = utc_now()
    not_contactable: dict[str, int] = {}
    for reason in reasons.values():
        if reason is not None:
            not_contactable[reason] = not_contactable.get(reason, 0) + 1
    # Largest reason first, then alphabetical: the same order as the results page.
    not_contactable = dict(sorted(not_contactable.items(), key=lambda item: (-item[1], item[0])))
    summary = LaunchSummary(
        recipients=len(rows), to_contact=len(to_contact), holdout=len(holdout), not_contactable=not_contactable
    )
    with engine.begin() as connection:
        # Guarded by the status: two launches at once freeze the members once.
        updated = connection.execute(
            campaigns.update()
            .where(campaigns.c.id == campaign_id, campaigns.c.status == "draft")
            .values(
                status="launched",
                launched_at=now,
                starts_at=now,
                updated_at=now,
                version=campaigns.c.version + 1,
            )
        ).rowcount
        if updated != 1:
            raise CampaignError(f"Campaign #{campaign_id} was launched by someone else meanwhile.")
        connection.execute(campaign_recipients.insert(), recipient_rows)
        record_audit(
            connection,
            actor,
            "update",
            "campaigns",
            campaign_id,
            before={"status": "draft"},
            after={
                "event": "launch",
                "status": "launched",
                "recipients": summary.recipients,
                "to_contact": summary.to_contact,
                "holdout": summary.holdout,
                "not_contactable": not_contactable,
            },
        )
    return summary


# --- sending -----------------------------------------------------------------------------------
def _set_status(connection: Connection, campaign_id: int, status: str, **values: Any) -> None:
    connection.execute(
        campaigns.update()
        .where(campaigns.c.id == campaign_id)
        .values(status=status, updated_at=utc_now(), version=campaigns.c.version + 1, **values)
    )


def _recover_stale_claims(engine: Engine, campaign_id: int, now: datetime) -> int:
    with engine.begin() as connection:
        return connection.execute(
            campaign_recipients.update()
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.status == "sending",
                campaign_recipients.c.attempted_at < now - STALE_CLAIM,
            )
            .values(status="failed", error=INTERRUPTED_ERROR)
        ).rowcount


def _claim(engine: Engine, recipient_id: int) -> bool:
    """pending → sending in its own committed transaction; False when another run got there first."""
    with engine.begin() as connection:
        return (
            connection.execute(
                campaign_recipients.update()
                .where(campaign_recipients.c.id == recipient_id, campaign_recipients.c.status == "pending")
                .values(status="sending", attempted_at=utc_now())
            ).rowcount
            == 1
        )


def _record_outcome(engine: Engine, recipient_id: int, error: str | None) -> None:
    values: dict[str, Any] = (
        {"status": "sent", "sent_at": utc_now(), "error": None}
        if error is None
        else {
            "status": "failed",
            "error": error[:2000],
        }
    )
    with engine.begin() as connection:
        connection.execute(
            campaign_recipients.update().where(campaign_recipients.c.id == recipient_id).values(**values)
        )


def _pending_batch(engine: Engine, campaign_id: int, size: int) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(
            select(campaign_recipients.c.id, campaign_recipients.c.customer_id, campaign_recipients.c.address)
            .where(campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.status == "pending")
            .order_by(campaign_recipients.c.id)
            .limit(size)
        ).all()


def _count(engine: Engine, campaign_id: int, statuses: Sequence[str]) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(
                    campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.status.in_(statuses)
                )
            ).scalar_one()
        )


def send_campaign(
    engine: Engine,
    actor: Actor,
    campaign_id: int,
    *,
    mail: MailSettings | None,
    secret_key: str,
    app_url: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[SendProgress], None] | None = None,
    max_messages: int | None = None,
    now: Callable[[], datetime] = utc_now,
) -> SendSummary:
    """Send the pending messages of a launched email campaign over SMTP, batch by batch (resumable).

    ``max_messages`` stops after that many claims (the UI sends in slices; tests simulate a crash).
    """
    require(actor, Permission.LAUNCH_CAMPAIGNS)
    campaign = get_campaign(engine, campaign_id)
    if campaign.channel != "email":
        raise CampaignError(f"Campaign #{campaign_id} is on the {campaign.channel} channel: export it as CSV.")
    if mail is None:
        raise CampaignError("No SMTP server is configured (CRM_SMTP_URL); export the messages as CSV instead.")
    if campaign.status not in ("launched", "sending", "sent"):
        raise CampaignError(f"Campaign #{campaign_id} is {campaign.status}; launch it first.")
    template = campaign.template
    assert template is not None  # launched campaigns were created with one
    interrupted = _recover_stale_claims(engine, campaign_id, now())
    with engine.begin() as connection:
        if campaign.status == "launched":
            _set_status(connection, campaign_id, "sending")
        record_audit(
            connection,
            actor,
            "update",
            "campaigns",
            campaign_id,
            after={"event": "send started", "via": mail.describe()},
        )
    total = _count(engine, campaign_id, ("pending",))
    counts = {"sent": 0, "failed": 0, "done": 0}
    # Recipient row of each message of the current batch (messages are matched by identity).
    recipient_of: dict[int, int] = {}

    def claim(message: OutgoingMessage) -> bool:
        return _claim(engine, recipient_of[id(message)])

    def record(outcome: SendOutcome) -> None:
        _record_outcome(engine, recipient_of[id(outcome.message)], outcome.error)
        counts["sent" if outcome.sent else "failed"] += 1
        counts["done"] += 1
        if progress is not None:
            progress(SendProgress(done=counts["done"], total=total, sent=counts["sent"], failed=counts["failed"]))

    while max_messages is None or counts["done"] < max_messages:
        room = batch_size if max_messages is None else min(batch_size, max_messages - counts["done"])
        batch = _pending_batch(engine, campaign_id, room)
        if not batch:
            break
        contexts = recipient_contexts(engine, [row.customer_id for row in batch])
        messages: list[OutgoingMessage] = []
        recipient_of.clear()
        for row in batch:
            link = unsubscribe_url(app_url, secret_key, row.customer_id, campaign_id)
            values = contexts.get(row.customer_id, {}) | {"unsubscribe_url": link}
            try:
                rendered = render_message(template, values, row.customer_id)
            except (TemplateError, KeyError) as error:
                # The customer's data changed since launch (e.g. the name was erased): fail this one only.
                if _claim(engine, row.id):
                    _record_outcome(engine, row.id, f"not rendered: {error}")
                    counts["failed"] += 1
                counts["done"] += 1
                continue
            message = OutgoingMessage(
                to=row.address or "",
                subject=rendered.subject,
                text=rendered.body,
                headers={"List-Unsubscribe": f"<{link}>", "X-Pulse-Campaign": str(campaign_id)},
            )
            recipient_of[id(message)] = row.id
            messages.append(message)
        # Rows another run claims first are skipped; they leave "pending", so the loop always advances.
        try:
            send_messages(mail, messages, claim=claim, on_result=record)
        except MailSessionError as error:
            summary = _finish_send(
                engine, actor, campaign_id, sent=counts["sent"], failed=counts["failed"], interrupted=interrupted
            )
            raise CampaignError(
                f"Sending stopped: the mail server failed ({error}). Sent {summary.sent}, failed {summary.failed}; "
                f"{summary.remaining} still waiting: send again to resume."
            ) from None
    return _finish_send(
        engine, actor, campaign_id, sent=counts["sent"], failed=counts["failed"], interrupted=interrupted
    )


def _finish_send(
    engine: Engine, actor: Actor, campaign_id: int, *, sent: int, failed: int, interrupted: int
) -> SendSummary:
    remaining = _count(engine, campaign_id, ("pending",))
    in_flight = _count(engine, campaign_id, ("sending",))
    finished = remaining == 0 and in_flight == 0
    with engine.begin() as connection:
        if finished:
            _set_status(connection, campaign_id, "sent", sent_at=utc_now(), ends_at=utc_now())
        record_audit(
            connection,
            actor,
            "update",
            "campaigns",
            campaign_id,
            after={
                "event": "send",
                "sent": sent,
                "failed": failed,
                "interrupted": interrupted,
                "remaining": remaining,
                "finished": finished,
            },
        )
    return SendSummary(sent=sent, failed=failed, remaining=remaining, interrupted=interrupted, finished=finished)


# --- export ------------------------------------------------------------------------------------
EXPORT_COLUMNS = ["customer_id", "first_name", "last_name", "to", "subject", "message", "unsubscribe_url"]


def export_campaign_messages(
    engine: Engine, actor: Actor, campaign_id: int, *, secret_key: str, app_url: str, file_format: str = "csv"
) -> bytes:
    """The rendered messages of the recipients to contact, as a formula-safe CSV (or XLSX) for the user's tool.

    Pending rows become ``exported`` (sent_at = now: the conversion window counts from the hand-over);
    a second export gives the same rows again. Needs LAUNCH_CAMPAIGNS and EXPORT_PERSONAL_DATA; audited.
    """
    require(actor, Permission.LAUNCH_CAMPAIGNS)
    require(actor, Permission.EXPORT_PERSONAL_DATA)
    campaign = get_campaign(engine, campaign_id)
    if campaign.status not in ("launched", "sending", "sent"):
        raise CampaignError(f"Campaign #{campaign_id} is {campaign.status}; launch it first.")
    template = campaign.template
    assert template is not None
    with engine.connect() as connection:
        rows = connection.execute(
            select(campaign_recipients.c.id, campaign_recipients.c.customer_id, campaign_recipients.c.address)
            .where(
                campaign_recipients.c.campaign_id == campaign_id,
                campaign_recipients.c.status.in_(("pending", "exported")),
            )
            .order_by(campaign_recipients.c.customer_id)
        ).all()
    contexts = recipient_contexts(engine, [row.customer_id for row in rows])
    records = []
    for row in rows:
        link = unsubscribe_url(app_url, secret_key, row.customer_id, campaign_id)
        values = contexts[row.customer_id] | {"unsubscribe_url": link}
        try:
            rendered = render_message(template, values, row.customer_id)
        except TemplateError as error:
            raise CampaignError(f"Not exported: {error}") from None
        records.append(
            {
                "customer_id": row.customer_id,
                "first_name": values["first_name"],
                "last_name": values["last_name"],
                "to": row.address,
                "subject": rendered.subject,
                "message": rendered.body,
                "unsubscribe_url": link,
            }
        )
    data = export_table(
        engine,
        pd.DataFrame(records, columns=EXPORT_COLUMNS),
        name=f"campaign_{campaign_id}_messages",
        file_format=file_format,
        actor=actor,
        personal=True,
    )
    now = utc_now()
    with engine.begin() as connection:
        exported = connection.execute(
            campaign_recipients.update()
            .where(campaign_recipients.c.campaign_id == campaign_id, campaign_recipients.c.status == "pending")
            .values(status="exported", sent_at=now, attempted_at=now)
        ).rowcount
        if campaign.status != "sent":
            _set_status(connection, campaign_id, "sent", sent_at=now, ends_at=now)
        record_audit(
            connection,
            actor,
            "update",
            "campaigns",
            campaign_id,
            after={"event": "export", "messages": len(records), "newly_exported": exported},
        )
    return data
