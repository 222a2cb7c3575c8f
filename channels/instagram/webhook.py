"""Meta's webhook checks, pure: the subscription handshake and the ``X-Hub-Signature-256``
signature (HMAC-SHA256 of the raw body with the app secret).  The HTTP route lives with the
other routes (``ticketing.entrypoints.api.instagram``); it stores nothing unless these pass.

The signature covers the exact bytes Meta sent: JSON re-serialised by us would not match, so
the route hands over the body untouched, and the comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "x-hub-signature-256"


def sign(secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body`` (also what tests and benches sign with)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True only for a well-formed ``sha256=<hex>`` equal to the body's HMAC; an empty secret
    accepts nothing (the channel is off)."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def handshake(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo back when Meta's verification request carries our token
    (``hub.mode=subscribe``), else None (answered 403)."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    given = params.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    challenge = params.get("hub.challenge", "")
    return challenge if challenge and len(challenge) <= 200 else None
