"""Users, passwords, sign-in sessions and login throttling.

Passwords are stored as bcrypt hashes (streamlit-authenticator checks them at sign-in).
A signed-in browser holds a random session token in a cookie; the database keeps only an
HMAC of it (``user_sessions.token_hash``), so signing out, resetting a password or
deactivating a user revokes the cookie for good, server-side.

Throttling counts failed sign-ins in a sliding 15-minute window, per username (5) and per
client (30). A client is the connection's IP address plus the browser's device cookie: a
long-lived random id, signed with the cookie key, that a browser receives at its first
successful sign-in. Behind a proxy every user has the proxy's IP, so the IP alone would let
one person's failures lock everyone out; with the device id each signed-in-before browser
is its own client. A device that signed in as user U within 30 days is exempt from both
locks for U: other people's failures never hold it back (only its own failed guesses at U
count, 5 per window, so a copied device cookie is no licence to guess). Browsers without a
valid device cookie (new ones, and scripts that drop or forge cookies) share their IP's
client, so forging device ids gains an attacker nothing. Old failures simply age out, so a
real user is never locked out for good.

Every function that changes users takes the acting ``Actor``, checks
``Permission.MANAGE_USERS`` first and writes an audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import bcrypt
from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update

from crm.audit import record_audit
from crm.permissions import Actor, Permission, require
from crm.schema import ROLES, login_attempts, user_sessions, users, utc_now

__all__ = [
    "DEFAULT_THROTTLE",
    "DEVICE_DAYS",
    "MIN_PASSWORD_LENGTH",
    "SESSION_DAYS",
    "LoginClient",
    "LoginThrottle",
    "ThrottleDecision",
    "UserError",
    "UserInfo",
    "active_actor",
    "actor_for_session",
    "check_login_allowed",
    "create_user",
    "deactivate_user",
    "device_id_from_token",
    "has_users",
    "hash_password",
    "list_users",
    "new_device_token",
    "reactivate_user",
    "record_login_attempt",
    "reset_password",
    "revoke_session",
    "set_role",
    "start_session",
    "verify_password",
]

# NIST SP 800-63B minimum for user-chosen passwords; longer is encouraged in the prompts.
MIN_PASSWORD_LENGTH = 8
# bcrypt's maximum input; longer passwords would be silently truncated by the algorithm.
MAX_PASSWORD_BYTES = 72
# ~250 ms per hash on a small server: slow for guessing, unnoticeable at sign-in.
BCRYPT_ROUNDS = 12
# How long a "remember me" cookie stays valid without signing in again.
SESSION_DAYS = 7
# How long a browser keeps its device cookie (renewed at every sign-in); it only identifies
# the browser for throttling, it never signs anyone in.
DEVICE_DAYS = 365
# Expired or revoked session rows are deleted this long after they expire.
SESSION_RETENTION = timedelta(days=30)
# Attempts kept: failed ones a while longer than any sensible throttle window, successful ones
# longer than the known-client period (LoginThrottle.known_client_age).
FAILURE_RETENTION = timedelta(days=1)
SUCCESS_RETENTION = timedelta(days=90)
# Lower case so streamlit-authenticator (which lower-cases what is typed) finds the user.
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")


class UserError(ValueError):
    """A user-management request that cannot be done; the message is one line for the user."""


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    full_name: str
    email: str | None
    role: str
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime | None


# ---------------------------------------------------------------------------------------
# Passwords


def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (after checking it is acceptable)."""
    _check_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # not a bcrypt hash
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise UserError(f"The password must have at most {MAX_PASSWORD_BYTES} bytes.")
    if password != password.strip():
        # streamlit-authenticator strips what is typed at sign-in; such a password could never match.
        raise UserError("The password must not start or end with spaces.")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")


# ---------------------------------------------------------------------------------------
# Users


