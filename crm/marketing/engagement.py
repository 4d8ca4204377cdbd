"""Opens and clicks from the mail tool's CSV: columns ``email``, ``opened_at``, ``clicked_at``.

Each row is matched to the campaign's recipient by address (case-insensitive, the address frozen at
launch, else the customer's current email). Blank times are skipped; a click without an open counts
as an open at the click time (a click implies the message was opened). The earliest time is kept,
so importing the same or an overlapping file again changes nothing. Audited as an import.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, func, select

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import campaign_recipients, customers

__all__ = ["EngagementError", "EngagementImport", "import_engagement"]


class EngagementError(ValueError):
    """The file cannot be read as an opens/clicks CSV; the message names the problem."""


@dataclass(frozen=True)
class EngagementImport:
    rows: int
    matched: int
    # Addresses of the file that are not recipients of the campaign (first few, for the message).
    unmatched: list[str]
    opened: int
    clicked: int


def _moment(value: object, row_number: int, column: str) -> datetime | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip():
        return None
    try:
        stamp = pd.Timestamp(str(value).strip())
    except ValueError:
        raise EngagementError(f"Row {row_number}: {column} {str(value)!r} is not a date and time.") from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)  # stored as naive UTC
    return stamp.to_pydatetime()


def _earliest(stored: datetime | None, new: datetime | None) -> datetime | None:
    if stored is None:
        return new
    if new is None:
        return stored
    return min(stored, new)


def import_engagement(engine: Engine, actor: Actor, campaign_id: int, data: bytes) -> EngagementImport:
    """Record opens and clicks of the campaign's recipients from the mail tool's CSV export."""
    require(actor, Permission.LAUNCH_CAMPAIGNS)
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise EngagementError(f"The file is not a readable CSV: {error}") from None
    frame.columns = [str(column).strip().lower() for column in frame.columns]
    if "email" not in frame.columns or not ({"opened_at", "clicked_at"} & set(frame.columns)):
        raise EngagementError("The CSV needs an email column and an opened_at and/or clicked_at column.")
    with engine.begin() as connection:
        recipients = connection.execute(
            select(
                campaign_recipients.c.id,
                func.lower(func.coalesce(campaign_recipients.c.address, customers.c.email)).label("address"),
                func.lower(customers.c.email).label("email"),
                campaign_recipients.c.opened_at,
                campaign_recipients.c.clicked_at,
            )
            .join(customers, customers.c.id == campaign_recipients.c.customer_id)
            .where(campaign_recipients.c.campaign_id == campaign_id)
        ).all()
        by_address: dict[str, tuple[int, datetime | None, datetime | None]] = {}
        for row in recipients:
            for key in (row.address, row.email):
                if key:
                    by_address.setdefault(key.strip(), (row.id, row.opened_at, row.clicked_at))
        updates: dict[int, tuple[datetime | None, datetime | None]] = {}
        unmatched: list[str] = []
        for number, record in enumerate(frame.to_dict("records"), start=2):
            address = str(record.get("email", "")).strip().lower()
            found = by_address.get(address)
            if found is None:
                if address:
                    unmatched.append(address)
                continue
            opened, clicked = updates.get(found[0], (found[1], found[2]))
            clicked_at = _moment(record.get("clicked_at"), number, "clicked_at")
            opened_at = _earliest(_moment(record.get("opened_at"), number, "opened_at"), clicked_at)
            updates[found[0]] = (_earliest(opened, opened_at), _earliest(clicked, clicked_at))
        for recipient_id, (opened, clicked) in updates.items():
            connection.execute(
                campaign_recipients.update()
                .where(campaign_recipients.c.id == recipient_id)
                .values(opened_at=opened, clicked_at=clicked)
            )
        result = EngagementImport(
            rows=len(frame),
            matched=len(updates),
            unmatched=unmatched[:10],
            opened=sum(1 for opened, _clicked in updates.values() if opened is not None),
            clicked=sum(1 for _opened, clicked in updates.values() if clicked is not None),
        )
        record_audit(
            connection,
            actor,
            "import",
            "campaign_recipients",
            campaign_id,
            after={"rows": result.rows, "matched": result.matched, "unmatched": len(unmatched)},
        )
    return result
