"""Users, revocable sign-in sessions and time-windowed login throttling (crm.auth), on both engines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

import crm.auth as auth
from crm.auth import (
    LoginClient,
    LoginThrottle,
    UserError,
    active_actor,
    actor_for_session,
    check_login_allowed,
    create_user,
    deactivate_user,
    device_id_from_token,
    list_users,
    new_device_token,
    reactivate_user,
    record_login_attempt,
    reset_password,
    revoke_session,
    set_role,
    start_session,
    verify_password,
)
from crm.permissions import Actor, PermissionDeniedError
from crm.schema import audit_log, user_sessions, users
from tests.fixtures.tiny_shop import ADMIN_PASSWORD, TinyShop

KEY = "test-cookie-key-0123456789abcdef-xyz"
ADA = Actor(user_id=1, username="ada", role="admin")  # tiny_shop's admin
T0 = datetime(2025, 3, 1, 9, 0, 0)


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    # bcrypt's cost does not change behaviour; the minimum keeps the suite quick.
    monkeypatch.setattr(auth, "BCRYPT_ROUNDS", 4)


def _stored_hash(engine: Engine, username: str) -> str:
    with engine.connect() as connection:
        return connection.execute(select(users.c.password_hash).where(users.c.username == username)).scalar_one()


def _audit_rows(engine: Engine, action: str) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))
        return [dict(row._mapping) for row in rows]


# --- users -----------------------------------------------------------------------------


def test_a_created_user_has_a_bcrypt_hash_that_checks_their_password(tiny_shop: TinyShop) -> None:
    create_user(tiny_shop.engine, ADA, "  Zoe ", "zoe-secret-1", "analyst", full_name="Zoe Analyst")
    stored = _stored_hash(tiny_shop.engine, "zoe")  # the username was trimmed and lower-cased
    assert stored.startswith("$2b$")
    assert verify_password("zoe-secret-1", stored)
    assert not verify_password("zoe-secret-2", stored)
    assert active_actor(tiny_shop.engine, "zoe") == Actor(user_id=3, username="zoe", role="analyst")


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("ada", "long-enough-1", "agent", "already exists"),
        ("x", "long-enough-1", "agent", "2–60 characters"),
        ("with space", "long-enough-1", "agent", "2–60 characters"),
        ("newbie", "short", "agent", "at least 8"),
        ("newbie", " padded-password ", "agent", "spaces"),
        ("newbie", "long-enough-1", "owner", "Unknown role"),
    ],
)
def test_invalid_new_users_are_refused_with_a_one_line_reason(
    tiny_shop: TinyShop, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        create_user(tiny_shop.engine, ADA, username, password, role)


@pytest.mark.parametrize("role", ["manager", "analyst", "agent"])
def test_only_admins_may_manage_users(tiny_shop: TinyShop, role: str) -> None:
    someone = Actor(user_id=2, username="sam", role=role)
    attempts = [
        lambda: create_user(tiny_shop.engine, someone, "eve", "long-enough-1", "admin"),
        lambda: list_users(tiny_shop.engine, someone),
        lambda: set_role(tiny_shop.engine, someone, "sam", "admin"),
        lambda: reset_password(tiny_shop.engine, someone, "ada", "long-enough-1"),
        lambda: deactivate_user(tiny_shop.engine, someone, "ada"),
        lambda: reactivate_user(tiny_shop.engine, someone, "ada"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError):
            attempt()
    assert active_actor(tiny_shop.engine, "sam").role == "agent"  # nothing changed
    assert _audit_rows(tiny_shop.engine, "update") == []


def test_user_changes_are_audited_with_before_and_after_but_never_the_password_hash(tiny_shop: TinyShop) -> None:
    create_user(tiny_shop.engine, ADA, "zoe", "zoe-secret-1", "agent")
    set_role(tiny_shop.engine, ADA, "zoe", "manager")
    reset_password(tiny_shop.engine, ADA, "zoe", "zoe-secret-2")
    created = _audit_rows(tiny_shop.engine, "create")
    updated = _audit_rows(tiny_shop.engine, "update")
    assert [(row["username"], row["entity"], row["entity_id"]) for row in created] == [("ada", "user", "3")]
    assert json.loads(updated[0]["before_json"])["role"] == "agent"
    assert json.loads(updated[0]["after_json"])["role"] == "manager"
    assert json.loads(updated[1]["after_json"]) == {"password": "(reset)"}
    logged = " ".join(str(value) for row in created + updated for value in row.values())
    assert "$2b$" not in logged
    assert "zoe-secret" not in logged


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(tiny_shop: TinyShop) -> None:
    system = Actor.system()
    with pytest.raises(UserError, match="last active admin"):
        set_role(tiny_shop.engine, system, "ada", "manager")
    with pytest.raises(UserError, match="last active admin"):
        deactivate_user(tiny_shop.engine, system, "ada")
    set_role(tiny_shop.engine, system, "sam", "admin")
    set_role(tiny_shop.engine, system, "ada", "manager")  # sam is an admin now
    assert active_actor(tiny_shop.engine, "ada").role == "manager"


def test_admins_cannot_deactivate_themselves(tiny_shop: TinyShop) -> None:
    set_role(tiny_shop.engine, ADA, "sam", "admin")
    with pytest.raises(UserError, match="your own account"):
        deactivate_user(tiny_shop.engine, ADA, "ada")


def test_a_deactivated_user_is_no_actor_until_reactivated(tiny_shop: TinyShop) -> None:
    deactivate_user(tiny_shop.engine, ADA, "sam")
    assert active_actor(tiny_shop.engine, "sam") is None
    assert [(person.username, person.is_active) for person in list_users(tiny_shop.engine, ADA)] == [
        ("ada", True),
        ("sam", False),
    ]
    reactivate_user(tiny_shop.engine, ADA, "sam")
    assert active_actor(tiny_shop.engine, "sam") == Actor(user_id=2, username="sam", role="agent")


# --- sessions ---------------------------------------------------------------------------


def test_a_session_token_signs_in_until_it_is_revoked(tiny_shop: TinyShop) -> None:
    token = start_session(tiny_shop.engine, "ada", KEY)
    assert actor_for_session(tiny_shop.engine, token, KEY) == ADA
    assert revoke_session(tiny_shop.engine, token, KEY) is True
    assert actor_for_session(tiny_shop.engine, token, KEY) is None
    assert revoke_session(tiny_shop.engine, token, KEY) is False  # already ended
    assert [(row["username"], row["entity_id"]) for row in _audit_rows(tiny_shop.engine, "login")] == [("ada", "1")]
    assert [(row["username"], row["entity_id"]) for row in _audit_rows(tiny_shop.engine, "logout")] == [("ada", "1")]


def test_the_database_keeps_only_a_keyed_hash_of_the_token(tiny_shop: TinyShop) -> None:
    token = start_session(tiny_shop.engine, "ada", KEY)
    with tiny_shop.engine.connect() as connection:
        stored = connection.execute(select(user_sessions.c.token_hash)).scalar_one()
    assert token not in stored
    assert actor_for_session(tiny_shop.engine, token, KEY + "-rotated") is None  # a new key ends every session
    assert actor_for_session(tiny_shop.engine, stored, KEY) is None  # the hash itself is no cookie


def test_a_session_expires_after_session_days(tiny_shop: TinyShop) -> None:
    token = start_session(tiny_shop.engine, "ada", KEY, now=T0)
    last_valid = T0 + timedelta(days=auth.SESSION_DAYS) - timedelta(seconds=1)
    assert actor_for_session(tiny_shop.engine, token, KEY, now=last_valid) == ADA
    assert actor_for_session(tiny_shop.engine, token, KEY, now=last_valid + timedelta(seconds=1)) is None


def test_a_session_reports_the_role_stored_now_and_ends_with_deactivation(tiny_shop: TinyShop) -> None:
    token = start_session(tiny_shop.engine, "sam", KEY)
    set_role(tiny_shop.engine, ADA, "sam", "analyst")
    assert actor_for_session(tiny_shop.engine, token, KEY).role == "analyst"
    deactivate_user(tiny_shop.engine, ADA, "sam")
    reactivate_user(tiny_shop.engine, ADA, "sam")
    # Reactivation does not bring the old cookie back: deactivation revoked it.
    assert actor_for_session(tiny_shop.engine, token, KEY) is None


def test_a_password_reset_ends_every_session_of_that_user(tiny_shop: TinyShop) -> None:
    first = start_session(tiny_shop.engine, "sam", KEY)
    second = start_session(tiny_shop.engine, "sam", KEY)
    admins = start_session(tiny_shop.engine, "ada", KEY)
    reset_password(tiny_shop.engine, ADA, "sam", "brand-new-pass")
    assert actor_for_session(tiny_shop.engine, first, KEY) is None
    assert actor_for_session(tiny_shop.engine, second, KEY) is None
    assert actor_for_session(tiny_shop.engine, admins, KEY) == ADA
    assert verify_password("brand-new-pass", _stored_hash(tiny_shop.engine, "sam"))
    assert not verify_password(ADMIN_PASSWORD, _stored_hash(tiny_shop.engine, "sam"))


def test_a_deactivated_user_cannot_start_a_session(tiny_shop: TinyShop) -> None:
    deactivate_user(tiny_shop.engine, ADA, "sam")
    with pytest.raises(UserError, match="deactivated"):
        start_session(tiny_shop.engine, "sam", KEY)


# --- throttling ---------------------------------------------------------------------------

POLICY = LoginThrottle(
    window=timedelta(minutes=15),
    max_failures_per_user=5,
    max_failures_per_client=30,
    known_client_age=timedelta(days=30),
)
PROXY = "198.51.100.1"  # a TLS-terminating proxy: every browser behind it has this address
ATTACKER = LoginClient("203.0.113.9")
ADAS_LAPTOP = LoginClient(PROXY, device_id="ada-laptop")
NEW_BROWSER_BEHIND_PROXY = LoginClient(PROXY)


def _fail(engine: Engine, username: str, client: LoginClient, at: datetime, times: int = 1) -> None:
    for offset in range(times):
        record_login_attempt(engine, username, client, False, now=at + timedelta(minutes=offset))


def _allowed(engine: Engine, username: str, client: LoginClient, at: datetime) -> bool:
    return check_login_allowed(engine, username, client, now=at, policy=POLICY).allowed


def test_a_client_is_keyed_by_ip_address_and_device() -> None:
    assert LoginClient("198.51.100.1", "d3v1ce").key == "device:d3v1ce|ip:198.51.100.1"
    assert LoginClient("198.51.100.1").key == "ip:198.51.100.1"
    assert LoginClient(None, "d3v1ce").key == "device:d3v1ce|local"
    assert LoginClient(None).key == "local"


def test_a_device_token_carries_its_id_only_with_this_servers_signature() -> None:
    token = new_device_token(KEY)
    device_id, signature = token.split(".")
    assert len(device_id) == 22 and len(signature) == 32
    assert device_id_from_token(token, KEY) == device_id
    assert new_device_token(KEY) != token  # random per browser
    assert device_id_from_token(token, KEY + "-rotated") is None
    assert device_id_from_token(f"{device_id}x.{signature}", KEY) is None  # forged id
    assert device_id_from_token(f"{device_id}.{'0' * 32}", KEY) is None  # forged signature
    assert device_id_from_token(device_id, KEY) is None
    assert device_id_from_token(None, KEY) is None


def test_five_failures_hold_a_username_back_until_the_oldest_leaves_the_window(tiny_shop: TinyShop) -> None:
    # Failures at 9:00, 9:01, 9:02, 9:03, 9:04 from an attacker.
    _fail(tiny_shop.engine, "ada", ATTACKER, T0, times=5)
    decision = check_login_allowed(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, now=T0 + timedelta(minutes=5))
    assert not decision.allowed
    # The 9:00 failure leaves the 15-minute window at 9:15; then only 4 remain.
    assert decision.retry_at == T0 + timedelta(minutes=15)
    assert "for this user" in decision.message(now=T0 + timedelta(minutes=5))
    assert "10 minutes" in decision.message(now=T0 + timedelta(minutes=5))
    assert _allowed(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, T0 + timedelta(minutes=15))


def test_four_failures_do_not_hold_anyone_back(tiny_shop: TinyShop) -> None:
    _fail(tiny_shop.engine, "ada", ATTACKER, T0, times=4)
    assert _allowed(tiny_shop.engine, "ada", ATTACKER, T0 + timedelta(minutes=4))


def test_a_device_that_signed_in_as_a_user_is_exempt_from_both_locks_for_that_user(tiny_shop: TinyShop) -> None:
    record_login_attempt(tiny_shop.engine, "ada", ADAS_LAPTOP, True, now=T0 - timedelta(days=3))
    # Someone behind the same proxy fails 10 times on ada and 30 times on other names, 9:00-9:29.
    _fail(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, T0, times=10)
    for index in range(30):
        record_login_attempt(
            tiny_shop.engine, f"guess{index}", NEW_BROWSER_BEHIND_PROXY, False, now=T0 + timedelta(seconds=index)
        )
    later = T0 + timedelta(minutes=12)
    assert _allowed(tiny_shop.engine, "ada", ADAS_LAPTOP, later)
    # From a café, the same laptop is still ada's device.
    assert _allowed(tiny_shop.engine, "ada", LoginClient("192.0.2.44", device_id="ada-laptop"), later)
    assert not _allowed(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, later)
    assert not _allowed(tiny_shop.engine, "ada", LoginClient(PROXY, device_id="someone-else"), later)


def test_a_shared_ip_address_is_no_known_client_for_anyone(tiny_shop: TinyShop) -> None:
    # ada once signed in behind the proxy from a browser without a device cookie.
    record_login_attempt(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, True, now=T0 - timedelta(days=3))
    _fail(tiny_shop.engine, "ada", ATTACKER, T0, times=5)
    assert not _allowed(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, T0 + timedelta(minutes=5))


def test_a_device_is_known_only_for_the_user_it_signed_in_as_and_only_for_30_days(tiny_shop: TinyShop) -> None:
    # The laptop's last sign-in as ada: 30 days minus 10 minutes before 9:00.
    record_login_attempt(tiny_shop.engine, "ada", ADAS_LAPTOP, True, now=T0 - timedelta(days=30, minutes=-10))
    _fail(tiny_shop.engine, "sam", ATTACKER, T0, times=5)
    _fail(tiny_shop.engine, "ada", ATTACKER, T0, times=5)
    at_9_05, at_9_11 = T0 + timedelta(minutes=5), T0 + timedelta(minutes=11)
    assert not _allowed(tiny_shop.engine, "sam", ADAS_LAPTOP, at_9_05)  # ada's laptop is nobody else's device
    assert _allowed(tiny_shop.engine, "ada", ADAS_LAPTOP, at_9_05)
    # At 9:11 that sign-in is more than 30 days old: the laptop waits like everyone else.
    assert not _allowed(tiny_shop.engine, "ada", ADAS_LAPTOP, at_9_11)


def test_a_known_devices_own_failed_guesses_still_count_five_per_window(tiny_shop: TinyShop) -> None:
    record_login_attempt(tiny_shop.engine, "ada", ADAS_LAPTOP, True, now=T0 - timedelta(days=1))
    _fail(tiny_shop.engine, "ada", ADAS_LAPTOP, T0, times=4)
    assert _allowed(tiny_shop.engine, "ada", ADAS_LAPTOP, T0 + timedelta(minutes=4))
    _fail(tiny_shop.engine, "ada", LoginClient("192.0.2.44", device_id="ada-laptop"), T0 + timedelta(minutes=4))
    decision = check_login_allowed(tiny_shop.engine, "ada", ADAS_LAPTOP, now=T0 + timedelta(minutes=5), policy=POLICY)
    assert not decision.allowed
    assert decision.retry_at == T0 + timedelta(minutes=15)


def test_a_successful_sign_in_clears_earlier_failures_of_that_user(tiny_shop: TinyShop) -> None:
    _fail(tiny_shop.engine, "sam", LoginClient(None), T0, times=4)
    record_login_attempt(tiny_shop.engine, "sam", LoginClient(None), True, now=T0 + timedelta(minutes=4))
    _fail(tiny_shop.engine, "sam", ATTACKER, T0 + timedelta(minutes=5), times=4)
    # 8 failures in the window, but only the 4 after the success count.
    assert _allowed(tiny_shop.engine, "sam", LoginClient("192.0.2.44"), T0 + timedelta(minutes=9))


def test_thirty_failures_from_one_client_hold_back_that_ip_and_device_only(tiny_shop: TinyShop) -> None:
    for index in range(30):  # 30 different usernames, one failure each, 9:00:00 ... 9:00:29
        record_login_attempt(
            tiny_shop.engine, f"guess{index}", NEW_BROWSER_BEHIND_PROXY, False, now=T0 + timedelta(seconds=index)
        )
    later = T0 + timedelta(minutes=1)
    decision = check_login_allowed(tiny_shop.engine, "ada", NEW_BROWSER_BEHIND_PROXY, now=later, policy=POLICY)
    assert not decision.allowed
    assert decision.retry_at == T0 + timedelta(minutes=15)
    assert "from this computer" in decision.message(now=later)
    # Other browsers behind the proxy that hold a device cookie are other clients.
    assert _allowed(tiny_shop.engine, "ada", LoginClient(PROXY, device_id="sams-desktop"), later)
    assert _allowed(tiny_shop.engine, "ada", LoginClient("192.0.2.44"), later)
    # 29 failures from one device at 9:00 ... 9:28 do not hold it back.
    for minute in range(29):
        record_login_attempt(
            tiny_shop.engine,
            f"other{minute}",
            LoginClient(PROXY, "busy-desk"),
            False,
            now=T0 + timedelta(seconds=minute),
        )
    assert _allowed(tiny_shop.engine, "ada", LoginClient(PROXY, "busy-desk"), later)


def test_a_forged_device_cookie_is_no_new_client() -> None:
    # A script that invents device ids gets none from the server: it stays its IP's client.
    forged = device_id_from_token("made-up-device.0123456789abcdef0123456789abcdef", KEY)
    assert LoginClient(PROXY, forged) == NEW_BROWSER_BEHIND_PROXY


def test_checking_the_throttle_records_nothing_so_refused_attempts_do_not_extend_a_lock(tiny_shop: TinyShop) -> None:
    _fail(tiny_shop.engine, "ada", ATTACKER, T0, times=5)
    for minute in range(5, 15):
        assert not _allowed(tiny_shop.engine, "ada", ATTACKER, T0 + timedelta(minutes=minute))
    with tiny_shop.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(auth.login_attempts)).scalar_one() == 5


def test_a_password_reset_lifts_the_lock_on_that_user(tiny_shop: TinyShop) -> None:
    now = auth.utc_now()
    _fail(tiny_shop.engine, "sam", ATTACKER, now - timedelta(minutes=6), times=5)
    assert not check_login_allowed(tiny_shop.engine, "sam", LoginClient(None), now=now).allowed
    reset_password(tiny_shop.engine, ADA, "sam", "brand-new-pass")
    assert check_login_allowed(tiny_shop.engine, "sam", LoginClient(None), now=now).allowed


def test_old_attempts_are_pruned_but_recent_successes_are_kept(tiny_shop: TinyShop) -> None:
    local, office = LoginClient(None), LoginClient("198.51.100.1", "office-pc")
    record_login_attempt(tiny_shop.engine, "ada", local, False, now=T0 - timedelta(days=2))  # pruned
    record_login_attempt(tiny_shop.engine, "ada", local, True, now=T0 - timedelta(days=91))  # pruned
    record_login_attempt(tiny_shop.engine, "ada", office, True, now=T0 - timedelta(days=89))  # kept
    record_login_attempt(tiny_shop.engine, "sam", local, False, now=T0)  # kept, and triggers the pruning
    with tiny_shop.engine.connect() as connection:
        kept = connection.execute(
            select(auth.login_attempts.c.client_key, auth.login_attempts.c.succeeded).order_by(auth.login_attempts.c.id)
        ).all()
    assert [tuple(row) for row in kept] == [("device:office-pc|ip:198.51.100.1", True), ("local", False)]


def test_sessions_long_expired_are_deleted_at_the_next_sign_in(tiny_shop: TinyShop) -> None:
    start_session(tiny_shop.engine, "sam", KEY, now=T0)  # expires T0 + 7 days
    start_session(tiny_shop.engine, "sam", KEY, now=T0 + timedelta(days=20))  # expires T0 + 27 days
    # At T0 + 40 days the first expired 33 days ago (> 30: deleted), the second 13 days ago (kept).
    start_session(tiny_shop.engine, "ada", KEY, now=T0 + timedelta(days=40))
    with tiny_shop.engine.connect() as connection:
        created = connection.execute(select(user_sessions.c.created_at).order_by(user_sessions.c.id)).scalars().all()
    assert created == [T0 + timedelta(days=20), T0 + timedelta(days=40)]