def has_users(engine: Engine) -> bool:
    """True once at least one user exists (the first ``crm users add`` creates the admin)."""
    with engine.connect() as connection:
        return connection.execute(select(users.c.id).limit(1)).first() is not None


def active_actor(engine: Engine, username: str) -> Actor | None:
    """``username`` as an ``Actor`` with the role stored now, or None when unknown or deactivated."""
    with engine.connect() as connection:
        row = connection.execute(
            select(users.c.id, users.c.username, users.c.role).where(
                users.c.username == username, users.c.is_active.is_(True)
            )
        ).first()
    return None if row is None else Actor(user_id=row.id, username=row.username, role=row.role)


def _public(row: Any) -> dict[str, Any]:
    """The audit view of a user row: never the password hash."""
    return {
        "username": row.username,
        "full_name": row.full_name,
        "email": row.email,
        "role": row.role,
        "is_active": bool(row.is_active),
    }


def _user_row(connection: Connection, username: str) -> Any:
    row = connection.execute(select(users).where(users.c.username == username.strip().lower())).first()
    if row is None:
        raise UserError(f"No user named {username!r}.")
    return row


def _active_admins_other_than(connection: Connection, user_id: int) -> int:
    return connection.execute(
        select(func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.is_active.is_(True), users.c.id != user_id)
    ).scalar_one()


def create_user(
    engine: Engine,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    *,
    full_name: str | None = None,
    email: str | None = None,
) -> int:
    """Create an active user and return its id."""
    require(actor, Permission.MANAGE_USERS)
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise UserError("A username has 2–60 characters: lower-case letters, digits, '.', '_' or '-'.")
    _check_role(role)
    password_hash = hash_password(password)
    email = (email or "").strip() or None
    if email is not None and "@" not in email:
        raise UserError(f"{email!r} is not an email address.")
    values = {
        "username": username,
        "full_name": (full_name or "").strip() or username,
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "is_active": True,
    }
    with engine.begin() as connection:
        if connection.execute(select(users.c.id).where(users.c.username == username)).first() is not None:
            raise UserError(f"A user named {username!r} already exists.")
        user_id = connection.execute(users.insert().values(**values).returning(users.c.id)).scalar_one()
        record_audit(connection, actor, "create", "user", user_id, after=_public(_user_row(connection, username)))
    return int(user_id)


def list_users(engine: Engine, actor: Actor) -> list[UserInfo]:
    """Every user, active ones first, by username."""
    require(actor, Permission.MANAGE_USERS)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                users.c.id,
                users.c.username,
                users.c.full_name,
                users.c.email,
                users.c.role,
                users.c.is_active,
                users.c.last_login_at,
                users.c.created_at,
            ).order_by(users.c.is_active.desc(), users.c.username)
        ).all()
    return [
        UserInfo(
            id=row.id,
            username=row.username,
            full_name=row.full_name,
            email=row.email,
            role=row.role,
            is_active=bool(row.is_active),
            last_login_at=row.last_login_at,
            created_at=row.created_at,
        )
        for row in rows
    ]


def _update_user(connection: Connection, actor: Actor, before: Any, **values: Any) -> None:
    connection.execute(
        update(users).where(users.c.id == before.id).values(**values, updated_at=utc_now(), version=users.c.version + 1)
    )
    after = _user_row(connection, before.username)
    record_audit(connection, actor, "update", "user", before.id, before=_public(before), after=_public(after))


def set_role(engine: Engine, actor: Actor, username: str, role: str) -> None:
    """Give ``username`` another role; the last active admin keeps the admin role."""
    require(actor, Permission.MANAGE_USERS)
    _check_role(role)
    with engine.begin() as connection:
        before = _user_row(connection, username)
        if before.role == role:
            return
        if before.role == "admin" and before.is_active and _active_admins_other_than(connection, before.id) == 0:
            raise UserError(f"{before.username} is the last active admin; make another user admin first.")
        _update_user(connection, actor, before, role=role)


