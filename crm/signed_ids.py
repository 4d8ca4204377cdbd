"""Signed id tokens for links that need no sign-in (unsubscribe links in campaign and digest mails).

A token is ``<id>.<id>.<signature>``: the signature is an HMAC-SHA256 (its first 32 hex characters) of
the link's purpose and ids with the app's cookie key, so nobody can act on someone else's ids by
editing them, and a link keeps working as long as the key is unchanged. The purpose keeps one kind
of link from being replayed as another.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_CHARACTERS", "sign_ids", "verify_ids"]

SIGNATURE_CHARACTERS = 32


def _signature(secret_key: str, purpose: str, ids: tuple[int, ...]) -> str:
    message = ":".join([purpose, *(str(number) for number in ids)]).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARACTERS]


def sign_ids(secret_key: str, purpose: str, *ids: int) -> str:
    """The token of ``ids`` for ``purpose``."""
    return ".".join([*(str(number) for number in ids), _signature(secret_key, purpose, ids)])


def verify_ids(secret_key: str, purpose: str, token: str | None, count: int) -> tuple[int, ...] | None:
    """The ``count`` ids of a token this key signed for ``purpose``; None when malformed or forged."""
    parts = (token or "").strip().split(".")
    if len(parts) != count + 1 or not all(part.isdigit() for part in parts[:count]):
        return None
    ids = tuple(int(part) for part in parts[:count])
    if not hmac.compare_digest(parts[count], _signature(secret_key, purpose, ids)):
        return None
    return ids
