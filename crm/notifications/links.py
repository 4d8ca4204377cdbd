"""Links in digest mails: the app on the digest's view and filters, and a signed unsubscribe link.

The unsubscribe token is ``<subscription id>.<user id>.<signature>``, an HMAC-SHA256 of both ids
with the app's cookie key (as the campaigns' links), so nobody can stop someone else's digest by
editing the ids. Following it needs no sign-in; the page asks for a click first (mail scanners open
links), then removes that subscription, audited as the pseudo-user ``unsubscribe-link``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy import Engine, delete, select

from crm.audit import record_audit
from crm.filters import Filters
from crm.filters_url import filters_to_query
from crm.marketing.unsubscribe import UNSUBSCRIBE_ACTOR
from crm.schema import digest_subscriptions

__all__ = [
    "DIGEST_UNSUBSCRIBE_PAGE",
    "DigestUnsubscribeResult",
    "digest_unsubscribe_url",
    "stop_digest_by_token",
    "verify_digest_token",
    "view_url",
]

# The public app page a digest's unsubscribe link opens (pages/unsubscribe_digest.py) and its parameter.
DIGEST_UNSUBSCRIBE_PAGE = "unsubscribe-digest"
DIGEST_TOKEN_PARAMETER = "digest"
SIGNATURE_CHARACTERS = 32


def view_url(app_url: str, view: str, filters: Filters) -> str:
    """The app on ``view`` with ``filters`` in the page address (crm.filters_url), e.g. /overview?start=…"""
    query = urlencode(filters_to_query(filters))
    return f"{app_url.rstrip('/')}/{view}" + (f"?{query}" if query else "")


def _signature(secret_key: str, subscription_id: int, user_id: int) -> str:
    message = f"pulse-digest-unsubscribe:{subscription_id}:{user_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARACTERS]


def digest_unsubscribe_url(app_url: str, secret_key: str, subscription_id: int, user_id: int) -> str:
    token = f"{subscription_id}.{user_id}.{_signature(secret_key, subscription_id, user_id)}"
    return f"{app_url.rstrip('/')}/{DIGEST_UNSUBSCRIBE_PAGE}?{DIGEST_TOKEN_PARAMETER}={quote(token)}"


def verify_digest_token(secret_key: str, token: str | None) -> tuple[int, int] | None:
    """(subscription id, user id) of a token this key signed; None when malformed or forged."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    subscription_id, user_id = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _signature(secret_key, subscription_id, user_id)):
        return None
    return subscription_id, user_id


@dataclass(frozen=True)
class DigestUnsubscribeResult:
    valid: bool
    # False when the subscription was already gone (a second click): still a success for the reader.
    removed: bool = False


def stop_digest_by_token(engine: Engine, secret_key: str, token: str | None) -> DigestUnsubscribeResult:
    """Remove the token's digest subscription (audited); idempotent, refuses forged tokens."""
    ids = verify_digest_token(secret_key, token)
    if ids is None:
        return DigestUnsubscribeResult(valid=False)
    subscription_id, user_id = ids
    with engine.begin() as connection:
        row = connection.execute(
            select(digest_subscriptions).where(
                digest_subscriptions.c.id == subscription_id, digest_subscriptions.c.user_id == user_id
            )
        ).first()
        if row is None:
            return DigestUnsubscribeResult(valid=True, removed=False)
        connection.execute(delete(digest_subscriptions).where(digest_subscriptions.c.id == subscription_id))
        record_audit(
            connection,
            UNSUBSCRIBE_ACTOR,
            "delete",
            "digest_subscriptions",
            subscription_id,
            before={"user_id": user_id, "frequency": row.frequency, "send_at": row.send_at, "via": "unsubscribe link"},
        )
    return DigestUnsubscribeResult(valid=True, removed=True)
