"""``python -m crm campaign create|launch|send|results``: the contract of the issue on both engines
(the id printed, one-line errors with exit 2, mail really received, JSON keys)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from crm.cli import main
from crm.marketing.segments import save_segment
from crm.settings import get_settings
from tests.fixtures.tiny_shop import TinyShop
from tests.mail_server import LocalSmtpServer
from tests.marketing.campaign_support import ADMIN, EVERYONE, SECRET, prepare_consent, recipient_statuses

TEMPLATE = "Subject: Hello {first_name}\n\nDear {first_name},\nyou have {loyalty_points} points.\n{unsubscribe_url}\n"


@pytest.fixture
def shop(tiny_shop: TinyShop, monkeypatch: pytest.MonkeyPatch) -> Engine:
    prepare_consent(tiny_shop.engine)
    save_segment(tiny_shop.engine, ADMIN, "Everyone", EVERYONE)
    monkeypatch.setenv("CRM_COOKIE_KEY", SECRET)
    monkeypatch.delenv("CRM_SMTP_URL", raising=False)
    get_settings.cache_clear()
    yield tiny_shop.engine  # type: ignore[misc]
    get_settings.cache_clear()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _run(engine: Engine, *arguments: str) -> int:
    return main(["--database-url", _url(engine), "campaign", *arguments])


def _template(tmp_path: Path, text: str = TEMPLATE) -> str:
    path = tmp_path / "template.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _create(engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture, *extra: str, channel: str = "email") -> int:
    arguments = ["create", "--name", "Spring", "--segment", "Everyone", "--channel", channel]
    assert _run(engine, *arguments, "--template", _template(tmp_path), *extra) == 0
    return int(capsys.readouterr().out.strip())


def test_create_launch_send_and_results_by_email(
    shop: Engine, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = _create(shop, tmp_path, capsys, "--holdout", "0", "--seed", "42")
    assert _run(shop, "launch", str(campaign_id)) == 0
    assert capsys.readouterr().out.strip() == (
        "Launched: 5 recipients, 3 to contact, 0 in the holdout, "
        "not contactable: 1 no email address, 1 no marketing consent."
    )
    with LocalSmtpServer() as server:
        monkeypatch.setenv("CRM_SMTP_URL", server.url)
        monkeypatch.setenv("CRM_MAIL_FROM", "news@shop.test")
        get_settings.cache_clear()
        assert _run(shop, "send", str(campaign_id)) == 0
        assert capsys.readouterr().out.strip() == "Sent 3, failed 0, interrupted 0; finished."
        received = sorted((mail.recipients[0], mail.subject) for mail in server.messages)
    assert received == [
        ("alice@example.com", "Hello Alice"),
        ("bob@example.com", "Hello Bob"),
        ("dan@example.com", "Hello Dan"),
    ]
    assert _run(shop, "results", str(campaign_id), "--window", "30", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert {key: document[key] for key in ("campaign_id", "recipients", "contacted", "delivered", "holdout")} == {
        "campaign_id": campaign_id,
        "recipients": 5,
        "contacted": 3,
        "delivered": 3,
        "holdout": 0,
    }
    assert document["not_contactable"] == {"no email address": 1, "no marketing consent": 1}
    assert document["window_days"] == 30 and document["uplift"] is None
    assert set(document["groups"]) == {"contacted", "holdout"}
    assert _run(shop, "results", str(campaign_id)) == 0
    assert "no holdout group" in capsys.readouterr().out


def test_an_sms_campaign_is_exported_with_out(shop: Engine, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    campaign_id = _create(shop, tmp_path, capsys, "--holdout", "0", channel="sms")
    assert _run(shop, "launch", str(campaign_id)) == 0
    capsys.readouterr()
    assert _run(shop, "send", str(campaign_id)) == 2
    assert "use --out FILE" in capsys.readouterr().err
    out = tmp_path / "messages.csv"
    assert _run(shop, "send", str(campaign_id), "--out", str(out)) == 0
    frame = pd.read_csv(io.BytesIO(out.read_bytes()), dtype=str, encoding="utf-8-sig")
    assert list(frame["subject"]) == ["Hello Alice", "Hello Bob", "Hello Chloe", "Hello Dan"]
    assert {status for status, _ in recipient_statuses(shop, campaign_id).values()} == {"exported", "not_contactable"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--channel", "pigeon"], "--channel must be one of email, sms, export"),
        (["--holdout", "ten"], "--holdout must be a whole number"),
        (["--holdout", "95"], "The holdout must be between 0 and 90"),
        (["--segment", "Nobody"], "No segment 'Nobody'"),
    ],
)
def test_a_bad_create_exits_2_with_one_line(
    shop: Engine, tmp_path: Path, capsys: pytest.CaptureFixture, arguments: list[str], message: str
) -> None:
    base = {"--name": "X", "--segment": "Everyone", "--channel": "email", "--template": _template(tmp_path)}
    for flag, value in zip(arguments[::2], arguments[1::2], strict=True):
        base[flag] = value
    assert _run(shop, "create", *[part for pair in base.items() for part in pair]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: ") and message in error


def test_a_bad_template_file_names_the_placeholder(shop: Engine, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    template = _template(tmp_path, "Subject: Hi {nick}\n\nbody\n")
    arguments = ["create", "--name", "X", "--segment", "Everyone", "--channel", "email", "--template", template]
    assert _run(shop, *arguments) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Unknown placeholder {nick} in the subject" in error


def test_launch_send_and_results_of_a_missing_campaign_exit_2(shop: Engine, capsys: pytest.CaptureFixture) -> None:
    for action in (["launch", "99"], ["send", "99"], ["results", "99"], ["results", "x"]):
        assert _run(shop, *action) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and error.startswith("error: ")
