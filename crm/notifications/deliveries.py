"""Each digest or alert mail is claimed in the database before it is sent, and finished after.

The claim is a committed row under ``uq_notification_deliveries_once`` (kind, reference, user,
period): a second scheduler running at the same moment, or the same run repeated after a crash,
finds the row and sends nothing. So a mail goes out at most once. The price is the crash window:
a process that dies after its claim and before the server accepted the mail leaves the row
``claimed`` — shown as "not confirmed" on the Notifications page — and that mail is never sent
again by itself (never twice is the promise; the page tells what may be missing).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import IntegrityError

from crm.schema import notification_deliveries, utc_now

__all__ = ["claim_delivery", "finish_delivery"]


def claim_delivery(
    connection: Connection, *, kind: str, reference_id: int, user_id: int, period_key: str = ""
) -> int | None:
    """The new delivery's id, or None when this mail was already claimed (by anyone, ever).

    Runs in a savepoint of ``connection``'s transaction: a refused claim leaves the rest intact.
    The caller commits the claim before sending.
    """
    try:
        with connection.begin_nested():
            return connection.execute(
                insert(notification_deliveries)
                .values(
                    kind=kind,
                    reference_id=reference_id,
                    user_id=user_id,
                    period_key=period_key,
                    status="claimed",
                    claimed_at=utc_now(),
                )
                .returning(notification_deliveries.c.id)
            ).scalar_one()
    except IntegrityError:
        return None


def finish_delivery(engine: Engine, delivery_id: int, error: str | None) -> None:
    """Record the server's answer: sent, or failed with its error (one commit per mail)."""
    with engine.begin() as connection:
        connection.execute(
            update(notification_deliveries)
            .where(notification_deliveries.c.id == delivery_id)
            .values(status="failed" if error else "sent", error=error, finished_at=utc_now())
        )
