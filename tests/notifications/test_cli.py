"""The digest, alerts and scheduler commands: the contract scripts rely on, and two schedulers at once.

Two processes run ``digest send --due`` and ``alerts check`` at the same moment against the same
database and mail server: every digest period and every alert reaches each recipient exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from crm.cli import main
from crm.notifications.alerts import set_alert
from crm.permissions import Actor
from crm.schema import digest_subscriptions, users
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer
from tests.notifications.conftest import APP_URL, SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = datetime(2025, 1, 1)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _environment(engine: Engine, server: LocalSmtpServer | None) -> dict[str, str]:
    environment = {
        **os.environ,
        "CRM_DATABASE_URL": _url(engine),
        "CRM_COOKIE_KEY": SECRET_KEY,
        "CRM_TIMEZONE": "UTC",
        "CRM_APP_URL": APP_URL,
        "CRM_MAIL_FROM": "crm@shop.test",
    }
    environment.pop("CRM_SMTP_URL", None)
    if server is not None:
        environment["CRM_SMTP_URL"] = server.url
    return environment


def _cli(engine: Engine, capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["--database-url", _url(engine), *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_subscribe_list_and_unsubscribe_from_the_command_line(
    shop_with_mail: TinyShop, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = shop_with_mail.engine
    code, out, _err = _cli(
        engine, capsys, "digest", "subscribe", "--user", "sam", "--every", "weekly", "--at", "7:30", "--weekday", "FRI"
    )
    assert code == 0 and out.startswith("sam gets the weekly digest at 07:30 on FRI (UTC), subscription ")
    code, out, _err = _cli(engine, capsys, "digest", "list")
    assert code == 0 and "sam" in out and "weekly  07:30  FRI" in out
    code, out, _err = _cli(engine, capsys, "digest", "unsubscribe", "--user", "sam")
    assert (code, out) == (0, "Removed 1 digest subscription of sam.\n")
    code, out, err = _cli(engine, capsys, "digest", "unsubscribe", "--user", "sam")
    assert (code, out, err) == (2, "", "error: sam has no digest subscription\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["digest", "subscribe", "--user", "sam", "--every", "weekly", "--weekday", "SOMEDAY"],
            "weekday 'SOMEDAY' is not one of MON",
        ),
        (["digest", "subscribe", "--user", "sam", "--every", "daily", "--at", "25:00"], "at: time of day '25:00'"),
        (["digest", "subscribe", "--user", "nobody", "--every", "daily"], "user 'nobody' does not exist"),
        (["digest", "send"], "say which digests: --due"),
        (["digest", "send", "--due", "--now", "tomorrow"], "--now 'tomorrow' is not an ISO date and time"),
        (["alerts", "set", "low_stock", "--recipients", "zed"], "recipients: no user named 'zed'"),
    ],
)
def test_a_refused_command_prints_one_line_and_exits_2(
    shop_with_mail: TinyShop, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code, _out, err = _cli(shop_with_mail.engine, capsys, *arguments)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_sending_digests_without_a_mail_server_is_refused(
    shop_with_mail: TinyShop, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_SMTP_URL", raising=False)
    code, _out, err = _cli(shop_with_mail.engine, capsys, "digest", "send", "--due")
    assert code == 2 and err.startswith("error: CRM_SMTP_URL is not set")


def test_alerts_set_and_list_show_the_settings(shop_with_mail: TinyShop, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _cli(
        shop_with_mail.engine, capsys, "alerts", "set", "revenue_drop", "--threshold", "25", "--recipients", "ada,sam"
    )
    assert code == 0
    assert "revenue_drop        on  threshold 25 % below the average of the same weekday" in out
    assert "recipients: ada, sam; open: 0" in out
    code, out, _err = _cli(shop_with_mail.engine, capsys, "alerts", "set", "revenue_drop", "--off")
    assert "revenue_drop        off threshold 25" in out


def _run_together(commands: list[list[str]], environment: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "crm", *command],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = []
    for process, command in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def test_two_schedulers_at_once_send_every_digest_and_alert_once(
    shop_with_mail: TinyShop, smtp_server: LocalSmtpServer
) -> None:
    engine = shop_with_mail.engine
    system = Actor.system()
    with engine.begin() as connection:
        connection.execute(
            users.insert(),
            [
                {
                    "username": f"m{number}",
                    "full_name": f"Manager {number}",
                    "email": f"m{number}@shop.test",
                    "password_hash": "x",
                    "role": "manager",
                    "created_at": LONG_AGO,
                    "updated_at": LONG_AGO,
                }
                for number in range(4)
            ],
        )
    for username in ("ada", "sam", "m0", "m1", "m2", "m3"):
        main(
            [
                "--database-url",
                _url(engine),
                "digest",
                "subscribe",
                "--user",
                username,
                "--every",
                "daily",
                "--at",
                "06:00",
            ]
        )
    with engine.begin() as connection:  # made long ago, so the 2025 occurrence counts
        connection.execute(update(digest_subscriptions).values(created_at=LONG_AGO))
    set_alert(engine, system, "low_stock", recipients=["ada", "m0", "m1"])
    environment = _environment(engine, smtp_server)
    now = "2025-03-24T06:30"
    # Without charts: a browser per process would take most of a minute on two busy cores (charts: test_digests).
    send = ["digest", "send", "--due", "--now", now, "--no-charts"]
    results = _run_together([send, send], environment)
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    alerts = _run_together([["alerts", "check", "--now", now], ["alerts", "check", "--now", now]], environment)
    assert [result.returncode for result in alerts] == [0, 0], [result.stderr for result in alerts]
    digests = [mail for mail in smtp_server.messages if "digest" in mail.subject]
    alert_mails = [mail for mail in smtp_server.messages if "alert" in mail.subject]
    assert sorted(mail.recipients[0] for mail in digests) == sorted(
        ["ada@shop.test", "sam@shop.test", "m0@shop.test", "m1@shop.test", "m2@shop.test", "m3@shop.test"]
    )
    assert sorted(mail.recipients[0] for mail in alert_mails) == ["ada@shop.test", "m0@shop.test", "m1@shop.test"]
    sent_counts = sorted(int(result.stdout.strip().splitlines()[-1].split()[0]) for result in results)
    assert sum(sent_counts) == 6  # between them; which process sent which is up to the race
