"""Unsubscribe links: a signed token per recipient and campaign that clears the customer's marketing consent.

Token = ``<customer id>.<campaign id>.<signature>``, the signature an HMAC-SHA256 (first 32 hex
characters) of both ids with the cookie key (``CRM_COOKIE_KEY``), so nobody can unsubscribe
someone else by editing the ids, and a link keeps working as long as the key is unchanged.
Following a link needs no sign-in: the token is the proof. The consent change is audited as the
pseudo-user ``unsubscribe-link``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Engine, select

from crm.audit import record_audit
from crm.permissions import Actor
from crm.schema import customers, utc_now
from crm.signed_ids import sign_ids, verify_ids

__all__ = [
    "UNSUBSCRIBE_ACTOR",
    "UNSUBSCRIBE_PAGE",
    "UnsubscribeKeyError",
    "UnsubscribeResult",
    "signing_key_from_environment",
    "unsubscribe",
    "unsubscribe_token",
    "unsubscribe_url",
    "verify_unsubscribe_token",
]

# The app page the links open (pages/unsubscribe.py; reachable without sign-in).
UNSUBSCRIBE_PAGE = "unsubscribe"
# Who the audit log names for a consent cleared through a link (no user is signed in).
UNSUBSCRIBE_ACTOR = Actor(user_id=None, username="unsubscribe-link", role="customer")


class UnsubscribeKeyError(RuntimeError):
    """No key to sign unsubscribe links with."""


def signing_key_from_environment() -> str:
    """``CRM_COOKIE_KEY`` for the command line (the app passes the key it signs cookies with)."""
    key = os.environ.get("CRM_COOKIE_KEY", "").strip()
    if not key:
        raise UnsubscribeKeyError("CRM_COOKIE_KEY must be set: unsubscribe links are signed with the app's cookie key.")
    return key


# The purpose signed with the ids (crm.signed_ids): a digest's link cannot be replayed as a campaign's.
LINK_PURPOSE = "pulse-unsubscribe"


def unsubscribe_token(secret_key: str, customer_id: int, campaign_id: int) -> str:
    return sign_ids(secret_key, LINK_PURPOSE, customer_id, campaign_id)


def unsubscribe_url(app_url: str, secret_key: str, customer_id: int, campaign_id: int) -> str:
    token = unsubscribe_token(secret_key, customer_id, campaign_id)
    return f"{app_url.rstrip('/')}/{UNSUBSCRIBE_PAGE}?token={quote(token)}"


def verify_unsubscribe_token(secret_key: str, token: str | None) -> tuple[int, int] | None:
    """(customer id, campaign id) of a token this key signed; None when malformed or forged."""
    ids = verify_ids(secret_key, LINK_PURPOSE, token, 2)
    return None if ids is None else (ids[0], ids[1])


@dataclass(frozen=True)
class UnsubscribeResult:
    # False: the token was forged/malformed or names no customer; nothing changed.
    valid: bool
    # True when consent was on and is now cleared; False when it already was off.
    changed: bool = False


def unsubscribe(engine: Engine, secret_key: str, token: str | None) -> UnsubscribeResult:
    """Clear the marketing consent of the token's customer (audited); idempotent."""
    ids = verify_unsubscribe_token(secret_key, token)
    if ids is None:
        return UnsubscribeResult(valid=False)
    customer_id, campaign_id = ids
    with engine.begin() as connection:
        consent = connection.execute(
            select(customers.c.marketing_consent).where(customers.c.id == customer_id)
        ).scalar_one_or_none()
        if consent is None:
            return UnsubscribeResult(valid=False)
        if not consent:
            return UnsubscribeResult(valid=True, changed=False)
        connection.execute(
            customers.update()
            .where(customers.c.id == customer_id)
            .values(marketing_consent=False, updated_at=utc_now(), version=customers.c.version + 1)
        )
        record_audit(
            connection,
            UNSUBSCRIBE_ACTOR,
            "update",
            "customers",
            customer_id,
            before={"marketing_consent": True},
            after={"marketing_consent": False, "via": "unsubscribe link", "campaign_id": campaign_id},
        )
    return UnsubscribeResult(valid=True, changed=True)