def reset_password(engine: Engine, actor: Actor, username: str, new_password: str) -> None:
    """Set a new password, sign the user out everywhere and lift any sign-in throttling on them."""
    require(actor, Permission.MANAGE_USERS)
    password_hash = hash_password(new_password)
    with engine.begin() as connection:
        before = _user_row(connection, username)
        connection.execute(
            update(users)
            .where(users.c.id == before.id)
            .values(password_hash=password_hash, updated_at=utc_now(), version=users.c.version + 1)
        )
        _revoke_user_sessions(connection, before.id)
        connection.execute(
            delete(login_attempts).where(
                login_attempts.c.username == before.username, login_attempts.c.succeeded.is_(False)
            )
        )
        # The hash itself is never logged; the audit row says that the password changed.
        record_audit(
            connection,
            actor,
            "update",
            "user",
            before.id,
            before={"password": "(previous)"},
            after={"password": "(reset)"},
        )


def deactivate_user(engine: Engine, actor: Actor, username: str) -> None:
    """Stop a user from signing in (their open sessions end at once); the row stays for the audit log."""
    require(actor, Permission.MANAGE_USERS)
    with engine.begin() as connection:
        before = _user_row(connection, username)
        if not before.is_active:
            return
        if actor.user_id is not None and before.id == actor.user_id:
            raise UserError("You cannot deactivate your own account.")
        if before.role == "admin" and _active_admins_other_than(connection, before.id) == 0:
            raise UserError(f"{before.username} is the last active admin and cannot be deactivated.")
        _update_user(connection, actor, before, is_active=False)
        _revoke_user_sessions(connection, before.id)


def reactivate_user(engine: Engine, actor: Actor, username: str) -> None:
    """Let a deactivated user sign in again."""
    require(actor, Permission.MANAGE_USERS)
    with engine.begin() as connection:
        before = _user_row(connection, username)
        if before.is_active:
            return
        _update_user(connection, actor, before, is_active=True)


# ---------------------------------------------------------------------------------------
# Sessions (the sign-in cookie)


def _token_hash(token: str, secret_key: str) -> str:
    # HMAC with the cookie key: a copy of the database alone cannot be turned into cookies,
    # and changing the key ends every session.
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def start_session(engine: Engine, username: str, secret_key: str, *, now: datetime | None = None) -> str:
    """Record a sign-in of the active user ``username``; return the new cookie token.

    Also stamps ``last_login_at`` and writes a ``login`` audit row.
    """
    now = now or utc_now()
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        row = _user_row(connection, username)
        if not row.is_active:
            raise UserError(f"{row.username} is deactivated.")
        connection.execute(
            user_sessions.insert().values(
                user_id=row.id,
                token_hash=_token_hash(token, secret_key),
                created_at=now,
                expires_at=now + timedelta(days=SESSION_DAYS),
            )
        )
        connection.execute(update(users).where(users.c.id == row.id).values(last_login_at=now))
        # Sessions long past their expiry can never sign in again; the audit log keeps the history.
        connection.execute(delete(user_sessions).where(user_sessions.c.expires_at < now - SESSION_RETENTION))
        record_audit(connection, Actor(row.id, row.username, row.role), "login", "user", row.id)
    return token


def actor_for_session(engine: Engine, token: str, secret_key: str, *, now: datetime | None = None) -> Actor | None:
    """The active user whose unexpired, unrevoked session ``token`` is, with the role from the database."""
    if not token:
        return None
    now = now or utc_now()
    with engine.connect() as connection:
        row = connection.execute(
            select(users.c.id, users.c.username, users.c.role)
            .select_from(user_sessions.join(users, users.c.id == user_sessions.c.user_id))
            .where(
                user_sessions.c.token_hash == _token_hash(token, secret_key),
                user_sessions.c.revoked_at.is_(None),
                user_sessions.c.expires_at > now,
                users.c.is_active.is_(True),
            )
        ).first()
    return None if row is None else Actor(user_id=row.id, username=row.username, role=row.role)


