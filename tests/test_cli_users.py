"""``python -m crm users ...`` as an operator runs it on a fresh install."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import crm.auth as auth
from crm.auth import active_actor, verify_password
from crm.cli import main
from crm.db import make_engine
from crm.schema import users


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "BCRYPT_ROUNDS", 4)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _run(url: str, monkeypatch: pytest.MonkeyPatch, *arguments: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--database-url", url, "users", *arguments])


def test_on_a_fresh_install_the_first_user_becomes_the_admin(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(url, monkeypatch, "list") == 0
    assert "No users yet" in capsys.readouterr().out
    assert _run(url, monkeypatch, "add", "Owner", "--password-stdin", stdin="owner-password-1\n") == 0
    assert "Created owner with role admin (the first user is the administrator)." in capsys.readouterr().out
    assert active_actor(make_engine(url), "owner").role == "admin"


def test_the_first_user_cannot_be_anything_but_an_admin(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(url, monkeypatch, "add", "owner", "--role", "agent", "--password-stdin", stdin="pw-long-enough\n") == 1
    assert capsys.readouterr().err == "error: The first user must be an admin (leave out --role or use --role admin).\n"


def test_later_users_need_a_role_and_get_exactly_it(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(url, monkeypatch, "add", "owner", "--password-stdin", stdin="owner-password-1\n")
    assert _run(url, monkeypatch, "add", "kim", "--password-stdin", stdin="kim-password-1\n") == 1
    assert "--role is required" in capsys.readouterr().err
    assert _run(url, monkeypatch, "add", "kim", "--role", "analyst", "--password-stdin", stdin="kim-password-1\n") == 0
    assert _run(url, monkeypatch, "set-role", "kim", "manager") == 0
    assert active_actor(make_engine(url), "kim").role == "manager"
    capsys.readouterr()
    assert _run(url, monkeypatch, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["username", "role", "active"]
    assert [line.split()[:3] for line in lines[1:]] == [["kim", "manager", "yes"], ["owner", "admin", "yes"]]


def test_reset_password_reads_the_new_password_from_stdin(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(url, monkeypatch, "add", "owner", "--password-stdin", stdin="owner-password-1\n")
    assert _run(url, monkeypatch, "reset-password", "owner", "--password-stdin", stdin="second-password-2\r\n") == 0
    with make_engine(url).connect() as connection:
        stored = connection.execute(users.select().where(users.c.username == "owner")).one().password_hash
    assert verify_password("second-password-2", stored)


@pytest.mark.parametrize(
    ("arguments", "stdin", "message"),
    [
        (("add", "kim", "--role", "agent", "--password-stdin"), "short\n", "error: The password must have at least 8"),
        (("add", "kim", "--role", "agent", "--password-stdin"), "", "error: --password-stdin given but nothing"),
        (("add", "kim", "--role", "agent"), "", "error: No terminal to ask for the password"),
        (("set-role", "nobody", "agent"), "", "error: No user named 'nobody'."),
        (("set-role", "owner", "agent"), "", "error: owner is the last active admin"),
        (("reset-password", "nobody", "--password-stdin"), "long-enough-1\n", "error: No user named 'nobody'."),
    ],
)
def test_mistakes_print_one_clear_line_and_exit_with_1(
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    _run(url, monkeypatch, "add", "owner", "--password-stdin", stdin="owner-password-1\n")
    capsys.readouterr()
    assert _run(url, monkeypatch, *arguments, stdin=stdin) == 1
    error = capsys.readouterr().err
    assert error.startswith(message)
    assert error.count("\n") == 1
