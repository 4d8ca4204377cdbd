"""The scheduler a deployment runs beside the app: digests and alerts on a timer, until stopped.

Each tick runs ``digest send --due`` and ``alerts check`` for the current time. It keeps no state of
its own: what was sent is in the database (claimed deliveries, open episodes), so two schedulers,
a restart or a cron job running the one-shot commands at the same time never send anything twice.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from crm.marketing.mail import MailSettings
from crm.notifications.alerts import AlertRun, check_alerts
from crm.notifications.digests import DigestRun, send_due_digests

__all__ = ["DEFAULT_INTERVAL_SECONDS", "Tick", "run_scheduler", "tick"]

# A minute: digests are scheduled to the minute, and an alert a minute late is still on time.
DEFAULT_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Tick:
    digests: DigestRun
    alerts: AlertRun


def tick(
    engine: Engine,
    mail: MailSettings,
    *,
    now: datetime,
    zone_name: str,
    app_url: str,
    secret_key: str,
    progress: Callable[[str], None] | None = None,
) -> Tick:
    """One round: due digests, then alerts, at ``now`` (aware)."""
    digests = send_due_digests(
        engine, mail, now=now, zone_name=zone_name, app_url=app_url, secret_key=secret_key, progress=progress
    )
    alerts = check_alerts(engine, mail, now=now, zone_name=zone_name, app_url=app_url, progress=progress)
    return Tick(digests, alerts)


def run_scheduler(
    engine: Engine,
    mail: MailSettings,
    *,
    zone_name: str,
    app_url: str,
    secret_key: str,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    rounds: int | None = None,
    log: Callable[[str], None] = print,
) -> int:
    """Tick every ``interval_seconds`` until SIGTERM/SIGINT (or ``rounds`` ticks); returns the ticks run.

    A failing round (database briefly away, say) is logged and the next one tries again.
    """
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda _number, _frame: stop.set())
    ticks = 0
    while not stop.is_set() and (rounds is None or ticks < rounds):
        now = datetime.now(UTC)
        try:
            result = tick(
                engine, mail, now=now, zone_name=zone_name, app_url=app_url, secret_key=secret_key, progress=log
            )
            log(
                f"{now:%Y-%m-%d %H:%M:%S} UTC: {len(result.digests.sent)} digests sent, "
                f"{len(result.digests.failed)} failed; {len(result.alerts.opened)} alerts opened, "
                f"{result.alerts.cleared} cleared"
            )
        except Exception as error:  # keep running: the next round retries (nothing is sent twice)
            log(f"{now:%Y-%m-%d %H:%M:%S} UTC: round failed: {type(error).__name__}: {error}")
        ticks += 1
        if rounds is None or ticks < rounds:
            stop.wait(interval_seconds)
    return ticks