def revoke_session(engine: Engine, token: str, secret_key: str) -> bool:
    """Sign-out: the cookie holding ``token`` never signs in again. True if a live session ended."""
    now = utc_now()
    with engine.begin() as connection:
        row = connection.execute(
            select(user_sessions.c.id, users.c.id.label("user_id"), users.c.username, users.c.role)
            .select_from(user_sessions.join(users, users.c.id == user_sessions.c.user_id))
            .where(user_sessions.c.token_hash == _token_hash(token, secret_key), user_sessions.c.revoked_at.is_(None))
        ).first()
        if row is None:
            return False
        connection.execute(update(user_sessions).where(user_sessions.c.id == row.id).values(revoked_at=now))
        record_audit(connection, Actor(row.user_id, row.username, row.role), "logout", "user", row.user_id)
    return True


def _revoke_user_sessions(connection: Connection, user_id: int) -> None:
    connection.execute(
        update(user_sessions)
        .where(user_sessions.c.user_id == user_id, user_sessions.c.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )


# ---------------------------------------------------------------------------------------
# Throttling


@dataclass(frozen=True)
class LoginThrottle:
    # Failures older than this no longer count: every lock lifts by itself.
    window: timedelta = timedelta(minutes=15)
    # Failed attempts on one username (from devices that have not signed in as it) within the window.
    max_failures_per_user: int = 5
    # Failed attempts from one client (IP + device) within the window; browsers without a device
    # cookie share their IP's count, so offices behind one address need some headroom.
    max_failures_per_client: int = 30
    # A device that signed in as a user within this time is exempt from both locks for that user.
    known_client_age: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class LoginClient:
    """Who is trying to sign in: the connection's IP address and the browser's device id."""

    # None when the app is served on localhost (Streamlit reports no address).
    ip_address: str | None
    # From a valid device cookie (``device_id_from_token``); None for a browser without one.
    device_id: str | None = None

    @property
    def key(self) -> str:
        """The ``login_attempts.client_key`` of this client: ``device:<id>|ip:<address>``."""
        where = f"ip:{self.ip_address}" if self.ip_address else "local"
        return f"device:{self.device_id}|{where}" if self.device_id else where

    @property
    def device_prefix(self) -> str | None:
        """The start of every client key of this device, whatever its IP address."""
        return f"device:{self.device_id}|" if self.device_id else None


DEFAULT_THROTTLE = LoginThrottle()


@dataclass(frozen=True)
class ThrottleDecision:
    allowed: bool
    # When the oldest counted failure leaves the window (None when allowed).
    retry_at: datetime | None = None
    reason: str = ""

    def message(self, now: datetime | None = None) -> str:
        if self.allowed:
            return ""
        seconds = max(0, int(((self.retry_at or utc_now()) - (now or utc_now())).total_seconds()))
        minutes = max(1, -(-seconds // 60))
        return f"Too many failed sign-ins {self.reason}. Try again in {minutes} minute{'s' if minutes > 1 else ''}."


def _retry_at(connection: Connection, condition: Any, limit: int, window_start: datetime, window: timedelta) -> Any:
    """When enough failures leave the window for fewer than ``limit`` to remain."""
    times = (
        connection.execute(
            select(login_attempts.c.attempted_at)
            .where(condition, login_attempts.c.attempted_at > window_start)
            .order_by(login_attempts.c.attempted_at.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return times[-1] + window if len(times) >= limit else None


def _device_signature(device_id: str, secret_key: str) -> str:
    # Keyed like the session tokens: only this server can issue device ids the throttle trusts.
    return hmac.new(secret_key.encode(), f"pulse-device:{device_id}".encode(), hashlib.sha256).hexdigest()[:32]


def new_device_token(secret_key: str) -> str:
    """A new device cookie value: a random device id and its signature, ``<id>.<signature>``."""
    device_id = secrets.token_urlsafe(16)  # 22 characters of A-Z a-z 0-9 - _ (never a dot)
    return f"{device_id}.{_device_signature(device_id, secret_key)}"


def device_id_from_token(token: str | None, secret_key: str) -> str | None:
    """The device id of a device cookie this server issued, or None (missing, forged, other key)."""
    device_id, separator, signature = (token or "").partition(".")
    if not device_id or not separator or len(device_id) > 43:
        return None
    return device_id if hmac.compare_digest(signature, _device_signature(device_id, secret_key)) else None


def _is_known_device(connection: Connection, username: str, client: LoginClient, since: datetime) -> bool:
    """Did this device (from any IP address) sign in as ``username`` after ``since``?"""
    if client.device_prefix is None:
        return False  # an IP address alone is shared (proxies, offices): it is nobody's known client
    return (
        connection.execute(
            select(login_attempts.c.id)
            .where(
                login_attempts.c.username == username,
                login_attempts.c.client_key.startswith(client.device_prefix, autoescape=True),
                login_attempts.c.succeeded.is_(True),
                login_attempts.c.attempted_at > since,
            )
            .limit(1)
        ).first()
        is not None
    )


def check_login_allowed(
    engine: Engine,
    username: str,
    client: LoginClient,
    *,
    now: datetime | None = None,
    policy: LoginThrottle = DEFAULT_THROTTLE,
) -> ThrottleDecision:
    """May ``client`` try a password for ``username`` now? Refused attempts are not counted."""
    now = now or utc_now()
    username = username.strip().lower()
    window_start = now - policy.window
    failed = login_attempts.c.succeeded.is_(False)
    of_user = login_attempts.c.username == username
    with engine.connect() as connection:
        # Failures before the user's latest successful sign-in no longer count against them.
        last_success = connection.execute(
            select(func.max(login_attempts.c.attempted_at)).where(of_user, login_attempts.c.succeeded.is_(True))
        ).scalar()
        user_window_start = max(window_start, last_success) if last_success is not None else window_start
        if client.device_prefix is not None and _is_known_device(
            connection, username, client, now - policy.known_client_age
        ):
            own_retry = _retry_at(
                connection,
                and_(failed, of_user, login_attempts.c.client_key.startswith(client.device_prefix, autoescape=True)),
                policy.max_failures_per_user,
                user_window_start,
                policy.window,
            )
            return ThrottleDecision(True) if own_retry is None else ThrottleDecision(False, own_retry, "for this user")
        client_retry = _retry_at(
            connection,
            and_(failed, login_attempts.c.client_key == client.key),
            policy.max_failures_per_client,
            window_start,
            policy.window,
        )
        if client_retry is not None:
            return ThrottleDecision(False, client_retry, "from this computer")
        user_retry = _retry_at(
            connection, and_(failed, of_user), policy.max_failures_per_user, user_window_start, policy.window
        )
    if user_retry is not None:
        return ThrottleDecision(False, user_retry, "for this user")
    return ThrottleDecision(True)


def record_login_attempt(
    engine: Engine, username: str, client: LoginClient, succeeded: bool, *, now: datetime | None = None
) -> None:
    """Remember one password check (the throttle counts these); rows older than a day are pruned."""
    now = now or utc_now()
    with engine.begin() as connection:
        connection.execute(
            login_attempts.insert().values(
                username=username.strip().lower()[:60],
                client_key=client.key[:128],
                succeeded=succeeded,
                attempted_at=now,
            )
        )
        # Failures only matter inside the window; successes for the known-client rule.
        connection.execute(
            delete(login_attempts).where(
                or_(
                    and_(
                        login_attempts.c.succeeded.is_(False), login_attempts.c.attempted_at < now - FAILURE_RETENTION
                    ),
                    login_attempts.c.attempted_at < now - SUCCESS_RETENTION,
                )
            )
        )
