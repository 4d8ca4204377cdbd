"""Links in digest mails: the app on the digest's view and filters, and a signed unsubscribe link.

The unsubscribe token is ``<subscription id>.<user id>.<signature>`` (``crm.signed_ids``, as the
campaigns' links), signed with the app's cookie key, so nobody can stop someone else's digest by
editing the ids. Following it needs no sign-in; the page asks for a click first (mail scanners open
links), then removes that subscription, audited as the pseudo-user ``unsubscribe-link``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy import Engine, delete, select

from crm.audit import record_audit
from crm.filters import Filters
from crm.filters_url import filters_to_query
from crm.marketing.unsubscribe import UNSUBSCRIBE_ACTOR
from crm.schema import digest_subscriptions
from crm.signed_ids import sign_ids, verify_ids

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


def view_url(app_url: str, view: str, filters: Filters) -> str:
    """The app on ``view`` with ``filters`` in the page address (crm.filters_url), e.g. /overview?start=…"""
    query = urlencode(filters_to_query(filters))
    return f"{app_url.rstrip('/')}/{view}" + (f"?{query}" if query else "")


# The purpose signed with the ids (crm.signed_ids): a campaign's link cannot be replayed as a digest's.
LINK_PURPOSE = "pulse-digest-unsubscribe"


def digest_unsubscribe_url(app_url: str, secret_key: str, subscription_id: int, user_id: int) -> str:
    token = sign_ids(secret_key, LINK_PURPOSE, subscription_id, user_id)
    return f"{app_url.rstrip('/')}/{DIGEST_UNSUBSCRIBE_PAGE}?{DIGEST_TOKEN_PARAMETER}={quote(token)}"


def verify_digest_token(secret_key: str, token: str | None) -> tuple[int, int] | None:
    """(subscription id, user id) of a token this key signed; None when malformed or forged."""
    ids = verify_ids(secret_key, LINK_PURPOSE, token, 2)
    return None if ids is None else (ids[0], ids[1])


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
